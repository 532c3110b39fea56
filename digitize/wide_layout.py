"""The two layouts of a scan's output: `long`, one row per field (the contract other tools
read, see `digitize.output`), and `wide`, one row per page, a filled form as a person keys it
in: `file, page`, a column per named field, then whether the page needs a person and which of
its fields.

A field's column is named after its label (its template name or printed label), else its
`field` id, so the same form gives the same columns page after page, and pages of different
forms add their own columns. A wide output says nothing about digits, boxes or decisions: it
cannot be read back into fields (`--resume` and `digitize review` need the long one).

Light on imports: the CLI takes `Layout` from here before anything heavy loads.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from digitize.errors import UsageError
from digitize.field_names import unique_names
from digitize.records import Entry


class Layout(StrEnum):
    LONG = "long"  # one row per field
    WIDE = "wide"  # one row per page

    @classmethod
    def parse(cls, value: str) -> Layout:
        """UsageError (one line) for anything but a layout's name."""
        try:
            return cls(value)
        except ValueError:
            names = " or ".join(repr(str(layout)) for layout in cls)
            raise UsageError(f"--layout {value}: not a layout ({names})") from None


HEAD = ["file", "page"]
TAIL = ["needs_review", "fields_to_review"]
# The columns a wide output writes as numbers (unquoted in a CSV): a field's value never is.
NUMBER_COLUMNS = frozenset({"page"})


@dataclass
class WideTable:
    """A wide output's rows of text cells (page a number), and each row's flagged columns."""

    columns: list[str]
    rows: list[dict[str, object]] = field(default_factory=list)
    flagged: list[set[str]] = field(default_factory=list)  # per row, the columns to check


def wide_table(entries: Iterable[Entry]) -> WideTable:
    """One row per page that has fields, in the entries' order; the columns are the union of
    the pages' fields in order of first appearance."""
    pages: dict[tuple[str, int], list[Entry]] = {}
    for entry in entries:
        pages.setdefault((entry.result.file, entry.result.page), []).append(entry)
    fields: list[str] = []
    known: set[str] = set()
    table = WideTable(columns=[])
    for (file, page), page_entries in pages.items():
        row: dict[str, object] = {"file": file, "page": page}
        flagged: list[str] = []
        for name, entry in zip(column_names(page_entries), page_entries):
            row[name] = entry.result.value
            if entry.result.needs_review:
                flagged.append(name)
            if name not in known:
                known.add(name)
                fields.append(name)
        row["needs_review"] = "true" if flagged else "false"
        row["fields_to_review"] = ";".join(flagged)
        table.rows.append(row)
        table.flagged.append(set(flagged))
    table.columns = HEAD + fields + TAIL
    return table


def column_names(page_entries: list[Entry]) -> list[str]:
    """Each field's column on its page: its label else its id, numbered where an earlier
    field of the page or a fixed column has it."""
    return unique_names(
        (e.result.label for e in page_entries),
        (e.result.field for e in page_entries),
        taken=HEAD + TAIL,
    )


def is_wide(columns: list[str]) -> bool:
    """Whether a file with these columns is a wide output (it names pages, not fields)."""
    return TAIL[-1] in columns and "field" not in columns
