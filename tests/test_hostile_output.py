"""What a scan writes, against hostile names, paths and neighbours: file names that are not
UTF-8, crops that collide or cannot be written, an --out or --errors that is an input, two
scans on one CSV, a resume spelt differently or beside a running review, and exported digit
labels that are paths.

The digits are read by tests/fakes.py's FakeClassifier (no TensorFlow), in this process;
ONE run of the real command (marked model) checks the crops and a non-UTF-8 name end to end.
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from digitize.cli import app
from digitize.exit_codes import ExitCode
from digitize.output import (
    CROP_NAME_BYTES,
    crop_name,
    read_entries,
    read_table,
    write_entries,
)
from digitize.progress import QuietListener
from digitize.records import Entry, FieldResult, ReviewDecision, ReviewStatus
from digitize.review import export
from digitize.review.export import export_digits
from digitize.scan import ScanOptions, scan
from fakes import FakeModel
from synthetic_forms import (
    form_page,
    non_utf8_name,
    run_digitize,
    write_corrupt_png,
    write_image,
)

pytestmark = pytest.mark.usefixtures("fake_classifier")

MAX_NAME_BYTES = 255  # a file name on Linux and macOS file systems


def digitize(*arguments: str):
    # Options first: arguments may hold "--", after which nothing is an option.
    result = CliRunner().invoke(app, ["scan", "--workers", "1", "--dpi", "150", *arguments])
    assert "Traceback" not in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    return result


def scan_files(out: Path, *files: str, **options) -> None:
    scan(ScanOptions(inputs=list(files), out=out, workers=1, classifier=FakeModel(), **options))


def one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


@pytest.fixture
def forms(tmp_path, monkeypatch) -> Path:
    """The current folder, with forms/a.png (two fields) and forms/b.png (one)."""
    monkeypatch.chdir(tmp_path)
    write_image(tmp_path / "forms" / "a.png", form_page(("42", "7")))
    write_image(tmp_path / "forms" / "b.png", form_page(("5",)))
    return tmp_path


# --- 1: file names that are not UTF-8 -------------------------------------------------------


@pytest.mark.slow
def test_a_file_name_that_is_not_utf8_loses_no_row(forms):
    """b"form\\xff.png" cannot be encoded as UTF-8: its name is written as `form\\xff.png`, the
    CSVs stay valid UTF-8, the good file's rows are kept, and --resume knows it as done."""
    write_image(non_utf8_name(forms / "forms", b"form\xff.png"), form_page(("3",)))
    write_corrupt_png(non_utf8_name(forms / "forms", b"bad\xfe.png"))
    result = digitize("forms", "--out", "e.csv")
    assert result.exit_code == ExitCode.INPUT_FAILED, result.output
    entries = (forms / "e.csv").read_bytes().decode("utf-8")  # strict: valid UTF-8
    errors = (forms / "e-errors.csv").read_bytes().decode("utf-8")
    assert "forms/form\\xff.png" in entries and "forms/bad\\xfe.png" in errors
    assert result.stderr.startswith("digitize: forms/bad\\xfe.png: not a PDF")  # as in the CSV
    files = read_table(forms / "e.csv")["file"].unique().tolist()
    assert files == ["forms/a.png", "forms/b.png", "forms/form\\xff.png"]

    resumed = digitize("forms", "--out", "e.csv", "--resume")
    assert "Read 0 files" in resumed.stderr and "3 files already in e.csv" in resumed.stderr
    assert (forms / "e.csv").read_text(encoding="utf-8") == entries  # nothing read twice


# --- 2: crops ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_crops_of_inputs_with_one_stem_do_not_collide(forms):
    """x/form.png and x/form.jpg, a/b.png and a__b.png: each field's crop is its own file."""
    names = ["x/form.png", "x/form.jpg", "a/b.png", "a__b.png", "forms/a.png"]
    for number, name in enumerate(names[:-1]):
        write_image(forms / name, form_page((str(number + 1) * (number + 1),)))
    scan_files(forms / "e.csv", *names, crops=Path("crops"))
    rows = read_table(forms / "e.csv")
    assert rows["file"].unique().tolist() == names
    crops = rows["crop"].tolist()
    assert len(set(crops)) == len(crops) == len(list((forms / "crops").iterdir()))
    for file, crop in zip(rows["file"], crops):  # named after its own file, and an image
        assert Path(crop).name.startswith(f"{Path(file).name}-")
        with Image.open(crop) as image:
            assert image.format == "PNG" and image.width > 10


@pytest.mark.parametrize(
    "file",
    [
        "a" * 250 + ".png",
        "é" * 120 + ".png",
        os.fsdecode(b"dir/\xff\xfe" * 40 + b".png"),
        '../../=x,y"z\n.png',
        "...",
    ],
    ids=["long", "long-utf8", "not-utf8", "odd-characters", "dots"],
)
def test_crop_names_are_short_readable_utf8(file):
    name = crop_name(file, 12, "field_31")
    name.encode("utf-8")  # strict: the crop column and the file system both take it
    # The temporary name it is written under first adds 14 bytes.
    assert len(name.encode("utf-8")) + 14 <= MAX_NAME_BYTES
    assert "/" not in name and "\n" not in name and not name.startswith((".", "-"))
    assert name.endswith("-p12-field_31.png")
    assert len(name.encode("utf-8")) <= CROP_NAME_BYTES + len("-12345678-p12-field_31.png")


def test_an_input_whose_name_is_near_the_limit_still_gets_its_crops(forms):
    long_name = "a" * 250 + ".png"  # 254 bytes: a valid name; with a suffix its crop's was not
    write_image(forms / long_name, form_page(("9",)))
    result = digitize(long_name, "--out", "e.csv", "--crops", "crops")
    assert result.exit_code == ExitCode.OK, result.output
    (crop,) = read_table(forms / "e.csv")["crop"]
    assert Path(crop).is_file()


def test_an_unwritable_crops_folder_is_a_usage_error_before_any_page(forms):
    (forms / "file.txt").write_text("a file, not a folder")
    result = digitize("forms/a.png", "--out", "e.csv", "--crops", "file.txt/crops")
    assert result.exit_code == ExitCode.USAGE, result.output
    line = one_line(result.stderr)
    assert line.startswith("digitize: --crops file.txt/crops: cannot write there")
    assert not (forms / "e.csv").exists()


def test_a_crop_that_cannot_be_written_fails_its_page_and_names_why(forms):
    """The folder goes away under the scan (a disk unmounted, a folder replaced): that page
    fails with the reason, no row names a crop that is not there, the other file is kept."""

    class CropsFolderGoesAfterFirstFile(QuietListener):
        def file_done(self) -> None:
            if (forms / "crops").is_dir():
                (forms / "crops").rename(forms / "crops-moved")
                (forms / "crops").write_text("now a file")

    options = ScanOptions(
        inputs=["forms/a.png", "forms/b.png"],
        out=forms / "e.csv",
        workers=1,
        crops=Path("crops"),
        classifier=FakeModel(),
    )
    summary = scan(options, CropsFolderGoesAfterFirstFile())
    assert (summary.files, summary.failed) == (2, 1)
    ((file, page, error),) = read_table(forms / "e-errors.csv").values.tolist()
    assert (file, page) == ("forms/b.png", "1")
    # The reason as the system says it (here "File exists": crops is a file now), no bug hinted.
    assert re.fullmatch(
        r"page 1: cannot write the crop crops/b\.png-\w+-p1-field_1\.png \(File exists\)", error
    )
    rows = read_table(forms / "e.csv")
    assert rows["file"].unique().tolist() == ["forms/a.png"]
    assert all((forms / "crops-moved" / Path(crop).name).is_file() for crop in rows["crop"])


# --- 3: an output that is an input --------------------------------------------------------------


@pytest.mark.parametrize(
    "arguments",
    [
        ["forms/a.png", "--out", "forms/a.png"],
        ["forms", "--out", "./forms/b.png"],
        ["forms/a.png", "--out", "e.csv", "--errors", "forms/a.png"],
        ["forms/b.png", "--out", "e.csv", "--errors", "hard-link-to-e.csv"],
    ],
    ids=["out-is-input", "out-in-input-folder", "errors-is-input", "errors-is-out-by-link"],
)
def test_an_output_that_is_an_input_or_the_other_output_is_a_usage_error(forms, arguments):
    scan_files(forms / "e.csv", "forms/a.png")
    os.link(forms / "e.csv", forms / "hard-link-to-e.csv")
    before = {path: path.read_bytes() for path in forms.rglob("*") if path.is_file()}
    result = digitize(*arguments)
    assert result.exit_code == ExitCode.USAGE, result.output
    line = one_line(result.stderr)
    assert line.startswith("digitize: --") and ("is the input" in line or "same file" in line)
    after = {path: path.read_bytes() for path in forms.rglob("*") if path.is_file()}
    assert after == before  # nothing touched


# --- 4: two scans on one --out --------------------------------------------------------------------


@pytest.mark.slow
def test_a_second_scan_on_the_same_out_is_refused(forms):
    """While a scan writes e.csv, another scan of e.csv is one usage line naming it; the first
    finishes with all its rows and leaves no lock file."""
    first_is_reading = threading.Event()
    second_has_tried = threading.Event()

    class WaitsInTheMiddle(QuietListener):
        def file_done(self) -> None:
            first_is_reading.set()
            second_has_tried.wait(timeout=30)

    options = ScanOptions(
        inputs=["forms/a.png", "forms/b.png"],
        out=forms / "e.csv",
        workers=1,
        classifier=FakeModel(),
    )
    first = threading.Thread(target=scan, args=(options, WaitsInTheMiddle()))
    first.start()
    try:
        assert first_is_reading.wait(timeout=30)
        second = digitize("forms/b.png", "--out", "e.csv")
    finally:
        second_has_tried.set()
        first.join(timeout=60)
    assert second.exit_code == ExitCode.USAGE, second.output
    line = one_line(second.stderr)
    assert line.startswith("digitize: --out e.csv: another scan is writing it (digitize scan, pid")
    assert read_table(forms / "e.csv")["file"].unique().tolist() == ["forms/a.png", "forms/b.png"]
    assert sorted(p.name for p in forms.iterdir() if p.is_file()) == ["e-errors.csv", "e.csv"]


def test_a_lock_file_left_by_a_killed_scan_does_not_stop_the_next(forms):
    (forms / "e.csv.lock").write_text("digitize scan, pid 99999, since long ago\n")  # unlocked
    assert digitize("forms/a.png", "--out", "e.csv").exit_code == ExitCode.OK
    assert not (forms / "e.csv.lock").exists()


# --- 5: review decisions through --resume -----------------------------------------------------------


def decide(csv: Path, file: str, field: str, value: str) -> None:
    """As `digitize review` saves a decision: the whole CSV rewritten with it."""
    found = read_entries(csv)
    entries = [
        replace(e, decision=ReviewDecision(ReviewStatus.CORRECTED, value))
        if (e.result.file, e.result.field) == (file, field)
        else e
        for e in found.entries
    ]
    write_entries(entries, csv, found.columns)


def decisions(csv: Path) -> list[list[str]]:
    rows = read_table(csv)
    return rows[rows["reviewed"] != ""][
        ["file", "field", "reviewed_value", "reviewed"]
    ].values.tolist()


@pytest.mark.slow
def test_resume_keeps_the_review_decisions_of_kept_rows(forms):
    scan_files(forms / "e.csv", "forms/a.png")
    decide(forms / "e.csv", "forms/a.png", "field_2", "71")
    scan_files(forms / "e.csv", "forms/a.png", "forms/b.png", resume=True)
    assert decisions(forms / "e.csv") == [["forms/a.png", "field_2", "71", "corrected"]]


def test_a_decision_saved_while_a_resumed_scan_runs_is_kept(forms):
    """A person reviews the kept rows while --resume reads on: the scan's next commit must not
    write the decision away with its own copy of those rows."""
    scan_files(forms / "e.csv", "forms/a.png")

    class ReviewMeanwhile(QuietListener):
        def file_done(self) -> None:
            decide(forms / "e.csv", "forms/a.png", "field_1", "43")

    options = ScanOptions(
        inputs=["forms/a.png", "forms/b.png"],
        out=forms / "e.csv",
        workers=1,
        resume=True,
        classifier=FakeModel(),
    )
    scan(options, ReviewMeanwhile())
    assert decisions(forms / "e.csv") == [["forms/a.png", "field_1", "43", "corrected"]]
    assert read_table(forms / "e.csv")["file"].unique().tolist() == ["forms/a.png", "forms/b.png"]


# --- 6: resume with the inputs spelt differently ----------------------------------------------------


@pytest.mark.slow
def test_resume_knows_a_file_however_it_is_spelt(forms):
    scan_files(forms / "e.csv", "forms/a.png")
    first = read_table(forms / "e.csv")
    write_image(forms / "forms" / "c.png", form_page(("6",)))
    spellings = ["./forms/a.png", str(forms / "forms" / "a.png"), "forms//a.png", "forms"]
    for spelling in spellings:
        result = digitize(spelling, "--out", "e.csv", "--resume")
        assert result.exit_code == ExitCode.OK, result.output
    rows = read_table(forms / "e.csv")
    assert rows.iloc[: len(first)].equals(first)  # kept, as first spelt
    assert rows["file"].unique().tolist() == ["forms/a.png", "forms/b.png", "forms/c.png"]
    assert len(rows) == 4  # a.png's two fields, once; b.png's and c.png's one each


def test_resume_keeps_the_errors_of_a_kept_file_spelt_differently(forms, monkeypatch):
    from digitize import page_task

    write_image(forms / "forms" / "c.png", form_page(("6",)))
    real = page_task.load_page

    def c_fails(file, number, dpi):
        if file.endswith("c.png"):
            raise page_task.InputError("page 1: damaged")
        return real(file, number, dpi)

    monkeypatch.setattr(page_task, "load_page", c_fails)
    scan_files(forms / "e.csv", "forms/a.png", "forms/c.png")
    monkeypatch.setattr(page_task, "load_page", real)
    scan_files(forms / "e.csv", "./forms/a.png", resume=True)
    assert read_table(forms / "e-errors.csv").empty  # c.png is not kept: its error goes


# --- 7: exported digit labels -------------------------------------------------------------------


@dataclass
class FoundField:
    digit_images: list[np.ndarray]


class PagesOfTwoDigitFields:
    """Stands in for SourcePages: every field re-reads as as many digits as its label has."""

    def __init__(self, labels: dict[str, str]):
        self.labels = labels

    def field(self, result: FieldResult) -> FoundField:
        label = self.labels[result.field]
        return FoundField([np.full((28, 28), i, np.uint8) for i in range(len(label))])


def reviewed(field: str, value: str) -> Entry:
    result = FieldResult(
        file="a.png",
        page=1,
        field=field,
        value="",
        confidence=0.5,
        digit_confidences=(),
        box=(0.1, 0.1, 0.2, 0.2),
        review_below=0.99,
    )
    return Entry(result=result, decision=ReviewDecision(ReviewStatus.CORRECTED, value))


def test_export_refuses_labels_that_are_not_digits(tmp_path, monkeypatch):
    """reviewed_value comes from a CSV anyone edits: `/7` must not write towards /, nor `x`,
    `.` or `..` become folders; each refused field is named, the good ones exported."""
    labels = {"f1": "/7", "f2": "x", "f3": ".", "f4": "..", "f5": "4 2", "f6": "42"}
    folders: list[Path] = []
    monkeypatch.setattr(export, "write_digit", lambda folder, image: folders.append(folder) or True)
    entries = [reviewed(field, value) for field, value in labels.items()]
    result = export_digits(entries, PagesOfTwoDigitFields(labels), tmp_path / "digits")  # type: ignore[arg-type]
    assert folders == [tmp_path / "digits" / "4", tmp_path / "digits" / "2"]
    assert (result.written, result.fields) == (2, 1)
    lines = result.describe().splitlines()
    assert lines[0] == f"Wrote 2 labelled digits to {tmp_path / 'digits'}"
    refused = lines[1:]
    assert len(refused) == 5
    for line, field in zip(refused, ["f1", "f2", "f3", "f4", "f5"]):
        assert line.startswith(f"Not exported: a.png page 1 {field}: reviewed_value ")
        assert "digits only" in line


# --- the real command, once ---------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.model
def test_real_command_writes_crops_of_hostile_names(tmp_path):
    """Crops of a non-UTF-8 name (cv2.imwrite crashed on it) and of colliding names, through
    the real command: exit 0, a valid UTF-8 CSV, and every row's crop its own existing file."""
    names = ["x/form.png", "x/form.jpg", "a/b.png", "a__b.png"]
    for number, name in enumerate(names):
        write_image(tmp_path / "in" / name, form_page((str(number + 1),)))
    write_image(non_utf8_name(tmp_path / "in", b"form\xff.png"), form_page(("8",)))
    result = run_digitize(
        ["scan", "in", "--out", "e.csv", "--crops", "crops", "--workers", "1"],
        cwd=tmp_path,
        user_models=tmp_path / "user-models",
    )
    assert result.returncode == ExitCode.OK, result.stderr
    assert "Traceback" not in result.stderr
    (tmp_path / "e.csv").read_bytes().decode("utf-8")
    rows = read_table(tmp_path / "e.csv")
    assert sorted(rows["file"].unique()) == sorted(
        ["in/" + name for name in names] + ["in/form\\xff.png"]
    )
    crops = rows["crop"].tolist()
    assert len(set(crops)) == len(crops) == len(rows) >= 5
    assert all((tmp_path / crop).is_file() for crop in crops)
