"""Broken input through the real command: one clear stderr line and one errors-CSV row per bad
file, no traceback, and the rest of the batch still read.

TensorFlow takes seconds to load, so all bad files go into ONE run beside good files, and each
case is checked on that run's result.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from digitize.exit_codes import ExitCode
from digitize.output import ERROR_COLUMNS, read_table
from synthetic_forms import (
    FIXTURES,
    blank_page,
    form_page,
    run_digitize,
    write_bomb_png,
    write_corrupt_png,
    write_image,
    write_pdf,
    write_truncated,
)

pytestmark = pytest.mark.model  # the real command end to end, model and all


@dataclass(frozen=True)
class Case:
    argument: str  # as given on the command line
    file: str  # as named in stderr and the errors CSV
    reason: str  # a word of the reason, lower case


CASES = [
    Case("empty.pdf", "empty.pdf", "empty"),
    Case("truncated.pdf", "truncated.pdf", "truncated"),
    Case("encrypted.pdf", "encrypted.pdf", "encrypted"),
    Case("fake.pdf", "fake.pdf", "not a pdf or an image"),
    Case("corrupt.png", "corrupt.png", "not a pdf or an image"),
    Case("truncated.png", "truncated.png", "truncated"),
    Case("truncated.jpg", "truncated.jpg", "truncated"),
    Case("bomb.png", "bomb.png", "too large"),
    Case("big.png", "big.png", "too large"),  # 100 Mpx: only a warning in Pillow
    Case("no-such-file.png", "no-such-file.png", "no such file"),
    Case("nothing-*.png", "nothing-*.png", "no file matches"),
    Case("folder", os.path.join("folder", "sub", "broken.jpg"), "not a pdf or an image"),
    Case("no-forms", "no-forms", "holds no pdf"),
]
GOOD = ["good.png", "good.pdf", os.path.join("folder", "sub", "good.png")]
BLANK = ["blank.png", "blank.pdf"]


@dataclass
class Run:
    directory: Path
    returncode: int
    stderr: str
    entries: pd.DataFrame
    errors: pd.DataFrame


def make_batch(directory: Path) -> None:
    write_image(directory / "good.png", form_page(("42", "7")))
    write_pdf(directory / "good.pdf", [form_page(("13",)), form_page(("5", "90"))])
    write_image(directory / "blank.png", blank_page())
    write_pdf(directory / "blank.pdf", [blank_page()])
    (directory / "empty.pdf").write_bytes(b"")
    write_truncated(directory / "truncated.pdf", directory / "good.pdf")
    shutil.copy(FIXTURES / "encrypted.pdf", directory / "encrypted.pdf")
    (directory / "fake.pdf").write_text("Not a PDF: plain text under a .pdf name.\n")
    write_corrupt_png(directory / "corrupt.png")
    write_truncated(directory / "truncated.png", write_image(directory / "whole.png", form_page()))
    write_truncated(directory / "truncated.jpg", write_image(directory / "whole.jpg", form_page()))
    write_bomb_png(directory / "bomb.png")
    write_bomb_png(directory / "big.png", 10000, 10000)
    write_image(directory / "folder" / "sub" / "good.png", form_page(("8",)))
    (directory / "folder" / "sub" / "broken.jpg").write_text("not a JPEG")
    (directory / "folder" / "notes.txt").write_text("not an input: ignored")
    (directory / "no-forms").mkdir()
    (directory / "no-forms" / "readme.txt").write_text("no PDF or image here")


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Run:
    directory = tmp_path_factory.mktemp("batch")
    make_batch(directory)
    arguments = ["good.png", "good.pdf", *BLANK, *(case.argument for case in CASES)]
    result = run_digitize(
        ["scan", *arguments, "--out", "out/entries.csv", "--dpi", "150", "--workers", "1"],
        cwd=directory,
        user_models=tmp_path_factory.mktemp("user-models"),
    )
    entries = directory / "out" / "entries.csv"
    errors = directory / "out" / "entries-errors.csv"  # the default: <out stem>-errors.csv
    assert entries.is_file() and errors.is_file(), result.stderr
    return Run(
        directory,
        result.returncode,
        result.stderr,
        read_table(entries),
        pd.read_csv(errors, dtype=str, keep_default_na=False),
    )


def test_some_files_failed_exit_code(run):
    assert run.returncode == ExitCode.INPUT_FAILED, run.stderr


def test_no_traceback(run):
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize("case", CASES, ids=[case.argument for case in CASES])
def test_one_clear_stderr_line(run, case):
    lines = [line for line in run.stderr.splitlines() if case.file in line]
    assert len(lines) == 1, f"{case.file}: {lines}\n{run.stderr}"
    assert lines[0].startswith(f"digitize: {case.file}: ")
    assert case.reason in lines[0].lower()


@pytest.mark.parametrize("case", CASES, ids=[case.argument for case in CASES])
def test_listed_in_errors_csv(run, case):
    rows = run.errors[run.errors["file"] == case.file]
    assert len(rows) == 1, run.errors
    assert case.reason in rows["error"].iloc[0].lower()
    assert case.file not in set(run.entries["file"])


def test_errors_csv_columns(run):
    assert list(run.errors.columns) == ERROR_COLUMNS
    assert len(run.errors) == len(CASES)
    # A page number where a page failed, blank where the whole file did.
    pages = dict(zip(run.errors["file"], run.errors["page"]))
    assert pages["truncated.png"] == "1" and pages["empty.pdf"] == ""


def test_good_files_still_read(run):
    files = set(run.entries["file"])
    assert set(GOOD) <= files, run.stderr
    assert set(run.entries[run.entries["file"] == "good.pdf"]["page"]) == {"1", "2"}


def test_blank_pages_give_no_rows_and_no_error(run):
    for name in BLANK:
        assert name not in set(run.entries["file"])
        assert name not in set(run.errors["file"])
        assert name not in run.stderr


def test_summary_names_the_errors_csv(run):
    last = run.stderr.strip().splitlines()[-1]
    assert "entries-errors.csv" in last


def test_no_temporary_files_left(run):
    assert sorted(p.name for p in (run.directory / "out").iterdir()) == [
        "entries-errors.csv",
        "entries.csv",
    ]


@pytest.mark.slow
def test_all_good_and_blank_exit_zero(tmp_path, isolated_user_models):
    write_image(tmp_path / "good.png", form_page(("3",)))
    write_image(tmp_path / "blank.png", blank_page())
    write_pdf(tmp_path / "blank.pdf", [blank_page()])
    result = run_digitize(
        [
            "scan",
            "good.png",
            "blank.png",
            "blank.pdf",
            "--out",
            "e.csv",
            "--dpi",
            "150",
            "--workers",
            "1",
        ],
        cwd=tmp_path,
        user_models=isolated_user_models,
    )
    assert result.returncode == ExitCode.OK, result.stderr
    assert "Traceback" not in result.stderr
    assert set(read_table(tmp_path / "e.csv")["file"]) == {"good.png"}
    errors = pd.read_csv(tmp_path / "e-errors.csv")
    assert list(errors.columns) == ERROR_COLUMNS and errors.empty


def test_errors_option_names_the_errors_csv(tmp_path, isolated_user_models):
    result = run_digitize(
        ["scan", "missing.pdf", "--out", "e.csv", "--errors", "logs/bad.csv"],
        cwd=tmp_path,
        user_models=isolated_user_models,
    )
    assert result.returncode == ExitCode.INPUT_FAILED, result.stderr
    errors = pd.read_csv(tmp_path / "logs" / "bad.csv", dtype=str, keep_default_na=False)
    assert errors["file"].tolist() == ["missing.pdf"]
    assert not (tmp_path / "e-errors.csv").exists()


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0,
    reason="root reads any file: permission denied cannot be made",
)
def test_permission_denied(tmp_path, isolated_user_models):
    write_image(tmp_path / "good.png", form_page(("3",)))
    locked = write_image(tmp_path / "locked.png", form_page(("4",)))
    locked.chmod(0)
    try:
        result = run_digitize(
            ["scan", "good.png", "locked.png", "--out", "e.csv", "--dpi", "150", "--workers", "1"],
            cwd=tmp_path,
            user_models=isolated_user_models,
        )
    finally:
        locked.chmod(0o644)
    assert result.returncode == ExitCode.INPUT_FAILED, result.stderr
    lines = [line for line in result.stderr.splitlines() if "locked.png" in line]
    assert len(lines) == 1 and "permission denied" in lines[0]
    assert "Traceback" not in result.stderr
    errors = pd.read_csv(tmp_path / "e-errors.csv", dtype=str, keep_default_na=False)
    assert errors["file"].tolist() == ["locked.png"]
    assert set(read_table(tmp_path / "e.csv")["file"]) == {"good.png"}


@pytest.mark.parametrize(
    "arguments",
    [
        ["scan", "x.png", "--out", "e.csv", "--no-such-flag"],
        ["scan", "x.png"],  # --out missing
        ["scan", "x.png", "--out", "e.csv", "--dpi", "5"],
        ["scan", "x.png", "--out", "."],  # a directory
        ["scan", "--out", "e.csv"],  # no inputs
    ],
    ids=["unknown-flag", "no-out", "dpi-5", "out-is-directory", "no-inputs"],
)
def test_usage_errors_exit_2(tmp_path, isolated_user_models, arguments):
    write_image(tmp_path / "x.png", form_page(("1",)))
    result = run_digitize(arguments, cwd=tmp_path, user_models=isolated_user_models)
    assert result.returncode == ExitCode.USAGE, result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "e.csv").exists()


def test_model_not_loadable_exit_3(tmp_path, isolated_user_models):
    write_image(tmp_path / "x.png", form_page(("1",)))
    (tmp_path / "no-model").mkdir()
    result = run_digitize(
        ["scan", "x.png", "--out", "e.csv", "--model-dir", "no-model"],
        cwd=tmp_path,
        user_models=isolated_user_models,
    )
    assert result.returncode == ExitCode.DATA, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "no-model" in lines[0] and "model" in lines[0]


@pytest.mark.slow
def test_damaged_model_exit_3(tmp_path, isolated_user_models):
    write_image(tmp_path / "x.png", form_page(("1",)))
    (tmp_path / "bad-model").mkdir()
    (tmp_path / "bad-model" / "digits.keras").write_bytes(b"not a keras archive")
    result = run_digitize(
        ["scan", "x.png", "--out", "e.csv", "--model-dir", "bad-model", "--workers", "1"],
        cwd=tmp_path,
        user_models=isolated_user_models,
    )
    assert result.returncode == ExitCode.DATA, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if "bad-model" in line]
    assert len(lines) == 1 and "cannot load" in lines[0]


@pytest.mark.slow
def test_permission_denied_even_as_root(tmp_path, monkeypatch):
    """The same case where root could read anything: the access check is made to say no."""
    from typer.testing import CliRunner

    from digitize import pages
    from digitize.cli import app

    monkeypatch.chdir(tmp_path)
    write_image(tmp_path / "good.png", form_page(("3",)))
    write_image(tmp_path / "locked.png", form_page(("4",)))
    real_access = os.access
    monkeypatch.setattr(
        pages.os,
        "access",
        lambda path, mode: Path(path).name != "locked.png" and real_access(path, mode),
    )
    result = CliRunner().invoke(
        app, ["scan", "--workers", "1", "--dpi", "150", "good.png", "locked.png", "--out", "e.csv"]
    )
    assert result.exit_code == ExitCode.INPUT_FAILED, result.output
    assert [line for line in result.stderr.splitlines() if "locked.png" in line] == [
        "digitize: locked.png: cannot read file (permission denied)"
    ]
    errors = pd.read_csv(tmp_path / "e-errors.csv", dtype=str, keep_default_na=False)
    assert errors["file"].tolist() == ["locked.png"]
    assert set(read_table(tmp_path / "e.csv")["file"]) == {"good.png"}
