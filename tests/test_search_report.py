"""benchmarks/search_report.py on small searches whose answers are known: no TensorFlow."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import search_report

BENCHMARKS = Path(search_report.__file__).parent

# Rung 0: filters sets the accuracy (16: 90 %, 32: 93 %, 64: 96 %), elu adds one point.
RUNG_0 = [
    (filters, activation, base + (0.01 if activation == "elu" else 0.0))
    for filters, base in ((16, 0.90), (32, 0.93), (64, 0.96))
    for activation in ("relu", "elu")
]
# Rung 1 reruns the best three in rung 0's order: the ranks agree, Spearman is 1.
RUNG_1 = [(64, "elu", 0.985), (64, "relu", 0.98), (32, "elu", 0.975)]


def rung_rows(rung: int, train_limit: int | None, epochs: int, points: list) -> list[dict]:
    return [
        {
            "rung": rung,
            "train_limit": train_limit,
            "epochs_budget": epochs,
            "trial": trial,
            "rotation": 10,  # fixed: not a varying hyperparameter
            "filters": filters,
            "activation": activation,
            "val_accuracy": accuracy,
            "epochs": epochs,
            "seconds": 100.0 * (rung + 1) + filters,
        }
        for trial, (filters, activation, accuracy) in enumerate(points)
    ]


@pytest.fixture
def two_rungs(tmp_path: Path) -> Path:
    table = pd.DataFrame(rung_rows(0, 1000, 1, RUNG_0) + rung_rows(1, None, 3, RUNG_1))
    table["train_limit"] = table["train_limit"].astype("Int64")  # empty: all digits
    # As rungs.py writes it: each rung ranked by accuracy, not in grid order.
    table = table.sort_values(["rung", "val_accuracy"], ascending=[True, False])
    path = tmp_path / "search_results.csv"
    table.to_csv(path, index=False)
    return path


def test_two_rungs_per_value_and_rank_agreement(two_rungs: Path, capsys, tmp_path: Path):
    table = search_report.read_results(two_rungs)
    assert search_report.varying_columns(table) == ["filters", "activation"]

    by_filters = search_report.value_summary(table, "filters")
    assert [s.value for s in by_filters] == [16, 32, 64]
    assert [s.trials for s in by_filters] == [2, 2, 2]
    assert [s.mean for s in by_filters] == pytest.approx([0.905, 0.935, 0.965])
    assert [s.best for s in by_filters] == pytest.approx([0.91, 0.94, 0.97])
    assert [s.median_seconds for s in by_filters] == pytest.approx([116, 132, 164])
    by_activation = search_report.value_summary(table, "activation")
    assert [s.value for s in by_activation] == ["relu", "elu"]  # as the grid first ran them
    assert [s.mean for s in by_activation] == pytest.approx([0.93, 0.94])

    agreement = search_report.rank_agreement(table, 0)
    assert agreement.survivors == 3
    assert agreement.spearman == pytest.approx(1.0)
    assert agreement.best_was == 1

    out = tmp_path / "report.md"
    search_report.main([str(two_rungs), "--out", str(out)])
    text = capsys.readouterr().out
    assert out.read_text().strip() == text.strip()
    assert "rung 0: 6 trials (1,000 digits × 1 epoch" in text
    assert "rung 1: 3 trials (all digits × 3 epochs" in text
    assert "| filters | 16 | 2 | 90.5 % | 91.0 % | 116.0 |" in text
    assert "| 1 | 64 | elu | 97.0 % | 164.0 |" in text  # rung 0's best
    assert "| 1 | 64 | elu | 98.5 % | 264.0 |" in text  # rung 1's best
    assert "| 0 → 1 | 3 | 1.00 | well | 1 |" in text
    assert "rotation" not in text


def test_reversed_ranks_give_minus_one(tmp_path: Path):
    reversed_rung = [(64, "elu", 0.975), (64, "relu", 0.98), (32, "elu", 0.985)]
    path = tmp_path / "search_results.csv"
    pd.DataFrame(rung_rows(0, 1000, 1, RUNG_0) + rung_rows(1, 3000, 1, reversed_rung)).to_csv(
        path, index=False
    )
    agreement = search_report.rank_agreement(search_report.read_results(path), 0)
    assert agreement.spearman == pytest.approx(-1.0)
    assert agreement.best_was == 3  # rung 1's best was rung 0's third


def test_single_search_without_rung_columns(tmp_path: Path, capsys):
    rows = rung_rows(0, None, 2, RUNG_0)
    single = pd.DataFrame(rows).drop(columns=["rung", "train_limit", "epochs_budget"])
    path = tmp_path / "search_results.csv"
    single.to_csv(path, index=False)

    table = search_report.read_results(path)
    assert set(table["rung"]) == {0}
    assert [s.mean for s in search_report.value_summary(table, "filters")] == pytest.approx(
        [0.905, 0.935, 0.965]
    )
    search_report.main([str(path)])
    text = capsys.readouterr().out
    assert "rung 0: 6 trials (budget not recorded" in text
    assert "How well each rung predicted" not in text


def write_trial(directory: Path, trial_id: str, status: str, values: dict, metrics: dict) -> None:
    """A trial.json as Keras Tuner writes it (the fields the report reads)."""
    trial = {
        "trial_id": trial_id,
        "hyperparameters": {"space": [], "values": values},
        "metrics": {
            "metrics": {
                name: {"direction": "max", "observations": [{"value": [value], "step": 0}]}
                for name, value in metrics.items()
            }
        },
        "status": status,
    }
    (directory / f"trial_{trial_id}").mkdir(parents=True)
    (directory / f"trial_{trial_id}" / "trial.json").write_text(json.dumps(trial))


def test_trials_dir_reads_completed_trials_only(tmp_path: Path, capsys):
    project = tmp_path / "space" / "rung-1"
    (tmp_path / "space" / "rungs.json").parent.mkdir(parents=True)
    (tmp_path / "space" / "rungs.json").write_text(
        json.dumps(
            {
                "rungs": [
                    {"index": 0, "points": 6, "train_limit": 1000, "epochs": 1},
                    {"index": 1, "points": 2, "train_limit": 3000, "epochs": 1},
                ]
            }
        )
    )
    done = {"val_accuracy": 0.9512, "epochs": 1.0, "seconds": 6.187}
    write_trial(project, "0000", "COMPLETED", {"filters": 32, "activation": "relu"}, done)
    write_trial(project, "0001", "RUNNING", {"filters": 64, "activation": "relu"}, {})

    table = search_report.read_trials(project, rung=1)
    assert len(table) == 1
    row = table.iloc[0]
    assert (row["rung"], row["trial"], row["filters"]) == (1, 0, 32)
    assert (row["val_accuracy"], row["seconds"]) == (pytest.approx(0.9512), 6.2)
    assert table["train_limit"].iloc[0] == 3000

    search_report.main(["--trials-dir", str(project), "--rung", "1"])
    text = capsys.readouterr().out
    assert "rung 1: 1 trials (3,000 digits × 1 epoch" in text
    assert "| 1 | 95.1 % | 6.2 |" in text  # nothing varies: no hyperparameter column


def test_figure_is_drawn(two_rungs: Path, tmp_path: Path, capsys):
    figure = tmp_path / "search.png"
    search_report.main([str(two_rungs), "--figure", str(figure)])
    assert figure.read_bytes().startswith(b"\x89PNG")


def test_no_tensorflow_import():
    code = (
        "import sys, search_report; sys.exit('tensorflow' in sys.modules or 'keras' in sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], cwd=BENCHMARKS, check=True)
