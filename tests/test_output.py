"""The entries CSV contract: columns, spreadsheet safety, quoting, atomic writes, crops, resume.

Unit tests of digitize/output.py first, then `digitize scan` in this process with the fake
classifier (tests/fakes.py): nothing here depends on which digits the model reads.
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image
from typer.testing import CliRunner

from digitize.cli import app
from digitize.decision import DEFAULT_REVIEW_BELOW
from digitize.errors import CsvError
from digitize.exit_codes import ExitCode
from digitize.output import (
    COLUMNS,
    ERROR_COLUMNS,
    REVIEW_COLUMNS,
    read_entries,
    read_table,
    spreadsheet_safe,
    unneutralize,
    write_entries,
    write_errors,
    write_table,
)
from digitize.progress import QuietListener
from digitize.records import (
    Entry,
    FieldResult,
    ReviewDecision,
    ReviewReason,
    ReviewStatus,
)
from digitize.scan import ScanOptions, scan
from synthetic_forms import (
    PAGE_SIZE,
    blank_page,
    form_page,
    write_corrupt_png,
    write_image,
    write_pdf,
)

pytestmark = pytest.mark.usefixtures("fake_classifier")

HOSTILE_NAMES = [
    "a,b.png",
    'say "hi".png',
    '=HYPERLINK("x").png',
    "-2+3.png",
    "+1.png",
    "@SUM(A1).png",
    "'=quoted.png",
    "'plain.png",
    "tab\there.png",
    "new\nline.png",
    "ünïcode €.png",
]


def entry(**values) -> Entry:
    fields = {
        "file": "f.png",
        "page": 1,
        "field": "field_1",
        "value": "007",
        "confidence": 0.5,
        "digit_confidences": (0.9, 0.8, 0.7),
        "box": (0.1, 0.2, 0.3, 0.4),
        "review_below": 0.99,
        "reasons": (ReviewReason.LOW_CONFIDENCE,),
        "crop": "",
    }
    return Entry(result=FieldResult(**{**fields, **values}))


def raw_cells(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as stream:
        return list(csv.reader(stream))


# --- spreadsheet_safe ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["=1+2", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "=cmd|' /C calc'!A0"]
)
def test_formula_starts_are_neutralized(text):
    assert spreadsheet_safe(text) == "'" + text


@pytest.mark.parametrize("text", ["", "007", "0", "a=b", "field_1", "0.9;0.8", "x-1"])
def test_plain_text_is_kept(text):
    assert spreadsheet_safe(text) == text


@pytest.mark.parametrize("text", [*HOSTILE_NAMES, "", "'", "''", "'-", "007"])
def test_unneutralize_inverts_spreadsheet_safe(text):
    assert unneutralize(spreadsheet_safe(text)) == text


# --- write_entries and read_entries ----------------------------------------------------------


def test_round_trip_keeps_records_exactly(tmp_path):
    values = ["007", "0", "", "12", "-5", "=1", "00", "1", "2", "3", "4"]
    entries = [entry(file=name, value=value) for name, value in zip(HOSTILE_NAMES, values)]
    path = tmp_path / "entries.csv"
    write_entries(entries, path)
    back = read_entries(path)
    assert back.columns == COLUMNS
    assert back.entries == entries
    frame = read_table(path)
    assert frame["page"].tolist() == ["1"] * len(entries)  # strings: nothing is reinterpreted


def test_review_reasons_and_threshold_follow_the_first_columns(tmp_path):
    assert COLUMNS[12:14] == ["review_reasons", "review_below"]
    reasons = (ReviewReason.LOW_CONFIDENCE, ReviewReason.BORDER_TOUCH)
    path = tmp_path / "entries.csv"
    write_entries([entry(reasons=reasons, review_below=0.95), entry(reasons=())], path)
    frame = read_table(path)
    assert frame["review_reasons"].tolist() == ["low_confidence;border_touch", ""]
    assert frame["needs_review"].tolist() == ["true", "false"]
    assert frame["review_below"].tolist() == ["0.95", "0.99"]
    assert read_entries(path).entries[0].result.reasons == reasons


def test_every_reason_code_is_documented_and_round_trips(tmp_path):
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    for reason in ReviewReason:
        assert f"`{reason.value}`" in readme, reason
    path = tmp_path / "entries.csv"
    write_entries([entry(reasons=tuple(ReviewReason))], path)
    assert read_entries(path).entries[0].result.reasons == tuple(ReviewReason)


def test_an_unknown_reason_code_is_one_line(tmp_path):
    path = tmp_path / "entries.csv"
    write_entries([entry()], path)
    path.write_text(
        path.read_text(encoding="utf-8").replace("low_confidence", "moon_phase"), encoding="utf-8"
    )
    with pytest.raises(
        CsvError, match=r"entries\.csv:2: review_reasons has an unknown code .*newer digitize"
    ):
        read_entries(path)


def test_a_csv_of_an_earlier_version_still_reads(tmp_path):
    """Written before review_reasons and review_below: the flag's reason is told from the
    digits as far as it can be, and the threshold is the one those versions used."""
    path = tmp_path / "old.csv"
    old_columns = COLUMNS[:12]
    rows = [
        {
            **dict.fromkeys(old_columns, ""),
            "file": "a.png",
            "page": 1,
            "field": "field_1",
            "value": "12",
            "confidence": 0.8,
            "needs_review": "true",
            "x0": 0,
            "y0": 0,
            "x1": 1,
            "y1": 1,
            "digit_confidences": "0.9000;0.8000",
        },
        {
            **dict.fromkeys(old_columns, ""),
            "file": "a.png",
            "page": 1,
            "field": "field_2",
            "value": "3",
            "confidence": 0.995,
            "needs_review": "true",
            "x0": 0,
            "y0": 0,
            "x1": 1,
            "y1": 1,
            "digit_confidences": "0.9950",
        },
    ]
    write_table(rows, path, old_columns)
    first, second = (e.result for e in read_entries(path).entries)
    assert first.reasons == (ReviewReason.LOW_CONFIDENCE,) and first.review_below == 0.99
    assert second.reasons == (ReviewReason.SEGMENTATION,)


def test_decisions_and_other_tools_columns_are_kept(tmp_path):
    path = tmp_path / "entries.csv"
    decided = replace(
        entry(), decision=ReviewDecision(ReviewStatus.CORRECTED, "008"), extra={"note": "=checked"}
    )
    write_entries([decided, replace(entry(field="field_2"), extra={"note": ""})], path)
    back = read_entries(path)
    assert back.columns == COLUMNS + REVIEW_COLUMNS + ["note"]
    assert back.entries[0] == decided
    assert back.entries[1].decision is None
    write_entries(back.entries, path, back.columns)  # rewritten as read: the same bytes
    assert read_entries(path) == back


def test_raw_csv_is_safe_for_spreadsheets(tmp_path):
    path = tmp_path / "entries.csv"
    write_entries([entry(file=name, value="-5") for name in HOSTILE_NAMES], path)
    cells = raw_cells(path)
    assert cells[0] == COLUMNS
    for row in cells[1:]:
        assert len(row) == len(COLUMNS)
        for cell in row:
            assert not cell.startswith(("=", "+", "@", "\t", "\r")), row
            # Only numbers may start with a minus sign; this batch has none below zero.
            assert not cell.startswith("-"), row
    assert not re.search(r'(^|,)"?=', path.read_text(encoding="utf-8"), re.MULTILINE)


def test_text_quoted_numbers_not(tmp_path):
    path = tmp_path / "entries.csv"
    write_entries([entry(file="a,b.png")], path)
    line = path.read_text(encoding="utf-8").splitlines()[1]
    assert line == (
        '"a,b.png",1,"field_1","007",0.5,"true",0.1,0.2,0.3,0.4,'
        '"0.9000;0.8000;0.7000","","low_confidence",0.99,"box","",""'
    )


def test_no_rows_still_the_header(tmp_path):
    path = tmp_path / "entries.csv"
    write_entries([], path)
    assert raw_cells(path) == [COLUMNS]


def test_errors_csv_blank_page(tmp_path):
    path = tmp_path / "errors.csv"
    write_errors([("=a.pdf", None, "-oops"), ("b.png", 2, "damaged")], path)
    assert raw_cells(path) == [ERROR_COLUMNS, ["'=a.pdf", "", "'-oops"], ["b.png", "2", "damaged"]]


def test_write_is_atomic_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "out" / "entries.csv"  # the folder is made
    write_entries([entry()], path)
    write_entries([entry(), entry(page=2)], path)  # over an existing file
    assert [p.name for p in path.parent.iterdir()] == ["entries.csv"]
    assert len(read_entries(path).entries) == 2


def test_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "entries.csv"
    write_entries([entry()], path)
    before = path.read_bytes()
    written = []

    def fail_on_the_fiftieth_row(value, number):
        written.append(value)
        if len(written) > 50 * len(COLUMNS):
            raise KeyboardInterrupt  # as if Ctrl-C came mid-write
        return str(value)

    monkeypatch.setattr("digitize.output.cell_value", fail_on_the_fiftieth_row)
    with pytest.raises(KeyboardInterrupt):
        write_entries([entry(page=n) for n in range(1, 100)], path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["entries.csv"]


@pytest.mark.parametrize(
    "content", [b"", b"a,b\n1,2\n", b"\xff\xfe\x00 not text"], ids=["empty", "foreign", "binary"]
)
def test_unreadable_csvs_are_one_csv_error(tmp_path, content):
    path = tmp_path / "e.csv"
    path.write_bytes(content)
    with pytest.raises(CsvError) as raised:
        read_entries(path)
    assert "e.csv" in str(raised.value) and "\n" not in str(raised.value)


# --- digitize scan ---------------------------------------------------------------------------

BOXES = [(300, 400, 800, 560), (300, 800, 800, 960)]  # as drawn by form_page, pixels


def digitize(*arguments: str):
    # Options first: arguments may hold "--", after which nothing is an option.
    result = CliRunner().invoke(app, ["scan", "--workers", "1", "--dpi", "150", *arguments])
    assert "Traceback" not in result.stderr
    # In this process an escaping exception is caught by CliRunner: only exits are allowed.
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    return result


@pytest.fixture
def forms(tmp_path, monkeypatch) -> Path:
    """A working folder (the current one) with a PNG form, a 2-page PDF and a blank page."""
    monkeypatch.chdir(tmp_path)
    write_image(tmp_path / "forms" / "a.png", form_page(("42", "7")))
    write_pdf(tmp_path / "forms" / "b.pdf", [form_page(("13",)), form_page(("5", "90"))])
    write_image(tmp_path / "forms" / "blank.png", blank_page())
    return tmp_path


@pytest.mark.slow
def test_column_contract(forms):
    absolute = str(forms / "forms" / "b.pdf")
    result = digitize("forms/a.png", absolute, "forms/blank.png", "--out", "e.csv")
    assert result.exit_code == ExitCode.OK, result.output
    assert raw_cells(forms / "e.csv")[0] == COLUMNS
    rows = read_table(forms / "e.csv")
    assert rows["file"].unique().tolist() == ["forms/a.png", absolute]  # as given, in order
    pages = rows.groupby("file", sort=False)["page"].apply(list).to_dict()
    assert pages == {"forms/a.png": ["1", "1"], absolute: ["1", "2", "2"]}
    for (_, _), page in rows.groupby(["file", "page"]):
        assert page["field"].tolist() == [f"field_{n}" for n in range(1, len(page) + 1)]
    for _, row in rows.iterrows():
        assert row["needs_review"] in {"true", "false"}
        assert re.fullmatch(r"\d*", row["value"])
        assert 0.0 <= float(row["confidence"]) <= 1.0
        x0, y0, x1, y1 = (float(row[c]) for c in ("x0", "y0", "x1", "y1"))
        assert 0.0 <= x0 < x1 <= 1.0 and 0.0 <= y0 < y1 <= 1.0
        confidences = [float(c) for c in row["digit_confidences"].split(";") if c]
        assert len(confidences) == len(row["value"])
        assert all(0.0 <= c <= 1.0 for c in confidences)
        if row["needs_review"] == "false":
            assert all(c >= DEFAULT_REVIEW_BELOW for c in confidences)
        assert row["crop"] == ""


def test_field_boxes_are_fractions_of_the_page(forms):
    assert digitize("forms/a.png", "--out", "e.csv").exit_code == ExitCode.OK
    rows = read_table(forms / "e.csv")
    assert len(rows) == len(BOXES)
    width, height = PAGE_SIZE
    for (_, row), (left, top, right, bottom) in zip(rows.iterrows(), BOXES):
        found = [float(row[c]) for c in ("x0", "y0", "x1", "y1")]
        drawn = [left / width, top / height, right / width, bottom / height]
        assert all(math.isclose(f, d, abs_tol=0.01) for f, d in zip(found, drawn)), (found, drawn)


@pytest.mark.slow
def test_crops(forms):
    result = digitize("forms/a.png", "forms/b.pdf", "--out", "e.csv", "--crops", "crops")
    assert result.exit_code == ExitCode.OK, result.output
    rows = read_table(forms / "e.csv")
    crops = rows["crop"].tolist()
    assert all(crops) and len(set(crops)) == len(crops)  # one file per field
    for crop in crops:
        assert Path(crop).parent == Path("crops")
        with Image.open(crop) as image:
            assert image.format == "PNG" and image.width > 10 and image.height > 10
    assert len(list((forms / "crops").iterdir())) == len(rows)


@pytest.mark.slow
def test_hostile_file_names_survive_a_scan(forms):
    names = ["=x.png", "-x.png", 'a,b "c".png', "+x.png"]
    for name in names:
        write_image(forms / name, form_page(("1",)))
    result = digitize("--out", "e.csv", "--", *names, "=missing.png")
    assert result.exit_code == ExitCode.INPUT_FAILED, result.output
    assert read_table(forms / "e.csv")["file"].unique().tolist() == names
    for path in (forms / "e.csv", forms / "e-errors.csv"):
        for row in raw_cells(path)[1:]:
            assert not row[0].startswith(("=", "-", "+", "@")), row
        assert not re.search(r'(^|,)"?=', path.read_text(encoding="utf-8"), re.MULTILINE)
    errors = pd.read_csv(forms / "e-errors.csv", dtype=str, keep_default_na=False)
    assert [unneutralize(f) for f in errors["file"]] == ["=missing.png"]


@pytest.mark.slow
def test_resume_keeps_rows_and_skips_done_files(forms):
    assert digitize("forms/a.png", "--out", "e.csv").exit_code == ExitCode.OK
    first = read_table(forms / "e.csv")
    first_lines = (forms / "e.csv").read_text(encoding="utf-8").splitlines()
    # Were a.png read again, it would now fail: resume must not touch it.
    write_corrupt_png(forms / "forms" / "a.png")
    result = digitize("forms/a.png", "forms/b.pdf", "--out", "e.csv", "--resume")
    assert result.exit_code == ExitCode.OK, result.output
    assert "a.png" not in result.stderr.replace("e.csv", "")
    assert pd.read_csv(forms / "e-errors.csv").empty
    rows = read_table(forms / "e.csv")
    assert rows.iloc[: len(first)].reset_index(drop=True).equals(first)  # kept, and first
    assert rows.iloc[len(first) :]["file"].unique().tolist() == ["forms/b.pdf"]  # appended
    assert len(rows) == len(first) + 3
    # Byte for byte: a resumed file reads the same as one written in one go.
    assert (forms / "e.csv").read_text(encoding="utf-8").splitlines()[
        : len(first_lines)
    ] == first_lines

    again = digitize("forms/a.png", "forms/b.pdf", "--out", "e.csv", "--resume")
    assert again.exit_code == ExitCode.OK
    assert read_table(forms / "e.csv").equals(rows)  # nothing left to do, nothing changed


@pytest.mark.slow
def test_without_resume_the_output_is_replaced(forms):
    digitize("forms/a.png", "--out", "e.csv")
    assert digitize("forms/b.pdf", "--out", "e.csv").exit_code == ExitCode.OK
    assert read_table(forms / "e.csv")["file"].unique().tolist() == ["forms/b.pdf"]


def test_resume_without_an_output_reads_everything(forms):
    assert digitize("forms/a.png", "--out", "new.csv", "--resume").exit_code == ExitCode.OK
    assert read_table(forms / "new.csv")["file"].unique().tolist() == ["forms/a.png"]


def test_failed_run_leaves_the_old_output(forms):
    digitize("forms/a.png", "--out", "e.csv")
    before = (forms / "e.csv").read_bytes()
    (forms / "empty-model-dir").mkdir()
    result = digitize("forms/b.pdf", "--out", "e.csv", "--model-dir", "empty-model-dir")
    assert result.exit_code == ExitCode.DATA
    assert (forms / "e.csv").read_bytes() == before


@pytest.mark.slow
def test_interrupted_scan_keeps_finished_files(forms):
    """Ctrl-C after the first file: the CSV is whole, holds that file, and --resume goes on."""
    files = ["forms/a.png", "forms/b.pdf"]

    class InterruptAfterFirstFile(QuietListener):
        def file_done(self) -> None:
            raise KeyboardInterrupt

    options = ScanOptions(inputs=files, out=forms / "e.csv", dpi=150, workers=1)
    with pytest.raises(KeyboardInterrupt):
        scan(options, InterruptAfterFirstFile())
    assert read_table(forms / "e.csv")["file"].unique().tolist() == ["forms/a.png"]
    # The journal of the pages back stays for --resume; nothing else is left behind.
    on_disk = sorted(p.name for p in forms.iterdir() if p.is_file())
    assert on_disk == ["e-errors.csv", "e.csv", "e.csv.journal"]

    summary = scan(ScanOptions(inputs=files, out=forms / "e.csv", dpi=150, workers=1, resume=True))
    assert (summary.skipped, summary.files, summary.failed) == (1, 1, 0)
    assert read_table(forms / "e.csv")["file"].unique().tolist() == files
    assert not (forms / "e.csv.journal").exists()  # the scan is complete


def test_csv_is_readable_by_plain_csv_module(forms):
    """Other tools read the contract with a plain CSV reader: numbers parse, text is text."""
    digitize("forms/a.png", "--out", "e.csv")
    with (forms / "e.csv").open(newline="", encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    assert rows and all(int(row["page"]) == 1 for row in rows)
    assert all(float(row["x0"]) >= 0 for row in rows)


@pytest.mark.slow
def test_files_in_input_order_with_several_workers(forms):
    """Workers finish in any order; the CSV still lists files in the order they were given."""
    write_image(forms / "forms" / "c.png", form_page(("6",)))
    files = ["forms/b.pdf", "forms/c.png", "forms/a.png"]  # the slowest first
    summary = scan(ScanOptions(inputs=files, out=forms / "e.csv", dpi=150, workers=2))
    assert (summary.files, summary.failed) == (3, 0)
    assert read_table(forms / "e.csv")["file"].unique().tolist() == files


@pytest.mark.parametrize(
    "content", [b"a,b\n1,2\n", b"\xff\xfe\x00 not text"], ids=["foreign", "binary"]
)
def test_resume_refuses_a_csv_it_did_not_write(forms, content):
    (forms / "e.csv").write_bytes(content)
    result = digitize("forms/a.png", "--out", "e.csv", "--resume")
    assert result.exit_code == ExitCode.USAGE, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot resume" in lines[0] and "e.csv" in lines[0]
    assert (forms / "e.csv").read_bytes() == content  # left alone


def test_resume_from_an_empty_file(forms):
    (forms / "e.csv").touch()
    assert digitize("forms/a.png", "--out", "e.csv", "--resume").exit_code == ExitCode.OK
    assert read_table(forms / "e.csv")["file"].unique().tolist() == ["forms/a.png"]


def test_unwritable_out_is_one_line_not_a_traceback(forms):
    (forms / "file.txt").write_text("a file, not a folder")
    result = digitize("forms/a.png", "--out", "file.txt/e.csv")
    assert result.exit_code == ExitCode.USAGE, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "file.txt" in lines[0], result.stderr


def test_resume_keeps_the_page_errors_of_kept_files(forms, monkeypatch):
    """A file whose page 2 failed is kept by --resume; its page's error must stay listed."""
    from digitize import page_task

    real = page_task.load_page

    def second_page_fails(file, number, dpi):
        if file.endswith("b.pdf") and number == 2:
            raise page_task.InputError("page 2: damaged")
        return real(file, number, dpi)

    monkeypatch.setattr(page_task, "load_page", second_page_fails)
    options = ScanOptions(inputs=["forms/b.pdf"], out=forms / "e.csv", dpi=150, workers=1)
    assert scan(options).failed == 1
    monkeypatch.setattr(page_task, "load_page", real)
    resumed = scan(replace(options, inputs=["forms/b.pdf", "forms/a.png"], resume=True))
    assert resumed.skipped == 1
    errors = read_table(forms / "e-errors.csv")
    assert errors[["file", "page"]].values.tolist() == [["forms/b.pdf", "2"]]
