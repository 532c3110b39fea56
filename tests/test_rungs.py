"""Successive-halving rungs: the schedule, the survivors, and a real search resumed at rung 1."""

from __future__ import annotations

import json
import signal
import subprocess
import time

import keras_tuner as kt
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from conftest import trials_on_disk
from digitize.cli import app
from digitize.model_files import CARD_NAME
from model_training.rungs import (
    Rung,
    RungsError,
    SurvivorGridOracle,
    check_schedule,
    check_single_machine,
    plan_rungs,
    survivors,
)
from model_training.search_space import load_space

QUICK_RUNGS = ["--rungs", "2", "--train-limit", "200", "--epochs", "1", "--final-epochs", "1"]
DISTRIBUTED = {
    "KERASTUNER_TUNER_ID": "chief",
    "KERASTUNER_ORACLE_IP": "127.0.0.1",
    "KERASTUNER_ORACLE_PORT": "8000",
}


def test_seed_space_plan_keeps_a_third_at_three_times_the_budget():
    plan = plan_rungs(648, 6, train_limit=2000, epochs=2, full_train=54000)
    assert [r.points for r in plan] == [648, 216, 72, 24, 8, 3]
    assert [r.train_limit for r in plan] == [2000, 6000, 18000, None, None, None]
    assert [r.epochs for r in plan] == [2, 2, 2, 2, 6, 18]
    digits = [r.train_limit or 54000 for r in plan]
    assert [d * r.epochs for d, r in zip(digits, plan)] == [4000 * 3**i for i in range(6)]
    assert [r.index for r in plan] == list(range(6))


def test_plan_stops_before_rerunning_a_single_point_and_rounds_epochs_up():
    assert [r.points for r in plan_rungs(4, 5, 200, 1, 54001)] == [4, 2, 1]
    assert plan_rungs(1, 3, 200, 1, 54001) == [Rung(0, 1, 200, 1)]
    # Without a limit every rung trains on all digits, for 3x the epochs.
    assert plan_rungs(9, 3, None, 2, 54001) == [
        Rung(0, 9, None, 2),
        Rung(1, 3, None, 6),
        Rung(2, 1, None, 18),
    ]
    # 2000 x 3^4 digits pass the 54,001 there are: the rest of the budget becomes epochs,
    # rounded up (324,000 digit-epochs are 5.9999 epochs of 54,001).
    plan = plan_rungs(648, 5, 2000, 2, 54001)
    assert plan[3:] == [Rung(3, 24, 54000, 2), Rung(4, 8, None, 6)]
    assert plan_rungs(648, 1, 2000, 2, 54001) == [Rung(0, 648, 2000, 2)]


def test_survivors_are_the_best_with_ties_to_the_earlier_trial_as_plain_values():
    results = pd.DataFrame(
        {
            "trial": ["0003", "0001", "0002", "0000"],
            "conv_blocks": np.array([2, 1, 2, 1], dtype=np.int64),
            "pooling": ["max", "average", "average", "max"],
            "flip": np.array([False, True, False, False]),
            "dropout": np.array([0.25, 0.0, 0.4, 0.25]),
            "val_accuracy": [0.9, 0.9, 0.95, 0.5],
            "epochs": [1, 1, 1, 1],
            "seconds": [2.0, 2.0, 2.0, 2.0],
        }
    )
    best = survivors(results, 3)
    assert best == [
        {"conv_blocks": 2, "pooling": "average", "flip": False, "dropout": 0.4},
        {"conv_blocks": 1, "pooling": "average", "flip": True, "dropout": 0.0},
        {"conv_blocks": 2, "pooling": "max", "flip": False, "dropout": 0.25},
    ]
    for point in best:
        assert [type(point[name]) for name in point] == [int, str, bool, float]
    assert survivors(results.iloc[::-1], 3) == best  # row order does not matter
    # Read back from a CSV: ids lose their padding, bools are text, ints may be floats.
    text = results.astype({"conv_blocks": float}).astype(str)
    text["trial"] = text["trial"].str.lstrip("0").replace("", "0")
    assert survivors(text, 3) == best
    assert survivors(results, 10) == survivors(results, 4) and len(survivors(results, 10)) == 4


def survivor_oracle(points: list[dict], directory) -> SurvivorGridOracle:
    space = load_space("quick")
    oracle = SurvivorGridOracle(
        points,
        objective=kt.Objective("val_accuracy", direction="max"),
        hyperparameters=space.hyperparameters(),
        tune_new_entries=False,
    )
    oracle._set_project_dir(str(directory), "rung-1")
    return oracle


def finish(oracle: SurvivorGridOracle, trial) -> None:
    oracle.update_trial(trial.trial_id, {"val_accuracy": 0.9})
    trial.status = "COMPLETED"
    oracle.end_trial(trial)


def test_survivor_oracle_runs_each_point_once_across_a_kill(tmp_path):
    points = [{"conv_blocks": 2, "pooling": "average"}, {"conv_blocks": 1, "pooling": "max"}]
    oracle = survivor_oracle(points, tmp_path)
    first = oracle.create_trial("tuner0")
    assert {k: first.hyperparameters.values[k] for k in points[0]} == points[0]
    finish(oracle, first)
    killed = oracle.create_trial("tuner0")  # the process dies in this trial

    resumed = survivor_oracle(points, tmp_path)
    resumed.reload()
    retried = resumed.create_trial("tuner0")
    assert retried.trial_id == killed.trial_id
    assert {k: retried.hyperparameters.values[k] for k in points[1]} == points[1]
    finish(resumed, retried)
    assert resumed.create_trial("tuner0").status == "STOPPED"
    assert len(resumed.trials) == 2


def test_survivor_oracle_retries_a_trial_killed_before_the_oracle_saved(tmp_path):
    points = [{"conv_blocks": 2, "pooling": "average"}]
    oracle = survivor_oracle(points, tmp_path)
    trial = oracle.create_trial("tuner0")
    # As if killed after trial.json was written but before oracle.json was.
    state = json.loads((tmp_path / "rung-1" / "oracle.json").read_text())
    state["ongoing_trials"], state["start_order"] = {}, []
    (tmp_path / "rung-1" / "oracle.json").write_text(json.dumps(state))

    resumed = survivor_oracle(points, tmp_path)
    resumed.reload()
    assert resumed.create_trial("tuner0").trial_id == trial.trial_id


def test_a_rerun_with_another_schedule_is_refused(tmp_path):
    path = tmp_path / "quick" / "rungs.json"
    check_schedule(path, plan_rungs(4, 2, 200, 1, 54001))
    check_schedule(path, plan_rungs(4, 2, 200, 1, 54001))  # the same: resumes
    check_schedule(path, plan_rungs(4, 9, 200, 1, 54001)[:2])  # 9 rungs of 4 points: 4, 2, 1
    with pytest.raises(RungsError) as refused:
        check_schedule(path, plan_rungs(4, 2, 600, 1, 54001))
    message = str(refused.value)
    assert "2 rungs from 200 digits x 1 epochs" in message and "--overwrite" in message
    assert "\n" not in message


def test_rungs_refuse_a_distributed_search(monkeypatch, tmp_path, mnist_dir):
    for name, value in DISTRIBUTED.items():
        monkeypatch.setenv(name, value)
    check_single_machine(1)
    with pytest.raises(RungsError, match="one machine"):
        check_single_machine(2)
    result = CliRunner().invoke(
        app,
        [
            *("retrain", "--space", "quick", "--rungs", "2", "--mnist-dir", str(mnist_dir)),
            *("--search-dir", str(tmp_path), "--model-dir", str(tmp_path / "models")),
        ],
    )
    assert result.exit_code == 2, result.output
    assert "one machine" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "quick").exists()


def points_of(rows: pd.DataFrame) -> list[tuple[str, str]]:
    return [(row.conv_blocks, row.pooling) for row in rows.itertuples()]


def top(rows: pd.DataFrame, count: int) -> list[tuple[str, str]]:
    order = rows.assign(score=rows.val_accuracy.astype(float), id=rows.trial.astype(int))
    return points_of(order.sort_values(["score", "id"], ascending=[False, True]).head(count))


def all_trials(project) -> dict[str, list[dict]]:
    return {rung: trials_on_disk(project / rung) for rung in ("rung-0", "rung-1")}


@pytest.mark.slow
def test_rungs_rerun_the_best_and_a_finished_search_runs_nothing(quick_retrain, tmp_path):
    project = tmp_path / "search" / "quick"
    first = subprocess.run(quick_retrain(*QUICK_RUNGS), capture_output=True, text=True)
    assert first.returncode == 0, first.stdout + first.stderr

    results = pd.read_csv(project / "search_results.csv", dtype=str, keep_default_na=False)
    assert list(results.columns[:4]) == ["rung", "train_limit", "epochs_budget", "trial"]
    assert list(results.columns[-3:]) == ["val_accuracy", "epochs", "seconds"]
    rung0, rung1 = results[results.rung == "0"], results[results.rung == "1"]
    assert len(rung0) == 4 and len(rung1) == 2
    assert set(rung0.train_limit) == {"200"} and set(rung1.train_limit) == {"600"}
    assert sorted(points_of(rung1)) == sorted(top(rung0, 2))
    card = json.loads((tmp_path / "models" / CARD_NAME).read_text())
    assert card["search"]["trials"] == 6
    assert card["search"]["rungs"] == [
        {"index": 0, "points": 4, "train_limit": 200, "epochs": 1},
        {"index": 1, "points": 2, "train_limit": 600, "epochs": 1},
    ]
    winner = top(rung1, 1)[0]
    assert (str(card["hyperparameters"]["conv_blocks"]), card["hyperparameters"]["pooling"]) == (
        winner
    )

    before = all_trials(project)
    again = subprocess.run(quick_retrain(*QUICK_RUNGS), capture_output=True, text=True)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Running Trial" not in again.stdout and "Reloading Tuner" in again.stdout
    assert all_trials(project) == before

    other = subprocess.run(
        quick_retrain(*QUICK_RUNGS, "--train-limit", "300"), capture_output=True, text=True
    )
    assert other.returncode == 2, other.stdout + other.stderr
    refusal = [line for line in other.stderr.splitlines() if line.startswith("digitize:")]
    assert len(refusal) == 1 and "--overwrite" in refusal[0]
    assert "Traceback" not in other.stderr


def ongoing(project) -> tuple[int, int]:
    """(finished, running) trials in a rung's oracle.json; (0, 0) while it is unreadable."""
    try:
        state = json.loads((project / "oracle.json").read_text())
    except (OSError, json.JSONDecodeError):  # not written yet, or being written
        return 0, 0
    return len(state["end_order"]), len(state["ongoing_trials"])


def unfinished_on_disk(rung_dir) -> bool:
    try:
        return any(t["status"] != "COMPLETED" for t in trials_on_disk(rung_dir))
    except json.JSONDecodeError:  # a trial file caught mid-write
        return False


@pytest.mark.slow
def test_rungs_killed_in_rung_one_resume_each_survivor_once(quick_retrain, tmp_path):
    project = tmp_path / "search" / "quick"
    command = quick_retrain(*QUICK_RUNGS, "--epochs", "2")  # rung 1 trials last a few seconds
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 150
    while True:
        finished, running = ongoing(project / "rung-1")
        # The second survivor is running, and its trial is on disk: the oracle names a trial
        # as ongoing a moment before the trial's own file is written (a kill in between left
        # nothing to resume, a failure seen once in CI).
        if finished >= 1 and running >= 1 and unfinished_on_disk(project / "rung-1"):
            break
        assert process.poll() is None, process.stdout.read().decode()
        assert time.monotonic() < deadline, "rung 1 never got to its second trial"
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    killed = [
        t["trial_id"] for t in trials_on_disk(project / "rung-1") if t["status"] != "COMPLETED"
    ]
    assert len(killed) == 1, "the kill was meant to land in rung 1's second trial"

    resumed = subprocess.run(command, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    trials = all_trials(project)
    assert len(trials["rung-0"]) == 4 and len(trials["rung-1"]) == 2
    assert all(t["status"] == "COMPLETED" for rung in trials.values() for t in rung)
    assert killed[0] in {t["trial_id"] for t in trials["rung-1"]}  # rerun under its own id
    results = pd.read_csv(project / "search_results.csv", dtype=str)
    rung0, rung1 = results[results.rung == "0"], results[results.rung == "1"]
    assert sorted(points_of(rung1)) == sorted(top(rung0, 2))  # each survivor exactly once
