"""What a new user tripped over: each snag of the foundation issue, as they would meet it."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from digitize.cli import app
from digitize.exit_codes import ExitCode
from digitize.model_files import CARD_NAME, MODEL_NAME, SHIPPED_DIR, active_model_dir, model_card
from digitize.output import write_entries
from digitize.records import Entry, FieldResult
from synthetic_forms import REPO, form_page, write_image

README = (REPO / "README.md").read_text(encoding="utf-8")


def test_leading_zeros_survive_the_documented_way_of_reading(tmp_path):
    path = tmp_path / "entries.csv"
    result = FieldResult(
        "a.png", 1, "field_1", "0337405232", 0.99, (0.99,) * 10, (0.1, 0.1, 0.2, 0.2), 0.99
    )
    write_entries([Entry(result)], path)
    assert 'pd.read_csv("entries.csv", dtype=str, keep_default_na=False)' in README
    read_as_documented = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert read_as_documented["value"].tolist() == ["0337405232"]
    # ... and why the README has to say so: pandas' default drops them.
    assert pd.read_csv(path)["value"].tolist() != ["0337405232"]


@pytest.mark.usefixtures("fake_classifier")
def test_the_summary_names_the_model(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_image(tmp_path / "a.png", form_page(("42",)))
    result = CliRunner().invoke(app, ["scan", "a.png", "--out", "e.csv", "--workers", "1"])
    assert result.exit_code == ExitCode.OK, result.output
    card = model_card(SHIPPED_DIR)
    assert card is not None and card.test_accuracy is not None
    assert f"Model: the shipped model in {SHIPPED_DIR}" in result.stderr
    assert f"MNIST test accuracy {card.test_accuracy:.2%}" in result.stderr


def test_missing_inputs_are_said_without_loading_tensorflow(tmp_path):
    """Today's worst first impression: a typo in a file name took ~25 s to be told."""
    script = (
        "import sys\n"
        "from digitize.cli import app\n"
        "try:\n"
        "    app(['scan', 'no-such.png', '--out', 'e.csv'])\n"
        "except SystemExit as exit:\n"
        "    print(exit.code, 'tensorflow' in sys.modules, 'keras' in sys.modules)\n"
    )
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.stdout.split() == [str(int(ExitCode.INPUT_FAILED)), "False", "False"], done.stderr
    assert "no-such.png: no such file or directory" in done.stderr
    assert time.monotonic() - started < 20  # the interpreter and pandas, not TensorFlow


def test_errors_csv_equal_to_out_is_a_usage_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_image(tmp_path / "a.png", form_page(("1",)))
    result = CliRunner().invoke(app, ["scan", "a.png", "--out", "e.csv", "--errors", "e.csv"])
    assert result.exit_code == ExitCode.USAGE
    assert result.stderr.strip().splitlines() == [
        "digitize: --errors e.csv: is the same file as --out"
    ]
    assert not (tmp_path / "e.csv").exists()


def test_reset_model_goes_back_to_the_shipped_one(isolated_user_models: Path):
    (isolated_user_models / MODEL_NAME).write_bytes(b"a retrained model")
    (isolated_user_models / CARD_NAME).write_text('{"test_accuracy": 0.5}')
    assert active_model_dir() == isolated_user_models
    result = CliRunner().invoke(app, ["reset-model"])
    assert result.exit_code == ExitCode.OK, result.output
    assert active_model_dir() == SHIPPED_DIR
    retired = list((isolated_user_models / "retired").glob(f"*/{MODEL_NAME}"))
    assert len(retired) == 1 and retired[0].read_bytes() == b"a retrained model"  # kept
    again = CliRunner().invoke(app, ["reset-model"])
    assert again.exit_code == ExitCode.OK and "already in use" in again.stderr
    assert "digitize reset-model" in README


def test_a_card_that_is_not_json_is_one_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    models = tmp_path / "models"
    models.mkdir()
    (models / MODEL_NAME).write_bytes(b"whatever")
    (models / CARD_NAME).write_text("{not json")
    write_image(tmp_path / "a.png", form_page(("1",)))
    result = CliRunner().invoke(app, ["scan", "a.png", "--out", "e.csv", "--model-dir", "models"])
    assert result.exit_code == ExitCode.DATA
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot read the model card" in lines[0], result.stderr


@pytest.mark.parametrize("sudo_present", [True, False], ids=["user-with-sudo", "root-without-sudo"])
def test_the_readme_commands_choose_sudo_only_where_it_is_needed(tmp_path, sudo_present):
    """The set-up commands start with SUDO=...: as root on a minimal Debian there is no sudo."""
    commands = [line.strip() for line in README.splitlines() if "apt-get install" in line]
    assert len(commands) == 2 and all(c.startswith("SUDO=$(") for c in commands)
    prefix = commands[0].split(";")[0]
    uid = "1000" if sudo_present else "0"
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    (fake_bin / "id").write_text(f"#!/bin/sh\necho {uid}\n")
    (fake_bin / "id").chmod(0o755)
    done = subprocess.run(
        ["sh", "-c", f'{prefix}; echo "[$SUDO]"'],
        capture_output=True,
        text=True,
        env={"PATH": f"{fake_bin}:/usr/bin:/bin"},
    )
    assert done.stdout.strip() == ("[sudo]" if sudo_present else "[]")


def test_crops_that_is_a_file_is_a_usage_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_image(tmp_path / "a.png", form_page(("1",)))
    (tmp_path / "crops").write_text("a file")
    result = CliRunner().invoke(app, ["scan", "a.png", "--out", "e.csv", "--crops", "crops"])
    assert result.exit_code == ExitCode.USAGE
    assert result.stderr.strip().splitlines() == [
        "digitize: --crops crops: is a file; give a folder for the crops"
    ]
