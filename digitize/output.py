"""The CSV files `digitize scan` writes: the entries (a contract other tools read) and errors.

Both are rewritten atomically (a temporary file renamed over the old one), so a reader or an
interrupted run never sees half a file.
"""

from __future__ import annotations

import csv
import os
import tempfile
from pathlib import Path

import pandas as pd

COLUMNS = [
    "file", "page", "field", "value", "confidence", "needs_review",
    "x0", "y0", "x1", "y1", "digit_confidences", "crop",
]
ERROR_COLUMNS = ["file", "page", "error"]
# Written unquoted, also when they come back as text from a CSV read earlier (resume, review),
# so a rewritten file reads byte for byte as before.
NUMBER_COLUMNS = ("page", "confidence", "x0", "y0", "x1", "y1")
TEXT_COLUMNS = {"file", "field", "value", "digit_confidences", "crop", "error", "needs_review",
                "reviewed_value", "reviewed"}  # the last two are added by `digitize review`
# A cell starting with one of these is run as a formula by spreadsheet programs (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(text: str) -> str:
    """Neutralize a text cell a spreadsheet would run as a formula, by a leading apostrophe."""
    return "'" + text if _needs_apostrophe(text) else text


def unneutralize(text: str) -> str:
    """The original text of a cell written by `spreadsheet_safe`."""
    return text[1:] if text.startswith("'") and _needs_apostrophe(text) else text


def _needs_apostrophe(text: str) -> bool:
    # Apostrophes already before a formula start get one more, or "'=x" would read back as "=x".
    return text.lstrip("'").startswith(FORMULA_STARTS)


def write_csv(rows: list[dict], path: Path, columns: list[str]) -> None:
    """Write rows atomically, text cells spreadsheet-safe and quoted."""
    frame = pd.DataFrame(rows, columns=columns)
    for column in set(NUMBER_COLUMNS) & set(columns):
        frame[column] = frame[column].map(_as_number)
    for column in TEXT_COLUMNS & set(columns):
        frame[column] = frame[column].fillna("").astype(str).map(spreadsheet_safe)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", newline="", encoding="utf-8") as stream:
            frame.to_csv(stream, index=False, quoting=csv.QUOTE_NONNUMERIC)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _as_number(value: object) -> object:
    if not isinstance(value, str):
        return value
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value  # edited by hand into something else: kept as it is


def read_entries(path: Path) -> pd.DataFrame:
    """An entries CSV as written by `write_csv`: values stay strings, leading zeros kept."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    for column in frame.columns:
        if column in TEXT_COLUMNS or column.startswith("reviewed"):
            frame[column] = frame[column].map(unneutralize)
    return frame
