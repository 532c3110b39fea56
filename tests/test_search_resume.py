"""Resuming a grid search: interrupted for real, then started again (Keras Tuner #1055)."""

from __future__ import annotations

import json
import signal
import subprocess
import time

import pandas as pd
import pytest

from conftest import trials_on_disk

pytestmark = pytest.mark.slow
GRID = {("1", "max"), ("1", "average"), ("2", "max"), ("2", "average")}  # the quick space


def grid_points(results: pd.DataFrame) -> list[tuple[str, str]]:
    return [(str(row.conv_blocks), str(row.pooling)) for row in results.itertuples()]


def test_search_killed_mid_trial_resumes_without_redoing(quick_retrain, tmp_path):
    project = tmp_path / "search" / "quick"
    # Many epochs: a trial lasts long enough to be killed in the middle of it.
    command = quick_retrain("--epochs", "40")
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 240
    while not (project / "trial_0001" / "trial.json").exists():
        assert process.poll() is None, process.stdout.read().decode()
        assert time.monotonic() < deadline, "the first trial never finished"
        time.sleep(0.1)
    time.sleep(1.0)
    process.send_signal(signal.SIGKILL)
    process.wait()
    oracle = json.loads((project / "oracle.json").read_text())
    assert oracle["ongoing_trials"], "the kill was meant to land in the middle of a trial"
    finished_before = {t["trial_id"] for t in trials_on_disk(project) if t["status"] == "COMPLETED"}
    # The results table is written after every trial, not only when the search ends.
    so_far = pd.read_csv(project / "search_results.csv", dtype=str)
    assert set(so_far.trial.str.zfill(4)) == finished_before

    resumed = subprocess.run(
        quick_retrain("--epochs", "40"), capture_output=True, text=True, timeout=600
    )
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "Traceback" not in resumed.stdout + resumed.stderr

    trials = trials_on_disk(project)
    assert all(t["status"] == "COMPLETED" for t in trials)
    assert len(trials) == len(GRID)  # the killed trial was rerun under its own id
    results = pd.read_csv(project / "search_results.csv", dtype=str)
    assert sorted(grid_points(results)) == sorted(GRID)  # each grid point exactly once
    for trial in trials:  # finished trials were kept, not run again
        if trial["trial_id"] in finished_before:
            assert trial["status"] == "COMPLETED"
    assert "Reloading Tuner" in resumed.stdout


def test_cleanly_stopped_search_resumes_with_the_rest_of_the_grid(quick_retrain, tmp_path):
    project = tmp_path / "search" / "quick"
    first = subprocess.run(
        quick_retrain("--max-trials", "2"), capture_output=True, text=True, timeout=600
    )
    assert first.returncode == 0, first.stdout + first.stderr
    assert len(trials_on_disk(project)) == 2

    second = subprocess.run(quick_retrain(), capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stdout + second.stderr
    results = pd.read_csv(project / "search_results.csv", dtype=str)
    assert sorted(grid_points(results)) == sorted(GRID)

    third = subprocess.run(quick_retrain(), capture_output=True, text=True, timeout=600)
    assert len(trials_on_disk(project)) == len(GRID)  # a finished grid runs nothing more
    assert third.returncode == 0


def test_a_search_moved_to_another_machine_resumes_from_its_results_table(quick_retrain, tmp_path):
    first = subprocess.run(
        quick_retrain("--max-trials", "2", search_dir=tmp_path / "here"),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert first.returncode == 0, first.stdout + first.stderr
    carried = tmp_path / "carried.csv"  # all that travels: the table, not the search's state
    carried.write_bytes((tmp_path / "here" / "quick" / "search_results.csv").read_bytes())

    elsewhere = tmp_path / "there" / "quick"
    moved = subprocess.run(
        quick_retrain("--resume-from", str(carried), search_dir=tmp_path / "there"),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert moved.returncode == 0, moved.stdout + moved.stderr
    assert f"2 trials taken from {carried}" in moved.stdout
    assert moved.stdout.count("Running Trial") == 2  # only the points not in the table
    results = pd.read_csv(elsewhere / "search_results.csv", dtype=str)
    assert sorted(grid_points(results)) == sorted(GRID)
    before = pd.read_csv(carried, dtype=str).set_index(["conv_blocks", "pooling"])
    after = results.set_index(["conv_blocks", "pooling"]).loc[before.index]
    assert list(after.val_accuracy) == list(before.val_accuracy)  # adopted as they were


def test_overwrite_starts_afresh(quick_retrain, tmp_path):
    project = tmp_path / "search" / "quick"
    subprocess.run(quick_retrain("--max-trials", "1"), capture_output=True, timeout=600, check=True)
    again = subprocess.run(
        quick_retrain("--max-trials", "1", "--overwrite"),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert again.returncode == 0 and "Reloading Tuner" not in again.stdout
    assert len(trials_on_disk(project)) == 1
