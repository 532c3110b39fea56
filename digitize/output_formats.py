"""A scan's entries in the format its `--out` names by suffix — a CSV (`digitize.output`, the
default and the contract), an Excel workbook (`.xlsx`) or JSON lines (`.jsonl`) — in either
layout (`digitize.wide_layout`); and a long output read back into records, for `--resume`.

Why other formats: most CSV importers throw a value's leading zeros away unless told not to.
A workbook holds the values as text cells and JSON lines as strings, so "0337405232" stays
so with no import dialog. Every format holds the same columns and cells as the CSV
(`output.entry_cells`), typed the same way (`output.cell_value`): numbers where the CSV writes
them unquoted, everything else text. Every file is written atomically.
"""

from __future__ import annotations

import csv
import json
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from digitize import wide_layout
from digitize.errors import CsvError
from digitize.messages import one_line
from digitize.output import (
    ERROR_COLUMNS,
    FORMULA_STARTS,
    NUMBER_COLUMNS,
    EntriesFile,
    atomic_write,
    cell_value,
    entries_from_rows,
    entry_cells,
    entry_columns,
    long_columns,
    read_table,
    write_table,
)
from digitize.records import Entry
from digitize.wide_layout import Layout, wide_table

if TYPE_CHECKING:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import PatternFill
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet

ENTRIES_SHEET = "entries"
ERRORS_SHEET = "errors"
FLAGGED_FILL = "FFF2CC"  # light amber behind what a person should check
# Characters XML (so a workbook) cannot hold: written as `\xNN`, as `writable_text` does.
XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")

Error = tuple[str, int | None, str]  # file, page (None: the whole file), reason


class OutputFormat(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"
    JSONL = "jsonl"


def output_format(path: Path) -> OutputFormat:
    """The format a path's suffix names, any case; any other suffix is a CSV, as before."""
    suffix = Path(path).suffix.lower().lstrip(".")
    return (
        OutputFormat(suffix)
        if suffix in (OutputFormat.XLSX, OutputFormat.JSONL)
        else OutputFormat.CSV
    )


@dataclass(frozen=True)
class Table:
    """Rows of cells in a layout, with what each format needs to know beyond the cells."""

    columns: list[str]
    rows: Iterable[dict[str, object]]  # a list, except in a streamed output
    numbers: frozenset[str]  # the columns whose numbers are written as numbers
    flagged: list[set[str]]  # per row, the columns whose cells a person should check


def layout_table(entries: list[Entry], layout: Layout, columns: list[str] | None = None) -> Table:
    """The entries as rows of `layout`; `columns`: a long output's as read, kept in place."""
    if layout is Layout.WIDE:
        wide = wide_table(entries)
        return Table(wide.columns, wide.rows, wide_layout.NUMBER_COLUMNS, wide.flagged)
    names = entry_columns(entries, columns)
    return Table(
        columns=names,
        rows=[entry_cells(entry) for entry in entries],
        numbers=NUMBER_COLUMNS,
        flagged=[set(names) if entry.result.needs_review else set() for entry in entries],
    )


def write_output(
    entries: Iterable[Entry],
    path: Path,
    layout: Layout = Layout.LONG,
    columns: list[str] | None = None,
    errors: Iterable[Error] = (),
    reviewed: bool | None = None,
) -> None:
    """The scan's output at `path`, atomically, in the format its suffix names. `errors` go
    into a workbook's second sheet (the errors CSV is written apart, whatever the format).
    `reviewed`, when known (whether any entry holds a decision), lets a long CSV or JSON
    lines output be written as the entries come, none of them held in memory: the entries
    then have no columns beyond `columns`."""
    kind = output_format(path)
    if reviewed is not None and layout is Layout.LONG and kind is not OutputFormat.XLSX:
        table = Table(
            long_columns(columns, reviewed), (entry_cells(e) for e in entries), NUMBER_COLUMNS, []
        )
    else:
        table = layout_table(list(entries), layout, columns)
    if kind is OutputFormat.XLSX:
        write_workbook(table, errors, path)
    elif kind is OutputFormat.JSONL:
        write_json_lines(table, path)
    else:
        write_table(table.rows, path, table.columns, table.numbers)


def write_json_lines(table: Table, path: Path) -> None:
    """One JSON object per row, its keys the columns."""
    with atomic_write(path) as stream:
        for row in table.rows:
            cells = {
                cell_value(column, False): cell_value(row.get(column, ""), column in table.numbers)
                for column in table.columns
            }
            stream.write(json.dumps(cells, ensure_ascii=False) + "\n")


def write_workbook(table: Table, errors: Iterable[Error], path: Path) -> None:
    """Sheet "entries": the rows, text as text cells, flagged cells filled; sheet "errors":
    the errors CSV's rows."""
    from openpyxl import Workbook  # only a workbook output pays for the import
    from openpyxl.styles import PatternFill

    workbook = Workbook(write_only=True)  # streamed: far quicker for a large scan
    fill = PatternFill("solid", fgColor=FLAGGED_FILL)
    sheet = workbook.create_sheet(ENTRIES_SHEET)
    sheet.freeze_panes = "A2"  # the column names stay in sight
    sheet.append([_cell(sheet, column) for column in table.columns])
    for row, flagged in zip(table.rows, table.flagged):
        sheet.append(
            [
                _cell(
                    sheet,
                    cell_value(row.get(column, ""), column in table.numbers),
                    fill if column in flagged else None,
                )
                for column in table.columns
            ]
        )
    errors_sheet = workbook.create_sheet(ERRORS_SHEET)
    errors_sheet.append([_cell(errors_sheet, column) for column in ERROR_COLUMNS])
    for file, page, reason in errors:
        cells = (cell_value(file, False), cell_value("" if page is None else page, True))
        errors_sheet.append([_cell(errors_sheet, c) for c in (*cells, cell_value(reason, False))])
    with atomic_write(path, "wb") as stream:
        workbook.save(stream)


def _cell(
    sheet: WriteOnlyWorksheet, value: int | float | str, fill: PatternFill | None = None
) -> WriteOnlyCell:
    from openpyxl.cell import WriteOnlyCell

    if isinstance(value, str):
        value = XML_ILLEGAL.sub(lambda match: f"\\x{ord(match.group()):02x}", value)
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str):
        # Text, whatever it looks like: openpyxl would write "=1+1" as a formula, and Excel
        # would read an edited "0337405232" as a number. The quote prefix keeps a cell that
        # looks like a formula text in Excel even when a person edits it.
        cell.data_type = "s"
        cell.number_format = "@"
        if value.startswith(FORMULA_STARTS):
            cell.quotePrefix = True
    if fill is not None:
        cell.fill = fill
    return cell


# --- reading a long output back ----------------------------------------------------------------


def read_output(path: Path, what: str = "") -> EntriesFile:
    """A long output (CSV, workbook or JSON lines) as records: CsvError (one line) when it
    cannot be read, or is not one a scan wrote (a wide one cannot be read back into fields)."""
    where = f"{what} {path}".strip()
    kind = output_format(path)
    if kind is OutputFormat.XLSX:
        columns, rows = _read_workbook(Path(path), where)
        description, first_line = "an entries workbook", 2
    elif kind is OutputFormat.JSONL:
        columns, rows = _read_json_lines(Path(path), where)
        description, first_line = "entries JSON lines", 1
    else:
        frame = read_table(path, what=what)
        columns, rows = list(frame.columns), frame.to_dict("records")  # type: ignore[assignment]
        description, first_line = "an entries CSV", 2
    if wide_layout.is_wide(columns):
        raise CsvError(
            f"{where}: a wide output (--layout wide) has one row per page and cannot be read "
            "back into fields"
        )
    return entries_from_rows(rows, columns, where, description, first_line)


def _read_workbook(path: Path, where: str) -> tuple[list[str], list[dict[str, str]]]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except OSError as error:
        raise CsvError(f"{where}: cannot read ({error.strerror or error})") from None
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError) as error:
        raise CsvError(f"{where}: not an Excel workbook ({one_line(error)})") from None
    try:
        names = workbook.sheetnames
        sheet = workbook[ENTRIES_SHEET] if ENTRIES_SHEET in names else workbook.worksheets[0]
        cells = [[_text(value) for value in row] for row in sheet.iter_rows(values_only=True)]
    finally:
        workbook.close()
    return _rows(cells[0] if cells else [], cells[1:])


def _read_json_lines(path: Path, where: str) -> tuple[list[str], list[dict[str, str]]]:
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise CsvError(f"{where}: not JSON lines (not UTF-8 text)") from None
    except OSError as error:
        raise CsvError(f"{where}: cannot read ({error.strerror or error})") from None
    columns: list[str] = []
    objects: list[dict[str, str]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue  # a blank line left by an editor is no row
        try:
            found = json.loads(line)
        except json.JSONDecodeError as error:
            raise CsvError(f"{where}:{number}: not a JSON object ({error.msg})") from None
        if not isinstance(found, dict):
            raise CsvError(f"{where}:{number}: not a JSON object")
        objects.append({key.strip(): _text(value) for key, value in found.items()})
        columns += [key for key in objects[-1] if key not in columns]
    return columns, [{column: row.get(column, "") for column in columns} for row in objects]


def _rows(header: list[str], cells: list[list[str]]) -> tuple[list[str], list[dict[str, str]]]:
    """Rows as dicts, every column in each (a short row's missing cells are empty)."""
    columns = [name.strip() for name in header]
    while columns and not columns[-1]:
        columns.pop()  # a sheet's empty cells past the last column
    rows = [dict(zip(columns, row + [""] * (len(columns) - len(row)))) for row in cells]
    return columns, [row for row in rows if any(row.values())]


def _text(value: object) -> str:
    """A cell read back as the text the CSV reader would give."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return str(value)
    return json.dumps(value)


# --- what `digitize review` can work on ---------------------------------------------------------


def check_reviewable(path: Path) -> None:
    """CsvError (one line) when `path` is an output `digitize review` cannot save decisions
    into: a workbook, JSON lines, or a wide CSV."""
    path = Path(path)
    kind = output_format(path)
    what = {OutputFormat.XLSX: "an Excel workbook", OutputFormat.JSONL: "JSON lines"}.get(kind)
    if what is None and wide_layout.is_wide(_csv_header(path)):
        what = "a wide output (--layout wide): one row per page"
    if what is not None:
        raise CsvError(
            f"digitize review reads the CSV a scan writes; {path.name} is {what} "
            "(scan with --out FILE.csv --layout long to review)"
        )


def _csv_header(path: Path) -> list[str]:
    """A CSV's column names; none when it cannot be read (reading it says why, later)."""
    try:
        with path.open(newline="", encoding="utf-8") as stream:
            return [name.strip() for name in next(csv.reader(stream), [])]
    except (OSError, UnicodeDecodeError, csv.Error):
        return []
