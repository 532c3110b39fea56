"""Named search spaces: which hyperparameters are pinned and which the grid search tunes.

A space is data, a TOML file in `model_training/spaces/`:

    description = "..."
    tune_new_entries = false     # as in Keras Tuner: entries not named here keep their default
    [fixed]                      # pinned with HyperParameters.Fixed
    activation = "relu"
    [tuned]                      # tuned over exactly these values (the first is tried first)
    kernel_size = [3, 5]

Names and types are checked against what `DigitHyperModel` declares, so a typo in a space or
in `--fix` is a one-line error instead of a silently ignored entry.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

import keras_tuner as kt

from digitize.errors import UsageError
from model_training.hypermodel import all_hyperparameters

SPACES_DIR = Path(__file__).parent / "spaces"


class SearchSpaceError(UsageError):
    """A space file or a --fix value is wrong; the message is one line for the user (exit 2)."""


@dataclass(frozen=True)
class SearchSpace:
    name: str
    description: str = ""
    fixed: dict[str, object] = field(default_factory=dict)
    tuned: dict[str, list] = field(default_factory=dict)
    tune_new_entries: bool = False

    def with_fixed(self, pins: dict[str, object]) -> SearchSpace:
        """This space with more entries pinned (a pinned entry is no longer tuned)."""
        tuned = {name: values for name, values in self.tuned.items() if name not in pins}
        return replace(self, fixed={**self.fixed, **pins}, tuned=tuned)

    def hyperparameters(self) -> kt.HyperParameters:
        """The entries to register in the oracle before the search starts."""
        declared = {hp.name: hp for hp in all_hyperparameters().space}
        hp = kt.HyperParameters()
        for name, value in self.fixed.items():
            hp.Fixed(name, value)
        for name, values in self.tuned.items():
            default = declared[name].default
            hp.Choice(name, values, default=default if default in values else values[0])
        return hp

    def grid_size(self) -> int:
        """How many grid points the search will visit."""
        size = math.prod(len(values) for values in self.tuned.values())
        if self.tune_new_entries:
            named = set(self.fixed) | set(self.tuned)
            for hp in all_hyperparameters().space:
                if hp.name not in named:
                    size *= len(list(hp.values))
        return size


def available_spaces() -> list[str]:
    return sorted(path.stem for path in SPACES_DIR.glob("*.toml"))


def load_space(name_or_path: str) -> SearchSpace:
    """A named space from `spaces/`, or a TOML file given by path."""
    path = Path(name_or_path)
    if path.suffix != ".toml":
        path = SPACES_DIR / f"{name_or_path}.toml"
        if not path.is_file():
            raise SearchSpaceError(
                f"unknown search space {name_or_path!r}; "
                f"available: {', '.join(available_spaces())} (or a path to a .toml file)"
            )
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise SearchSpaceError(f"{path}: cannot read search space ({error})") from error
    unknown = set(data) - {"description", "tune_new_entries", "fixed", "tuned"}
    if unknown:
        raise SearchSpaceError(f"{path}: unknown keys {sorted(unknown)}")
    space = SearchSpace(
        name=path.stem,
        description=data.get("description", ""),
        fixed=dict(data.get("fixed", {})),
        tuned={name: list(values) for name, values in data.get("tuned", {}).items()},
        tune_new_entries=bool(data.get("tune_new_entries", False)),
    )
    _check_names(space, where=str(path))
    return space


def parse_fixes(pins: list[str]) -> dict[str, object]:
    """`["name=value", ...]` from the command line, each value typed as the entry declares."""
    declared = {hp.name: hp for hp in all_hyperparameters().space}
    parsed = {}
    for pin in pins:
        name, sep, text = pin.partition("=")
        name = name.strip()
        if not sep or not name:
            raise SearchSpaceError(f"--fix {pin!r}: expected name=value")
        if name not in declared:
            raise SearchSpaceError(
                f"--fix {pin!r}: unknown hyperparameter {name!r}; known: {', '.join(declared)}"
            )
        parsed[name] = _typed(text.strip(), declared[name], pin)
    return parsed


def _typed(text: str, hp, pin: str) -> object:
    example = hp.default
    try:
        if isinstance(example, bool):
            if text.lower() not in {"true", "false", "1", "0", "yes", "no"}:
                raise ValueError(text)
            return text.lower() in {"true", "1", "yes"}
        if isinstance(example, int):
            return int(text)
        if isinstance(example, float):
            return float(text)
    except ValueError:
        raise SearchSpaceError(
            f"--fix {pin!r}: {hp.name} takes a {type(example).__name__}, e.g. {example}"
        ) from None
    return text


def _check_names(space: SearchSpace, where: str) -> None:
    declared = {hp.name for hp in all_hyperparameters().space}
    for name in [*space.fixed, *space.tuned]:
        if name not in declared:
            raise SearchSpaceError(
                f"{where}: unknown hyperparameter {name!r}; known: {', '.join(sorted(declared))}"
            )
    for name, values in space.tuned.items():
        if not values:
            raise SearchSpaceError(f"{where}: tuned entry {name!r} has no values")
