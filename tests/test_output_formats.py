"""Outputs people import: the wide layout (a row per page), Excel workbooks and JSON lines.

Unit tests of digitize/wide_layout.py and digitize/output_formats.py on hand-made entries
first, then `digitize scan` and `digitize review` in this process with the fake classifier.
"""

from __future__ import annotations

import csv
import json
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from digitize.cli import app
from digitize.errors import CsvError, UsageError
from digitize.exit_codes import ExitCode
from digitize.output import COLUMNS, write_entries
from digitize.output_formats import (
    FLAGGED_FILL,
    OutputFormat,
    check_reviewable,
    output_format,
    read_output,
    write_output,
)
from digitize.records import Entry, FieldResult, ReviewDecision, ReviewReason, ReviewStatus
from digitize.scan import ScanOptions
from digitize.wide_layout import Layout, wide_table
from synthetic_forms import form_page, write_corrupt_png, write_image, write_pdf

pytestmark = pytest.mark.usefixtures("fake_classifier")

FLAG = (ReviewReason.LOW_CONFIDENCE,)
ERRORS = [("gone.png", None, "no such file"), ("b.pdf", 2, "=damaged")]


def entry(file: str = "f.png", page: int = 1, field: str = "field_1", **values) -> Entry:
    fields = {
        "file": file,
        "page": page,
        "field": field,
        "value": "007",
        "confidence": 0.5,
        "digit_confidences": (0.9, 0.8, 0.7),
        "box": (0.1, 0.2, 0.3, 0.4),
        "review_below": 0.99,
        **values,
    }
    return Entry(result=FieldResult(**fields))


def sample() -> list[Entry]:
    """Two pages of one form, then a page of another; flagged fields and text that bites."""
    return [
        entry(field="field_1", label="Phone", value="0337405232"),
        entry(field="field_2", label="Total", value="=1+1", reasons=FLAG),
        entry(page=2, field="field_1", label="Phone", value="0044"),
        entry(page=2, field="field_2", label="Total", value="12"),
        entry(file="g.png", field="field_1", label="", value="5", reasons=FLAG),
    ]


def cells(path: Path, sheet: str = "entries") -> list[list]:
    workbook = load_workbook(path)
    return [[cell.value for cell in row] for row in workbook[sheet].iter_rows()]


# --- the wide layout -------------------------------------------------------------------------


def test_wide_is_one_row_per_page_with_the_union_of_columns():
    table = wide_table(sample())
    assert table.columns == [
        "file",
        "page",
        "Phone",
        "Total",
        "field_1",  # g.png's unnamed field: named by its id, after the columns seen before
        "needs_review",
        "fields_to_review",
    ]
    assert [(row["file"], row["page"]) for row in table.rows] == [
        ("f.png", 1),
        ("f.png", 2),
        ("g.png", 1),
    ]
    assert table.rows[0]["Phone"] == "0337405232" and table.rows[1]["Phone"] == "0044"
    assert "Phone" not in table.rows[2]  # a field the page does not have: an empty cell


def test_wide_flags_the_page_and_names_its_fields_to_review():
    table = wide_table(sample())
    assert [row["needs_review"] for row in table.rows] == ["true", "false", "true"]
    assert [row["fields_to_review"] for row in table.rows] == ["Total", "", "field_1"]
    assert table.flagged == [{"Total"}, set(), {"field_1"}]


def test_wide_names_shared_on_a_page_get_numbers():
    page = [
        entry(field="field_1", label="Amount"),
        entry(field="field_2", label=" Amount\n"),  # a printed label's spaces do not count
        entry(field="field_3", label="Amount", reasons=FLAG),
        entry(field="field_4", label="page"),  # the fixed columns are taken too
        entry(field="field_5", label="needs_review"),
        entry(field="field_6", label="field_7"),
        entry(field="field_7"),  # its id is already a column name
        entry(field="field_8", label="Due\ndate"),
    ]
    table = wide_table(page)
    assert table.columns[2:-2] == [
        "Amount",
        "Amount (2)",
        "Amount (3)",
        "page (2)",
        "needs_review (2)",
        "field_7",
        "field_7 (2)",
        "Due date",
    ]
    assert table.rows[0]["page"] == 1
    assert table.rows[0]["fields_to_review"] == "Amount (3)"


def test_wide_csv_values_are_text_and_only_page_a_number(tmp_path):
    entries = [
        entry(label="confidence", value="007"),  # a field named like a number column of long
        entry(field="field_2", label="=HYPERLINK(1)", value="-5"),
    ]
    path = tmp_path / "wide.csv"
    write_output(entries, path, Layout.WIDE)
    with path.open(newline="", encoding="utf-8") as stream:
        lines = stream.read().splitlines()
    assert lines == [
        '"file","page","confidence","\'=HYPERLINK(1)","needs_review","fields_to_review"',
        '"f.png",1,"007","\'-5","false",""',
    ]


def test_layout_is_checked():
    assert ScanOptions(inputs=[], out=Path("e.csv"), layout="wide").layout is Layout.WIDE
    with pytest.raises(UsageError, match="--layout tall: not a layout"):
        ScanOptions(inputs=[], out=Path("e.csv"), layout="tall")


# --- formats ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("e.csv", OutputFormat.CSV),
        ("e.XLSX", OutputFormat.XLSX),
        ("e.jsonl", OutputFormat.JSONL),
        ("out.txt", OutputFormat.CSV),  # any other suffix: a CSV, as before
        ("e", OutputFormat.CSV),
    ],
)
def test_the_format_follows_the_suffix(name, kind):
    assert output_format(Path(name)) is kind


def test_a_long_csv_is_the_contract_byte_for_byte(tmp_path):
    write_output(sample(), tmp_path / "new.csv", Layout.LONG, None, ERRORS)
    write_entries(sample(), tmp_path / "contract.csv")
    assert (tmp_path / "new.csv").read_bytes() == (tmp_path / "contract.csv").read_bytes()


def test_xlsx_keeps_leading_zeros_as_text_cells(tmp_path):
    path = tmp_path / "e.xlsx"
    write_output(sample(), path)
    sheet = load_workbook(path)["entries"]
    header = [cell.value for cell in sheet[1]]
    assert header == COLUMNS
    value = sheet.cell(row=2, column=header.index("value") + 1)
    assert value.value == "0337405232" and value.data_type == "s"
    assert value.number_format == "@"  # an edit in Excel stays text too
    page = sheet.cell(row=2, column=header.index("page") + 1)
    confidence = sheet.cell(row=2, column=header.index("confidence") + 1)
    assert (page.value, page.data_type, confidence.value) == (1, "n", 0.5)


def test_xlsx_formula_looking_text_stays_text(tmp_path):
    path = tmp_path / "e.xlsx"
    write_output([entry(file="=cmd|' /C calc'!A0", value="=1+1"), entry(value="+1")], path)
    sheet = load_workbook(path)["entries"]
    for cell in (sheet["A2"], sheet["D2"], sheet["D3"]):
        assert cell.data_type == "s" and cell.quotePrefix, cell
    assert [sheet["A2"].value, sheet["D2"].value] == ["=cmd|' /C calc'!A0", "=1+1"]  # exact
    with zipfile.ZipFile(path) as archive:
        xml = archive.read("xl/worksheets/sheet1.xml")
    assert b"<f>" not in xml and b"<f " not in xml  # no formula anywhere


def test_xlsx_highlights_flagged_rows_long_and_flagged_cells_wide(tmp_path):
    def filled(cell) -> bool:
        return cell.fill.fgColor.rgb.endswith(FLAGGED_FILL)

    write_output(sample(), tmp_path / "long.xlsx")
    sheet = load_workbook(tmp_path / "long.xlsx")["entries"]
    flagged = [all(filled(c) for c in row) for row in sheet.iter_rows(min_row=2)]
    clear = [not any(filled(c) for c in row) for row in sheet.iter_rows(min_row=2)]
    assert flagged == [e.result.needs_review for e in sample()]
    assert clear == [not e.result.needs_review for e in sample()]

    write_output(sample(), tmp_path / "wide.xlsx", Layout.WIDE)
    sheet = load_workbook(tmp_path / "wide.xlsx")["entries"]
    header = [cell.value for cell in sheet[1]]
    marked = [
        {header[c.column - 1] for c in row if filled(c)} for row in sheet.iter_rows(min_row=2)
    ]
    assert marked == [{"Total"}, set(), {"field_1"}]
    assert sheet["C2"].value == "0337405232" and sheet["C2"].data_type == "s"


def test_xlsx_has_the_errors_sheet(tmp_path):
    path = tmp_path / "e.xlsx"
    write_output(sample(), path, Layout.WIDE, None, ERRORS)
    assert load_workbook(path).sheetnames == ["entries", "errors"]
    assert cells(path, "errors") == [
        ["file", "page", "error"],
        ["gone.png", None, "no such file"],
        ["b.pdf", 2, "=damaged"],
    ]
    assert load_workbook(path)["errors"]["C3"].data_type == "s"


def test_jsonl_is_one_object_per_row_typed_as_the_csv(tmp_path):
    path = tmp_path / "e.jsonl"
    write_output(sample(), path)
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == len(sample()) and all(list(row) == COLUMNS for row in rows)
    assert rows[0]["value"] == "0337405232" and rows[1]["value"] == "=1+1"  # text, exact
    assert rows[0]["page"] == 1 and rows[0]["confidence"] == 0.5 and rows[0]["x1"] == 0.3
    assert rows[0]["needs_review"] == "false" and rows[0]["digit_confidences"] == (
        "0.9000;0.8000;0.7000"
    )

    write_output(sample(), path, Layout.WIDE)
    wide = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert wide[0] == {
        "file": "f.png",
        "page": 1,
        "Phone": "0337405232",
        "Total": "=1+1",
        "field_1": "",
        "needs_review": "true",
        "fields_to_review": "Total",
    }


@pytest.mark.parametrize("name", ["e.xlsx", "e.jsonl", "e.csv"])
def test_long_outputs_read_back_as_the_records(tmp_path, name):
    names = ["a,b.png", '=HYPERLINK("x").png', "'plain.png", "tab\there.png", "ünï €.png"]
    entries = [
        Entry(result=entry(file=file, value=value).result, extra={"note": ""})
        for file, value in zip(names, ["007", "=1", "", "-5", "0"])
    ]
    entries.append(
        Entry(
            result=entry(value="12", reasons=FLAG).result,
            decision=ReviewDecision(ReviewStatus.CORRECTED, "13"),
            extra={"note": "0042"},
        )
    )
    path = tmp_path / name
    write_output(entries, path, Layout.LONG, None, ERRORS)
    back = read_output(path)
    assert back.entries == entries
    assert back.columns[-1] == "note"


@pytest.mark.parametrize("name", ["w.csv", "w.xlsx", "w.jsonl"])
def test_a_wide_output_is_not_read_back(tmp_path, name):
    write_output(sample(), tmp_path / name, Layout.WIDE)
    with pytest.raises(CsvError) as raised:
        read_output(tmp_path / name)
    assert "wide output" in str(raised.value) and "\n" not in str(raised.value)
    with pytest.raises(CsvError, match="digitize review reads the CSV a scan writes"):
        check_reviewable(tmp_path / name)


@pytest.mark.parametrize(
    ("name", "content"),
    [("e.xlsx", b"not a zip"), ("e.jsonl", b'{"file": "a"}\n[1]\n'), ("e.jsonl", b"\xff\xfe")],
)
def test_unreadable_outputs_are_one_csv_error(tmp_path, name, content):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(CsvError) as raised:
        read_output(tmp_path / name, what="--out")
    assert str(raised.value).startswith(f"--out {tmp_path / name}") and "\n" not in str(
        raised.value
    )


# --- digitize scan and review ----------------------------------------------------------------


def digitize(*arguments: str):
    result = CliRunner().invoke(app, arguments)
    assert "Traceback" not in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    return result


def scan(*arguments: str):
    return digitize("scan", "--workers", "1", "--dpi", "150", "--no-labels", *arguments)


@pytest.fixture
def forms(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    write_image(tmp_path / "forms" / "a.png", form_page(("42", "7")))
    write_pdf(tmp_path / "forms" / "b.pdf", [form_page(("13",)), form_page(("5", "90"))])
    return tmp_path


@pytest.mark.slow
def test_scan_writes_a_wide_workbook(forms):
    result = scan(
        "forms/a.png", "forms/b.pdf", "missing.png", "--out", "x.xlsx", "--layout", "wide"
    )
    assert result.exit_code == ExitCode.INPUT_FAILED, result.output
    rows = cells(forms / "x.xlsx")
    assert rows[0] == ["file", "page", "field_1", "field_2", "needs_review", "fields_to_review"]
    assert [row[:2] for row in rows[1:]] == [
        ["forms/a.png", 1],
        ["forms/b.pdf", 1],
        ["forms/b.pdf", 2],
    ]
    assert rows[2][3] is None  # b.pdf's first page has one field
    assert all(isinstance(value, str) for row in rows[1:] for value in row[2:4] if value)
    errors = cells(forms / "x.xlsx", "errors")
    assert errors[0] == ["file", "page", "error"]
    assert [row[:2] for row in errors[1:]] == [["missing.png", None]] and errors[1][2]
    # The errors CSV is still written beside the workbook.
    with (forms / "x-errors.csv").open(newline="", encoding="utf-8") as stream:
        assert [row["file"] for row in csv.DictReader(stream)] == ["missing.png"]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["e.xlsx", "e.jsonl"])
def test_resume_keeps_the_rows_of_a_workbook_or_json_lines(forms, name):
    assert scan("forms/a.png", "--out", name).exit_code == ExitCode.OK
    first = read_output(forms / name).entries
    assert [e.result.file for e in first] == ["forms/a.png"] * 2
    write_corrupt_png(forms / "forms" / "a.png")  # read again, it would now fail
    result = scan("forms/a.png", "forms/b.pdf", "--out", name, "--resume")
    assert result.exit_code == ExitCode.OK, result.output
    rows = read_output(forms / name).entries
    assert rows[:2] == first
    assert [e.result.file for e in rows[2:]] == ["forms/b.pdf"] * 3


def test_resume_of_a_wide_output_is_refused_in_one_line(forms):
    result = scan("forms/a.png", "--out", "w.csv", "--layout", "wide", "--resume")
    assert result.exit_code == ExitCode.USAGE
    assert result.stderr.strip().splitlines() == [
        "digitize: --resume needs --layout long: a wide output cannot be read back into fields"
    ]
    assert not (forms / "w.csv").exists()


@pytest.mark.parametrize(
    ("name", "layout", "said"),
    [
        ("e.xlsx", "long", "e.xlsx is an Excel workbook"),
        ("e.jsonl", "long", "e.jsonl is JSON lines"),
        ("w.csv", "wide", "w.csv is a wide output"),
    ],
)
def test_review_refuses_what_it_cannot_save_into_in_one_line(forms, name, layout, said):
    assert scan("forms/a.png", "--out", name, "--layout", layout).exit_code == ExitCode.OK
    before = (forms / name).read_bytes()
    result = digitize("review", name, "--all")
    assert result.exit_code == ExitCode.USAGE
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "digitize review reads the CSV a scan writes" in lines[0], lines
    assert said in lines[0]
    assert (forms / name).read_bytes() == before
