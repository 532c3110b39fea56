"""Keras Tuner's own distributed mode: a chief oracle and two workers on 127.0.0.1."""

from __future__ import annotations

import os
import socket
import subprocess

import pandas as pd
import pytest

from conftest import trials_on_disk

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_chief_and_two_workers_run_every_grid_point_once(quick_retrain, tmp_path):
    port = str(free_port())
    processes = {}
    for tuner_id in ("chief", "tuner0", "tuner1"):
        env = {
            **os.environ,
            "KERASTUNER_TUNER_ID": tuner_id,
            "KERASTUNER_ORACLE_IP": "127.0.0.1",
            "KERASTUNER_ORACLE_PORT": port,
        }
        # Each process keeps its own files, as it would on its own machine.
        command = quick_retrain(search_dir=tmp_path / tuner_id)
        processes[tuner_id] = subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
    outputs = {name: process.communicate(timeout=900)[0] for name, process in processes.items()}
    for name, process in processes.items():
        assert process.returncode == 0, f"{name}:\n{outputs[name]}"

    # The chief's oracle holds the whole search: four grid points, each run once.
    chief = tmp_path / "chief" / "quick"
    trials = trials_on_disk(chief)
    assert len(trials) == 4 and all(t["status"] == "COMPLETED" for t in trials)
    points = {
        (t["hyperparameters"]["values"]["conv_blocks"], t["hyperparameters"]["values"]["pooling"])
        for t in trials
    }
    assert points == {(1, "max"), (1, "average"), (2, "max"), (2, "average")}
    assert len(pd.read_csv(chief / "search_results.csv")) == 4

    # The workers ran the trials between them; only the chief trained and installed.
    ran = [len(list((tmp_path / w / "quick").glob("trial_*"))) for w in ("tuner0", "tuner1")]
    assert sum(ran) == 4
    assert "Installed into" in outputs["chief"]
    assert all("Worker finished" in outputs[w] for w in ("tuner0", "tuner1"))
