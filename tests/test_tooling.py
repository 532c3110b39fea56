"""The project's tooling stays wired up: the Keras Tuner internals the resumable grid search
relies on, the keras-tuner pin, the lint and type-check configuration, and CI running exactly
the README's test command. All fast: nothing here trains a model.
"""

from __future__ import annotations

import importlib.metadata
import inspect
import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from digitize.tensorflow_startup import quiet_tensorflow_startup

REPO = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def kt():
    with quiet_tensorflow_startup():
        import keras_tuner

    return keras_tuner


def _requirement(name: str) -> Requirement:
    for line in PYPROJECT["project"]["dependencies"]:
        requirement = Requirement(line)
        if requirement.name == name:
            return requirement
    raise AssertionError(f"{name} is not a dependency in pyproject.toml")


def test_installed_keras_tuner_is_within_the_pin():
    pin = _requirement("keras-tuner")
    # The resume code reads private attributes: an open upper bound would let any new release in.
    assert any(spec.operator in {"<", "<=", "~=", "=="} for spec in pin.specifier), pin
    installed = importlib.metadata.version("keras-tuner")
    assert pin.specifier.contains(installed, prereleases=True), (
        f"keras-tuner {installed}, pin {pin}"
    )


def test_keras_tuner_internals_used_by_the_resumable_oracle_exist(kt):
    """What model_training/search.py touches beyond Keras Tuner's public API, by name, so a
    rename in a new release fails here in seconds instead of in a half-finished search."""
    from keras_tuner.src.distribute import utils as distribute
    from keras_tuner.src.tuners import gridsearch

    assert kt.oracles.GridSearchOracle is gridsearch.GridSearchOracle
    linked = gridsearch.LinkedList()
    for method, parameters in (("insert", ["data", "data_pre"]), ("next", ["data"])):
        assert list(inspect.signature(getattr(linked, method)).parameters) == parameters, method
    for method in ("reload", "populate_space", "end_trial", "_compare", "_get_next_combination"):
        assert callable(getattr(gridsearch.GridSearchOracle, method, None)), method

    oracle = gridsearch.GridSearchOracle(objective=kt.Objective("score", "max"))
    assert isinstance(oracle._ordered_ids, gridsearch.LinkedList)
    assert oracle._populate_next == []
    assert oracle.trials == {} and oracle.start_order == []
    # ...and what model_training/rungs.py's survivor oracle touches: the trials Keras Tuner
    # retries after a reload, and the ones running.
    assert oracle._retry_queue == [] and oracle.ongoing_trials == {}
    for function in ("has_chief_oracle", "is_chief_oracle"):
        assert callable(getattr(distribute, function, None)), function
    assert kt.engine.trial.TrialStatus.COMPLETED == "COMPLETED"


def _grid(kt):
    hp = kt.HyperParameters()
    hp.Choice("a", [1, 2, 3])
    hp.Choice("b", ["x", "y"])
    return hp


def _oracle(kt, directory: Path):
    from model_training.search import ResumableGridSearchOracle

    oracle = ResumableGridSearchOracle(
        objective=kt.Objective("score", "max"),
        hyperparameters=_grid(kt),
        tune_new_entries=False,
        seed=0,
    )
    oracle._set_project_dir(str(directory), "grid")
    return oracle


def _run(oracle, trials: int, finish_last: bool = True) -> list[tuple]:
    """Run up to `trials` trials the way a tuner does, with a made-up score instead of a model;
    the grid points they ran. With `finish_last` False the last one is left running (killed)."""
    ran = []
    for number in range(trials):
        trial = oracle.create_trial("tuner0")
        if trial.status != "RUNNING":
            break
        ran.append((trial.hyperparameters.values["a"], trial.hyperparameters.values["b"]))
        if number == trials - 1 and not finish_last:
            break
        oracle.update_trial(trial.trial_id, {"score": 0.5})
        trial.status = "COMPLETED"
        oracle.end_trial(trial)
        oracle.save()  # as Tuner.on_trial_end does: end_trial's own save still lists it running
    return ran


@pytest.mark.parametrize("killed", [False, True], ids=["stopped", "killed mid-trial"])
def test_resumed_grid_search_runs_every_point_once(kt, tmp_path, killed):
    """The resume logic itself, on Keras Tuner's real oracle, in a second (the slow
    tests/test_search_resume.py does the same with real training and a real kill)."""
    first = _run(_oracle(kt, tmp_path), 3, finish_last=not killed)
    resumed = _oracle(kt, tmp_path)
    resumed.reload()
    rest = _run(resumed, 10)
    grid = {(a, b) for a in (1, 2, 3) for b in ("x", "y")}
    if killed:  # the interrupted trial is retried first, then the walk goes on
        assert rest[0] == first[-1]
        rest = rest[1:]
    assert sorted(first + rest) == sorted(grid)


def test_lint_and_type_checks_are_configured():
    tool = PYPROJECT["tool"]
    assert tool["ruff"]["lint"]["select"], "[tool.ruff.lint] select"
    assert "format" in tool["ruff"]
    # `files` set, so a plain `mypy` (CI, pre-commit) checks the project, not nothing.
    assert set(tool["mypy"]["files"]) >= {"digitize", "model_training"}
    extras = {
        Requirement(line).name for line in PYPROJECT["project"]["optional-dependencies"]["test"]
    }
    assert {"ruff", "mypy"} <= extras


def _readme_test_command() -> str:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Set-up", 1)[1].split("\n## ", 1)[0]
    commands = [line.strip() for line in section.splitlines() if line.startswith("    ")]
    (command,) = [line for line in commands if "pytest" in line]
    return command


def test_ci_runs_exactly_the_readme_test_command():
    lines = (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    commands = [line for line in lines if line.strip() and not line.lstrip().startswith("#")]
    assert commands[-1] == _readme_test_command()


def test_readme_test_command_lints_and_type_checks_before_the_suite():
    command = _readme_test_command()
    steps = [step.strip() for step in command.split("&&")]
    order = [
        next(i for i, step in enumerate(steps) if re.search(pattern, step))
        for pattern in (r"ruff check \.$", r"ruff format --check \.$", r"mypy$", r"pytest$")
    ]
    assert order == sorted(order), steps


def test_pre_commit_runs_the_same_checks_without_downloads():
    text = (REPO / ".pre-commit-config.yaml").read_text(encoding="utf-8")
    assert "repo: local" in text and "language: system" in text
    for entry in (".venv/bin/ruff check", ".venv/bin/ruff format", ".venv/bin/mypy"):
        assert entry in text, entry
