"""A search resumed from a results table (another machine's search_results.csv): the trials
in it count as run, and the grid walk runs exactly the rest."""

from __future__ import annotations

import json

import keras_tuner as kt
import pandas as pd
import pytest

from model_training.rungs import (
    Rung,
    RungsError,
    SurvivorGridOracle,
    finished_elsewhere,
    read_known,
)
from model_training.search import NotThisGrid, ResumableGridSearchOracle
from model_training.search_space import load_space

QUICK_POINTS = [(2, "max"), (2, "average"), (1, "max"), (1, "average")]  # in grid order


def grid_oracle(directory, cls=ResumableGridSearchOracle, **kwargs):
    space = load_space("quick")
    oracle = cls(
        **kwargs,
        objective=kt.Objective("val_accuracy", direction="max"),
        hyperparameters=space.hyperparameters(),
        tune_new_entries=False,
    )
    oracle._set_project_dir(str(directory), "quick")
    return oracle


def finished(blocks: int, pooling: str, accuracy: float) -> tuple[dict, dict]:
    space = load_space("quick").hyperparameters()
    values = {hp.name: hp.default for hp in space.space}
    values.update(conv_blocks=blocks, pooling=pooling)
    return values, {"val_accuracy": accuracy, "epochs": 1.0, "seconds": 2.5}


def run_the_rest(oracle) -> list[tuple[int, str]]:
    """Run the oracle's remaining trials as a tuner would; the points they held, in order."""
    ran = []
    while (trial := oracle.create_trial("tuner0")).status == "RUNNING":
        values = trial.hyperparameters.values
        ran.append((values["conv_blocks"], values["pooling"]))
        oracle.update_trial(trial.trial_id, {"val_accuracy": 0.5})
        trial.status = "COMPLETED"
        oracle.end_trial(trial)
    return ran


@pytest.mark.parametrize(
    "adopted",
    [
        [(2, "max"), (1, "max")],  # with the grid's first point (every default)
        [(1, "average")],  # only its last: the walk must still start at the first
        [(2, "average"), (1, "max")],  # points in the middle
    ],
)
def test_adopted_points_are_not_run_again_and_the_rest_are_run_once(tmp_path, adopted):
    oracle = grid_oracle(tmp_path)
    assert oracle.adopt([finished(*point, 0.9) for point in adopted]) == len(adopted)
    ran = run_the_rest(oracle)
    assert sorted(ran) == sorted(set(QUICK_POINTS) - set(adopted))
    assert len(oracle.trials) == len(QUICK_POINTS)
    best = oracle.get_best_trials(1)[0]
    assert best.score == 0.9 and best.metrics.get_best_value("seconds") == 2.5


def test_adopting_twice_or_a_point_already_run_adds_nothing(tmp_path):
    oracle = grid_oracle(tmp_path)
    first = oracle.create_trial("tuner0")  # the grid's first point, run here
    oracle.update_trial(first.trial_id, {"val_accuracy": 0.5})
    first.status = "COMPLETED"
    oracle.end_trial(first)
    assert oracle.adopt([finished(2, "max", 0.9), finished(2, "average", 0.8)]) == 1
    assert oracle.adopt([finished(2, "average", 0.8)]) == 0

    reloaded = grid_oracle(tmp_path)  # adopted trials are on disk like any other
    reloaded.reload()
    assert sorted(run_the_rest(reloaded)) == [(1, "average"), (1, "max")]


def test_a_survivor_rung_adopts_only_its_own_points(tmp_path):
    points = [{"conv_blocks": 2, "pooling": "average"}]
    oracle = grid_oracle(tmp_path, SurvivorGridOracle, points=points)
    assert oracle.adopt([finished(2, "average", 0.9), finished(1, "max", 0.95)]) == 1
    assert run_the_rest(oracle) == []


def results_file(tmp_path, rows: list[dict]):
    path = tmp_path / "search_results.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def row(rung: int, train_limit: int | None, blocks: int) -> dict:
    values, metrics = finished(blocks, "max", 0.9)
    return {
        "rung": rung,
        "train_limit": train_limit,
        "epochs_budget": 1,
        "trial": f"{blocks:04d}",
        **values,
        **metrics,
    }


def test_a_rung_takes_its_own_rows_as_the_oracle_takes_values(tmp_path):
    known = read_known(results_file(tmp_path, [row(0, 200, 1), row(0, 200, 2), row(1, 600, 2)]))
    rung0 = finished_elsewhere(known, Rung(0, 4, 200, 1))
    assert [values["conv_blocks"] for values, _ in rung0] == [1, 2]
    values, metrics = rung0[0]
    assert type(values["flip"]) is bool and type(values["conv_blocks"]) is int
    assert metrics == {"val_accuracy": 0.9, "epochs": 1.0, "seconds": 2.5}
    assert len(finished_elsewhere(known, Rung(1, 2, 600, 1))) == 1
    assert finished_elsewhere(known, Rung(2, 1, None, 1)) == []


def test_results_of_another_budget_or_no_results_are_refused_in_one_line(tmp_path):
    known = read_known(results_file(tmp_path, [row(0, 200, 1)]))
    with pytest.raises(RungsError) as refused:
        finished_elsewhere(known, Rung(0, 4, 1000, 1))
    assert "200 digits x 1 epochs" in str(refused.value) and "\n" not in str(refused.value)

    other = tmp_path / "entries.csv"
    other.write_text("file,page,value\na.pdf,1,12\n")
    with pytest.raises(RungsError, match=r"not a search_results\.csv"):
        read_known(other)
    with pytest.raises(RungsError, match="cannot read"):
        read_known(tmp_path / "missing.csv")


def test_trials_of_another_grid_are_refused_and_a_csv_number_takes_the_grids_type(tmp_path):
    oracle = grid_oracle(tmp_path)
    values, metrics = finished(2, "max", 0.9)
    with pytest.raises(NotThisGrid, match="1 of the 2 trials"):
        oracle.adopt([(values, metrics), ({**values, "conv_blocks": 4}, metrics)])
    assert not oracle.trials  # nothing adopted from a refused table
    with pytest.raises(NotThisGrid):
        oracle.adopt([({**values, "width": 3}, metrics)])  # a name the grid lacks

    # A fixed 0.0 written as "0" and read back as an int is still the grid's point.
    assert values["dropout"] == 0.0 and isinstance(values["dropout"], float)
    assert oracle.adopt([({**values, "dropout": 0}, metrics)]) == 1
    adopted = next(iter(oracle.trials.values())).hyperparameters.values
    assert isinstance(adopted["dropout"], float)
    assert sorted(run_the_rest(oracle)) == [(1, "average"), (1, "max"), (2, "average")]


def test_trials_adopted_before_a_kill_count_as_run_after_it(tmp_path):
    oracle = grid_oracle(tmp_path)
    oracle.adopt([finished(2, "max", 0.9)])
    # As if killed mid-adoption: a trial.json written, oracle.json not yet listing it.
    state = json.loads((tmp_path / "quick" / "oracle.json").read_text())
    state["start_order"], state["end_order"], state["tried_so_far"] = [], [], []
    (tmp_path / "quick" / "oracle.json").write_text(json.dumps(state))

    reloaded = grid_oracle(tmp_path)
    reloaded.reload()
    assert sorted(run_the_rest(reloaded)) == [(1, "average"), (1, "max"), (2, "average")]
    assert len(reloaded.trials) == len(QUICK_POINTS)
