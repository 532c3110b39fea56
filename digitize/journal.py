"""A scan's journal: every page that comes back, appended as it comes and synced to disk, in an
SQLite file beside the output (`<out>.journal`).

Why: the output (a CSV, a workbook) can only be rewritten whole, and rewriting it after every
file costs O(files²) over a batch of 100,000 files. The journal takes each page in one small
transaction instead, so the output is written from it now and then (`batch.Batch`) and, when
the scan is killed between two writes, `--resume` finds every page that came back in the
journal: nothing is read twice, nothing is lost. A file's rows are in the output only once
all its pages are back, as before; a resumed PDF reads only its pages not yet back.

The journal lives while its scan is unfinished: a scan that ends with every page read removes
it, one interrupted or killed leaves it for `--resume`, and a scan without `--resume` starts a
new one. SQLite because it is in the standard library, appends with one fsync a page (WAL,
synchronous=FULL), and hands the rows back in input order without holding them in memory.

File names are kept as their bytes (a name that is not UTF-8 reaches Python with surrogate
escapes, which SQLite's text cannot hold); a row's cells as JSON, as `output.entry_cells`
makes them, so the output written from the journal is the output written from the records.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path

from digitize.output import entry_cells, entry_from_cells, writable_text
from digitize.records import Entry, ReviewDecision

SUFFIX = ".journal"

SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    id INTEGER PRIMARY KEY,
    -- The order of the output: kept files first, then the files of the latest scan in its
    -- input order (set again by each scan that reads the file).
    position INTEGER NOT NULL,
    name BLOB UNIQUE NOT NULL,  -- the file as given, as bytes
    shown TEXT NOT NULL,  -- as the output writes it (writable_text)
    pages INTEGER,  -- NULL: kept from an earlier output, its page count not known
    done INTEGER NOT NULL DEFAULT 0  -- every page back: its rows are in the output
);
CREATE INDEX IF NOT EXISTS files_position ON files (position);
CREATE TABLE IF NOT EXISTS pages (
    file INTEGER NOT NULL REFERENCES files (id),
    page INTEGER NOT NULL,
    error TEXT,
    PRIMARY KEY (file, page)
);
CREATE TABLE IF NOT EXISTS rows (
    file INTEGER NOT NULL REFERENCES files (id),
    page INTEGER NOT NULL,
    n INTEGER NOT NULL,  -- the row's place among its page's rows
    field TEXT NOT NULL,
    reviewed INTEGER NOT NULL,  -- a person's decision is in the cells
    cells TEXT NOT NULL,
    PRIMARY KEY (file, page, n)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def journal_path(out: Path) -> Path:
    return out.with_name(f"{out.name}{SUFFIX}")


class Journal:
    """The pages of one output's scans so far. `fresh`: forget what an earlier scan left."""

    def __init__(self, out: Path, fresh: bool):
        self.path = journal_path(out)
        if fresh:
            self.remove_files()
        self.db = sqlite3.connect(self.path, isolation_level=None)  # transactions by hand
        self.closed = False
        self.depth = 0  # of nested transactions: only the outermost commits
        try:
            self.db.execute("PRAGMA journal_mode = WAL")
            self.db.execute("PRAGMA synchronous = FULL")  # a page committed is on disk
            self.db.executescript(SCHEMA)
            last = self.db.execute("SELECT MAX(position) FROM files").fetchone()[0]
        except sqlite3.DatabaseError:
            self.db.close()
            raise
        self.next_position = 0 if last is None else int(last) + 1

    def close(self) -> None:
        self.db.close()  # closing twice is harmless
        self.closed = True

    def remove(self) -> None:
        """The scan is complete: its output holds everything the journal did."""
        self.close()
        self.remove_files()

    def remove_files(self) -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)

    # --- what is there -------------------------------------------------------------------

    def empty(self) -> bool:
        return self.db.execute("SELECT 1 FROM files LIMIT 1").fetchone() is None

    def done_files(self) -> list[str]:
        return [_name(row[0]) for row in self.db.execute("SELECT name FROM files WHERE done")]

    def pages_back(self, file: str) -> set[int]:
        """The pages of `file` read without an error so far."""
        rows = self.db.execute(
            "SELECT page FROM pages JOIN files ON files.id = pages.file "
            "WHERE files.name = ? AND pages.error IS NULL",
            (_bytes(file),),
        )
        return {page for (page,) in rows}

    def page_errors(self) -> list[tuple[str, int, str]]:
        """The pages of finished files that failed, as (file, page, error)."""
        rows = self.db.execute(
            "SELECT files.name, page, error FROM pages JOIN files ON files.id = pages.file "
            "WHERE files.done AND error IS NOT NULL ORDER BY files.position, page"
        )
        return [(_name(name), page, error) for name, page, error in rows]

    def counts(self, file: str) -> tuple[int, int]:
        """How many rows `file` has, and how many of them are flagged."""
        rows = self.db.execute(
            "SELECT cells FROM rows JOIN files ON files.id = rows.file WHERE files.name = ?",
            (_bytes(file),),
        )
        entries = [entry_from_cells(json.loads(cells)) for (cells,) in rows]
        return len(entries), sum(e.result.needs_review for e in entries)

    def reviewed(self) -> bool:
        """Whether any row holds a person's decision."""
        return self.db.execute("SELECT 1 FROM rows WHERE reviewed LIMIT 1").fetchone() is not None

    def entries(self) -> Iterator[Entry]:
        """The rows of the finished files, kept files first, then in input order; read as
        they are written, not held in memory."""
        rows = self.db.execute(
            "SELECT cells FROM rows JOIN files ON files.id = rows.file "
            "WHERE files.done ORDER BY files.position, rows.page, rows.n"
        )
        for (cells,) in rows:
            yield entry_from_cells(json.loads(cells))

    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    # --- what comes in -------------------------------------------------------------------

    def keep(self, file: str, entries: list[Entry]) -> None:
        """A file from an earlier output, done, with its rows as they are there."""
        with self.transaction():
            file_id = self._file_id(file, None)
            self.db.execute("UPDATE files SET done = 1 WHERE id = ?", (file_id,))
            self._add_rows(file_id, entries)

    def expect(self, file: str, pages: int) -> None:
        """`file` is read now and has `pages` pages. Pages an earlier scan left of it stay
        (they are not read again) unless the file has another number of pages now, or they
        failed (they are read again)."""
        with self.transaction():
            row = self.db.execute(
                "SELECT id, pages FROM files WHERE name = ?", (_bytes(file),)
            ).fetchone()
            if row is not None and row[1] != pages:
                self._forget(row[0])
                row = None
            file_id = self._file_id(file, pages) if row is None else row[0]
            self.db.execute(
                "UPDATE files SET position = ? WHERE id = ?", (self._take_position(), file_id)
            )
            failed = "SELECT page FROM pages WHERE file = ? AND error IS NOT NULL"
            self.db.execute(
                f"DELETE FROM rows WHERE file = ? AND page IN ({failed})", (file_id,) * 2
            )
            self.db.execute("DELETE FROM pages WHERE file = ? AND error IS NOT NULL", (file_id,))
            self.db.execute("UPDATE files SET done = 0 WHERE id = ?", (file_id,))

    def add_page(self, file: str, page: int, entries: Iterable[Entry], error: str | None) -> None:
        """A page back: its rows and error, on disk when this returns."""
        with self.transaction():
            file_id = self._file_id(file, None)
            self.db.execute("DELETE FROM rows WHERE file = ? AND page = ?", (file_id, page))
            self.db.execute("INSERT OR REPLACE INTO pages VALUES (?, ?, ?)", (file_id, page, error))
            self._add_rows(file_id, list(entries))

    def finish_file(self, file: str, keep: bool) -> None:
        """Every page of `file` is back: done, or forgotten when it is not to be kept (a file
        without rows is read again by a resumed scan, as it always was)."""
        with self.transaction():
            file_id = self._file_id(file, None)
            if keep:
                self.db.execute("UPDATE files SET done = 1 WHERE id = ?", (file_id,))
            else:
                self._forget(file_id)

    def decide(self, decisions: dict[tuple[str, int, str], ReviewDecision | None]) -> None:
        """Take a person's decisions on rows (keyed as the output shows them) into the rows.
        A row is decoded only when a decision may change it."""
        with self.transaction():
            rows = self.db.execute(
                "SELECT rows.file, rows.page, rows.n, files.shown, rows.field, rows.reviewed "
                "FROM rows JOIN files ON files.id = rows.file"
            )
            changes = []
            for file_id, page, n, shown, field, reviewed in rows:
                key = (shown, page, field)
                if key not in decisions or (decisions[key] is None and not reviewed):
                    continue
                changes.append((file_id, page, n, decisions[key]))
            for file_id, page, n, decision in changes:
                (cells,) = self.db.execute(
                    "SELECT cells FROM rows WHERE file = ? AND page = ? AND n = ?",
                    (file_id, page, n),
                ).fetchone()
                entry = entry_from_cells(json.loads(cells))
                if entry.decision == decision:
                    continue
                changed = Entry(entry.result, decision, entry.extra)
                self.db.execute(
                    "UPDATE rows SET cells = ?, reviewed = ? WHERE file = ? AND page = ? AND n = ?",
                    (_cells(changed), decision is not None, file_id, page, n),
                )

    # --- inside ------------------------------------------------------------------------

    def _file_id(self, file: str, pages: int | None) -> int:
        name = _bytes(file)
        row = self.db.execute("SELECT id FROM files WHERE name = ?", (name,)).fetchone()
        if row is not None:
            return int(row[0])
        cursor = self.db.execute(
            "INSERT INTO files (position, name, shown, pages) VALUES (?, ?, ?, ?)",
            (self._take_position(), name, writable_text(file), pages),
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def _take_position(self) -> int:
        self.next_position += 1
        return self.next_position - 1

    def _forget(self, file_id: int) -> None:
        for table, column in (("rows", "file"), ("pages", "file"), ("files", "id")):
            self.db.execute(f"DELETE FROM {table} WHERE {column} = ?", (file_id,))

    def _add_rows(self, file_id: int, entries: list[Entry]) -> None:
        counter: dict[int, int] = {}
        for entry in entries:
            page = entry.result.page
            n = counter.get(page, 0)
            counter[page] = n + 1
            self.db.execute(
                "INSERT OR REPLACE INTO rows VALUES (?, ?, ?, ?, ?, ?)",
                (
                    file_id,
                    page,
                    n,
                    writable_text(entry.result.field),
                    entry.decision is not None,
                    _cells(entry),
                ),
            )

    def transaction(self) -> _Transaction:
        """One transaction (one fsync) for the changes in the block; blocks within it are
        part of it: a scan plans 100,000 files in one, not one each."""
        return _Transaction(self)


class _Transaction:
    """BEGIN … COMMIT, or ROLLBACK when the block raised; nested, only the outermost."""

    def __init__(self, journal: Journal):
        self.journal = journal

    def __enter__(self) -> None:
        # Not when one is open already: an interrupt may have come between a BEGIN and
        # the count that follows it.
        if self.journal.depth == 0 and not self.journal.db.in_transaction:
            self.journal.db.execute("BEGIN IMMEDIATE")
        self.journal.depth += 1

    def __exit__(self, kind: object, *rest: object) -> None:
        self.journal.depth -= 1
        db = self.journal.db
        if self.journal.depth or not db.in_transaction:  # SQLite may have rolled back itself
            return
        db.execute("ROLLBACK" if kind is not None else "COMMIT")


def _cells(entry: Entry) -> str:
    # ensure_ascii: a surrogate-escaped file name goes in as \\udcXX and comes back as it was.
    return json.dumps({k: _text(v) for k, v in entry_cells(entry).items()})


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _bytes(file: str) -> bytes:
    return os.fsencode(file)


def _name(name: bytes) -> str:
    return os.fsdecode(name)
