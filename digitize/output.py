"""The files a scan writes, and the CSVs digitize reads back: the entries (a contract other
tools read), the errors and the field crops. This is the only module that turns records into
cells and back (`digitize.output_formats` writes the same cells as a workbook or JSON lines).

Every file is rewritten atomically (a temporary file renamed over the old one), so a reader or
an interrupted run never sees half a file. Text cells are quoted and spreadsheet-safe; a
rewritten file reads byte for byte as before. Every cell is valid UTF-8, even a file name that
is not (see `writable_text`).
"""

from __future__ import annotations

import csv
import errno
import hashlib
import os
import re
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import cv2
import numpy as np
import pandas as pd

from digitize.errors import CsvError, UsageError
from digitize.messages import one_line
from digitize.records import (
    Entry,
    FieldResult,
    ReviewDecision,
    ReviewReason,
    ReviewStatus,
)

# The scan's columns, in this order. The contract grows at the end, never reorders.
COLUMNS = [
    "file",
    "page",
    "field",
    "value",
    "confidence",
    "needs_review",
    "x0",
    "y0",
    "x1",
    "y1",
    "digit_confidences",
    "crop",
    "review_reasons",
    "review_below",
    "kind",
    "label",
    "review_notes",
]
# Written by `digitize review` after the scan's own.
REVIEW_COLUMNS = ["reviewed_value", "reviewed"]
# An entries CSV needs these to be read back (CSVs of earlier versions lack the later ones).
REQUIRED_COLUMNS = COLUMNS[: COLUMNS.index("crop") + 1]
ERROR_COLUMNS = ["file", "page", "error"]
# Written unquoted; everything else is quoted text.
NUMBER_COLUMNS = frozenset({"page", "confidence", "x0", "y0", "x1", "y1", "review_below"})
# A cell starting with one of these is run as a formula by spreadsheet programs (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# What a scan of an earlier version flagged below (it did not record its threshold).
EARLIER_REVIEW_BELOW = 0.99
# A crop is named after its input's file name cut to this many bytes (plus a hash, the page
# and the field): well under the 255 bytes a file name may have, temporary suffix included.
CROP_NAME_BYTES = 100


def writable_text(text: str) -> str:
    """`text` as a UTF-8 file can hold it. A file name that is not valid UTF-8 (b"form\\xff.png")
    reaches Python with its undecodable bytes as surrogate escapes, which UTF-8 cannot encode:
    each such byte is written as the four characters `\\xNN` instead, so the CSV stays valid
    and the name readable. (A name holding a real backslash-x-NN reads the same; `--resume`
    matches files by this text, so such a pair would be taken for one file.)"""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    try:
        raw = text.encode("utf-8", "surrogateescape")  # the bytes os.fsdecode was given
    except UnicodeEncodeError:  # a lone surrogate no file name decodes to
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return raw.decode("utf-8", "backslashreplace")


def spreadsheet_safe(text: str) -> str:
    """Neutralize a text cell a spreadsheet would run as a formula, by a leading apostrophe."""
    return "'" + text if _needs_apostrophe(text) else text


def unneutralize(text: str) -> str:
    """The original text of a cell written by `spreadsheet_safe`."""
    return text[1:] if text.startswith("'") and _needs_apostrophe(text) else text


def _needs_apostrophe(text: str) -> bool:
    # Apostrophes already before a formula start get one more, or "'=x" would read back as "=x".
    return text.lstrip("'").startswith(FORMULA_STARTS)


# --- writing --------------------------------------------------------------------------------


@contextmanager
def atomic_write(path: Path, mode: str = "w") -> Iterator[IO]:
    """A file written under a temporary name beside `path` and renamed over it when the block
    ends without an error; on any error (Ctrl-C too) `path` is left as it was."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        text = "b" not in mode
        stream: IO
        if text:
            stream = os.fdopen(handle, mode, newline="", encoding="utf-8")
        else:
            stream = os.fdopen(handle, mode)
        with stream:
            yield stream
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_table(
    rows: Iterable[Mapping[str, object]],
    path: Path,
    columns: list[str],
    numbers: frozenset[str] = NUMBER_COLUMNS,
) -> None:
    """Rows of cells written atomically: the `numbers` columns' numbers unquoted, everything
    else (column names too: a wide output's come from printed labels) quoted text, made
    spreadsheet-safe."""
    with atomic_write(path) as stream:
        writer = csv.writer(stream, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n")
        writer.writerow([spreadsheet_safe(writable_text(column)) for column in columns])
        for row in rows:
            cells = (cell_value(row.get(column, ""), column in numbers) for column in columns)
            writer.writerow(
                [c if isinstance(c, (int, float)) else spreadsheet_safe(c) for c in cells]
            )


def cell_value(value: object, number: bool) -> int | float | str:
    """A cell as digitize writes it, in any format: a number when its column holds numbers
    (`number`) and it is one, else its text as UTF-8 can hold it."""
    if number:
        found = _as_number(value)
        if isinstance(found, (int, float)) and not isinstance(found, bool):
            return found
    return writable_text("" if value is None else str(value))


def _as_number(value: object) -> object:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return value
    if isinstance(value, (int, float)):
        return value
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value  # "" or edited by hand into something else: kept as it is, as text


def entry_columns(entries: Iterable[Entry], columns: list[str] | None = None) -> list[str]:
    """The columns to write: the scan's, then the review's when any field was reviewed, then
    other tools' columns in the order they had (`columns`, as read)."""
    entries = list(entries)
    result = long_columns(columns, reviewed=any(e.decision is not None for e in entries))
    for entry in entries:
        result += [c for c in entry.extra if c not in result]
    return result


def long_columns(columns: list[str] | None, reviewed: bool) -> list[str]:
    """The columns of a long output whose rows have no columns beyond `columns` (as read)."""
    result = list(COLUMNS)
    if reviewed or (columns and any(c in REVIEW_COLUMNS for c in columns)):
        result += REVIEW_COLUMNS
    for column in columns or []:
        if column not in result:
            result.append(column)
    return result


def write_entries(entries: Iterable[Entry], path: Path, columns: list[str] | None = None) -> None:
    """The entries CSV, atomically. `columns`: those of the file as read, kept in place."""
    entries = list(entries)
    write_table((entry_cells(e) for e in entries), path, entry_columns(entries, columns))


def entry_cells(entry: Entry) -> dict[str, object]:
    result = entry.result
    cells: dict[str, object] = dict(entry.extra)
    cells.update(
        {
            "file": result.file,
            "page": result.page,
            "field": result.field,
            "value": result.value,
            "confidence": round(result.confidence, 4),
            "needs_review": "true" if result.needs_review else "false",
            "x0": result.box[0],
            "y0": result.box[1],
            "x1": result.box[2],
            "y1": result.box[3],
            "digit_confidences": ";".join(f"{c:.4f}" for c in result.digit_confidences),
            "crop": result.crop,
            "review_reasons": ";".join(str(r) for r in result.reasons),
            "review_below": result.review_below,
            "kind": result.kind,
            "label": result.label,
            "review_notes": result.review_notes,
        }
    )
    decision = entry.decision
    cells["reviewed_value"] = decision.value if decision else ""
    cells["reviewed"] = str(decision.status) if decision else ""
    return cells


def write_errors(errors: Iterable[tuple[str, int | None, str]], path: Path) -> None:
    """The errors CSV: (file, page or None for the whole file, reason)."""
    rows = ({"file": f, "page": "" if p is None else p, "error": e} for f, p, e in errors)
    write_table(rows, path, ERROR_COLUMNS)


# --- crops and other files beside the CSVs ---------------------------------------------------


def crop_name(file: str, page: int, field_name: str) -> str:
    """A file name for a field's crop: readable, unique per input as given, never too long.

    The input's own file name (letters, digits and `._-` kept, anything else `_`, cut to
    CROP_NAME_BYTES) says whose crop it is; a hash of the whole path as given keeps apart the
    inputs that would otherwise share one (x/form.png and x/form.jpg, a/b.png and a__b.png,
    two folders' 1.png)."""
    readable = re.sub(r"[^\w.-]", "_", writable_text(Path(file).name)).lstrip(".-")
    readable = readable.encode("utf-8")[:CROP_NAME_BYTES].decode("utf-8", "ignore") or "input"
    digest = hashlib.sha256(os.fsencode(file)).hexdigest()[:8]
    return f"{readable}-{digest}-p{page}-{field_name}.png"


def save_crop(folder: Path, file: str, page: int, field_name: str, image: np.ndarray) -> Path:
    """A field's image written as `folder/crop_name(...)`; OSError naming it when it cannot be."""
    path = Path(folder) / crop_name(file, page, field_name)
    write_png(path, image)
    return path


def write_png(path: Path, image: np.ndarray) -> None:
    """An image saved as a PNG file, atomically. Encoded by OpenCV but written by Python, so
    that every write is checked (a full disk, a folder gone: an OSError naming `path`, no file
    left behind) and a path that is not UTF-8 cannot crash cv2.imwrite."""
    ok, png = cv2.imencode(".png", image)
    if not ok:
        raise OSError(errno.EINVAL, "cannot encode the image as PNG", str(path))
    try:
        with atomic_write(path, "wb") as stream:
            stream.write(png.tobytes())
    except OSError as error:  # named after the file meant, not its temporary name
        raise OSError(error.errno, error.strerror or str(error), str(path)) from None


def check_writable_folder(folder: Path, option: str) -> None:
    """UsageError when no file can be created in `folder`, made now if missing: found before
    a page is read, not as every page's error."""
    try:
        Path(folder).mkdir(parents=True, exist_ok=True)
        handle, probe = tempfile.mkstemp(dir=folder, prefix=".digitize-probe-")
        os.close(handle)
        os.unlink(probe)
    except OSError as error:
        raise UsageError(
            f"{option} {writable_text(str(folder))}: cannot write there ({error.strerror or error})"
        ) from None


def same_file(first: Path, second: Path) -> bool:
    """Whether two paths name one file, however spelt: the same file on disk where both
    exist (hard and symbolic links too), else the same resolved path."""
    try:
        return os.path.samefile(first, second)
    except OSError:
        return os.path.realpath(first) == os.path.realpath(second)


# --- reading --------------------------------------------------------------------------------


def read_table(path: Path, required: Iterable[str] = (), what: str = "") -> pd.DataFrame:
    """Any CSV digitize reads (entries, truth, corrections): every cell text, empty cells "",
    spreadsheet-safety apostrophes undone, column names stripped; CsvError (one line) when it
    cannot be read or lacks a required column."""
    where = f"{what} {path}".strip()
    path = Path(path)
    if not path.exists():
        raise CsvError(f"{where}: no such file")
    if path.is_dir():
        raise CsvError(f"{where}: is a directory, not a CSV file")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except ValueError as error:  # parse errors, empty files and bad encodings
        raise CsvError(f"{where}: not a CSV file ({one_line(error)})") from None
    except OSError as error:
        raise CsvError(f"{where}: cannot read ({error.strerror or error})") from None
    frame.columns = [unneutralize(str(column).strip()) for column in frame.columns]
    missing = [column for column in required if column not in frame.columns]
    if missing:
        raise CsvError(f"{where}: missing columns {', '.join(missing)}")
    for column in frame.columns:
        if column not in NUMBER_COLUMNS:
            frame[column] = frame[column].map(unneutralize)
    return frame


@dataclass(frozen=True)
class EntriesFile:
    entries: list[Entry]
    columns: list[str]  # as in the file, to be kept when it is rewritten


def read_entries(path: Path, what: str = "") -> EntriesFile:
    """An entries CSV written by `digitize scan` (and perhaps `digitize review`), as records."""
    frame = read_table(path, what=what)
    rows: list[dict[str, str]] = frame.to_dict("records")  # type: ignore[assignment]
    return entries_from_rows(rows, list(frame.columns), f"{what} {path}".strip())


def entries_from_rows(
    rows: list[dict[str, str]],
    columns: list[str],
    where: str,
    kind: str = "an entries CSV",
    first_line: int = 2,
) -> EntriesFile:
    """Rows of text cells (as any entries file is read: a CSV, a workbook, JSON lines) as
    records; CsvError naming `where` and the line (`first_line` is the first row's) when
    they are not the entries a scan writes (`kind`: what they were meant to be)."""
    missing = [column for column in REQUIRED_COLUMNS if column not in columns]
    if missing:
        raise CsvError(
            f"{where}: not {kind} written by `digitize scan` (no column {', '.join(missing)})"
        )
    known = set(COLUMNS) | set(REVIEW_COLUMNS)
    entries = []
    for line, row in enumerate(rows, start=first_line):
        try:
            entries.append(_entry(row, known))
        except ValueError as error:
            raise CsvError(f"{where}:{line}: {error}") from None
    return EntriesFile(entries=entries, columns=list(columns))


def entry_from_cells(cells: dict[str, str]) -> Entry:
    """A record from its row's cells as text (`entry_cells`' values, as a file holds them)."""
    return _entry(cells, set(COLUMNS) | set(REVIEW_COLUMNS))


def _entry(row: dict[str, str], known: set[str]) -> Entry:
    digit_confidences = tuple(
        _number(p, "digit_confidences") for p in row["digit_confidences"].split(";") if p.strip()
    )
    review_below = (
        _number(row["review_below"], "review_below")
        if row.get("review_below", "").strip()
        else EARLIER_REVIEW_BELOW
    )
    reasons = _reasons(row.get("review_reasons", ""))
    if not reasons and row["needs_review"].strip().lower() == "true":
        # Written before reasons were recorded: what can still be told from the digits.
        low = any(c < review_below for c in digit_confidences)
        reasons = (ReviewReason.LOW_CONFIDENCE if low else ReviewReason.SEGMENTATION,)
    result = FieldResult(
        file=row["file"],
        page=int(_number(row["page"], "page")),
        field=row["field"],
        value=row["value"],
        confidence=_number(row["confidence"], "confidence") if row["confidence"] else 0.0,
        digit_confidences=digit_confidences,
        box=tuple(_number(row[c], c) for c in ("x0", "y0", "x1", "y1")),  # type: ignore[arg-type]
        review_below=review_below,
        reasons=reasons,
        crop=row["crop"],
        kind=row.get("kind", "").strip() or "box",  # not recorded before checkboxes
        label=row.get("label", ""),  # not recorded before labels
        review_notes=row.get("review_notes", ""),
    )
    return Entry(
        result=result,
        decision=_decision(row),
        extra={column: value for column, value in row.items() if column not in known},
    )


def _reasons(text: str) -> tuple[ReviewReason, ...]:
    reasons = []
    for code in (part.strip() for part in text.split(";")):
        if not code:
            continue
        try:
            reasons.append(ReviewReason(code))
        except ValueError:
            # Refused rather than guessed: rewriting the row would lose the code.
            raise ValueError(
                f"review_reasons has an unknown code {code!r} (written by a newer digitize?)"
            ) from None
    return tuple(reasons)


def _decision(row: dict[str, str]) -> ReviewDecision | None:
    status = row.get("reviewed", "").strip()
    if not status:
        return None
    try:
        return ReviewDecision(ReviewStatus(status), row.get("reviewed_value", ""))
    except ValueError:
        raise ValueError(
            f"reviewed is {status!r}, not one of accepted, corrected, illegible"
        ) from None


def _number(text: str, column: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"column {column} has a non-number ({text!r})") from None
