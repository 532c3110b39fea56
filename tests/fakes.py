"""A deterministic stand-in for the digit model, so pipeline, output, review and resume tests
run without TensorFlow (importing it costs ~10 s on 2 cores; loading the model more).

`FakeClassifier` reads a digit from the image itself — its ink, so the same crop always gives
the same digit and different crops usually differ — with a fixed confidence. `FakeModel` is
its `ClassifierLoader`: picklable, so the scan's worker processes can build their own.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from digitize.classifier import KerasModel


@dataclass(frozen=True)
class FakeClassifier:
    confidence: float = 0.999  # every digit's top probability
    digit: int | None = None  # read every digit as this one; None: a digit from the ink

    def probabilities(self, digits: np.ndarray) -> np.ndarray:
        result = np.full((len(digits), 10), (1 - self.confidence) / 9, np.float32)
        for row, image in enumerate(digits):
            result[row, self.read(image)] = self.confidence
        return result

    def not_digit(self, digits: np.ndarray) -> np.ndarray:
        return np.zeros(len(digits), bool)

    def read(self, image: np.ndarray) -> int:
        if self.digit is not None:
            return self.digit
        return int(np.count_nonzero(image > 127)) % 10


@dataclass(frozen=True)
class FakeModel:
    """A ClassifierLoader for FakeClassifier (picklable, for the scan's worker processes)."""

    confidence: float = 0.999
    digit: int | None = None

    def __call__(self, threads: int | None = None) -> FakeClassifier:
        return FakeClassifier(self.confidence, self.digit)

    def check(self) -> None:
        pass

    def describe(self) -> str:
        return "the fake test classifier"


@dataclass(frozen=True)
class FakeKerasModel:
    """Stands in for `digitize.classifier.KerasModel(model_dir)`: the model folder is checked
    and described as for the real model, but the digits are read by FakeClassifier."""

    model_dir: Path

    def __call__(self, threads: int | None = None) -> FakeClassifier:
        return FakeClassifier()

    def check(self) -> None:
        KerasModel(self.model_dir).check()

    def describe(self) -> str:
        return KerasModel(self.model_dir).describe()


@dataclass(frozen=True)
class DamagedModel:
    """A ClassifierLoader whose model cannot be loaded (as a damaged digits.keras)."""

    def __call__(self, threads: int | None = None) -> FakeClassifier:
        from digitize.errors import ModelError

        raise ModelError("digits.keras: cannot load the digit model (damaged)")

    def check(self) -> None:
        pass

    def describe(self) -> str:
        return "a damaged model"


@dataclass(frozen=True)
class KillingModel:
    """A ClassifierLoader whose classifier kills its own process (as the out-of-memory killer
    does: SIGKILL, nothing cleaned up) on a page with at least `digits` digit images."""

    digits: int = 5

    def __call__(self, threads: int | None = None) -> KillingClassifier:
        return KillingClassifier(self.digits)

    def check(self) -> None:
        pass

    def describe(self) -> str:
        return "a fake classifier that kills its worker"


@dataclass(frozen=True)
class KillingClassifier(FakeClassifier):
    digits: int = 5

    def probabilities(self, digits: np.ndarray) -> np.ndarray:
        if len(digits) >= self.digits:
            os.kill(os.getpid(), signal.SIGKILL)
        return super().probabilities(digits)


@dataclass(frozen=True)
class SlowModel:
    """A ClassifierLoader whose classifier takes `seconds` over a page with at least `digits`
    digit images, after creating a file in `started` (so a test knows it is reading one)."""

    started: Path
    digits: int = 5
    seconds: float = 60.0

    def __call__(self, threads: int | None = None) -> SlowClassifier:
        return SlowClassifier(started=self.started, digits=self.digits, seconds=self.seconds)

    def check(self) -> None:
        pass

    def describe(self) -> str:
        return "a slow fake classifier"


@dataclass(frozen=True)
class SlowClassifier(FakeClassifier):
    started: Path = Path()
    digits: int = 5
    seconds: float = 60.0

    def probabilities(self, digits: np.ndarray) -> np.ndarray:
        if len(digits) >= self.digits:
            (self.started / f"{os.getpid()}-{time.monotonic_ns()}").touch()
            time.sleep(self.seconds)
        return super().probabilities(digits)
