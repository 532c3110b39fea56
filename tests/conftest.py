"""Shared fixtures. Tests never read or write the user's own model directory."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Whatever asks for MNIST is marked so, without a marker to forget.
    for item in items:
        if "mnist_dir" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.mnist)


@pytest.fixture(autouse=True)
def isolated_user_models(tmp_path_factory, monkeypatch) -> Path:
    """An empty user model directory, so the shipped model is the active one."""
    directory = tmp_path_factory.mktemp("user-models")
    monkeypatch.setenv("DIGITIZE_MODEL_DIR", str(directory))
    return directory


@pytest.fixture
def fake_classifier(monkeypatch) -> None:
    """`digitize scan` (the CLI too, in this process) reads digits with tests/fakes.py's
    FakeClassifier instead of loading TensorFlow; model folders are still checked."""
    from fakes import FakeKerasModel

    monkeypatch.setattr("digitize.scan.KerasModel", FakeKerasModel)


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """Canonical MNIST: $DIGITIZE_MNIST_DIR, else ../shared/mnist beside the checkout."""
    directory = Path(os.environ.get("DIGITIZE_MNIST_DIR") or REPO.parent / "shared" / "mnist")
    if (
        not (directory / "t10k-labels-idx1-ubyte.gz").is_file()
        and not (directory / "mnist.npz").is_file()
    ):
        pytest.fail(f"MNIST not found in {directory}: set DIGITIZE_MNIST_DIR")
    return directory


@pytest.fixture
def quick_retrain(tmp_path, mnist_dir):
    """argv for a `digitize retrain` over the quick space that takes seconds per trial."""

    def command(*extra: str, search_dir: Path | None = None, force: bool = True) -> list[str]:
        return [
            sys.executable,
            "-m",
            "digitize",
            "retrain",
            "--space",
            "quick",
            "--mnist-dir",
            str(mnist_dir),
            "--train-limit",
            "600",
            "--epochs",
            "3",
            "--final-train-limit",
            "500",
            "--final-epochs",
            "1",
            "--search-dir",
            str(search_dir or tmp_path / "search"),
            "--model-dir",
            str(tmp_path / "models"),
            *(["--force"] if force else []),
            *extra,
        ]

    return command


def trials_on_disk(project_dir: Path) -> list[dict]:
    """Every trial Keras Tuner recorded in a search project, as its JSON."""
    return [json.loads(p.read_text()) for p in sorted(project_dir.glob("trial_*/trial.json"))]
