"""The state of one scan and the files that record it.

Which files are done (their entries), which failed and why, which pages of the files in
progress have come back. Each finished file is committed to the entries CSV at once,
atomically, so an interruption loses nothing and `--resume` redoes nothing that was
committed. Resuming keeps each kept row as it was, a person's review decisions included.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from digitize.errors import CsvError, UsageError
from digitize.output import read_entries, read_table, write_entries, write_errors
from digitize.page_task import PageResult
from digitize.progress import ScanListener
from digitize.records import Entry

COMMIT_INTERVAL_S = 1.0  # rewrite the output at most this often while files complete


@dataclass
class ScanSummary:
    model: str = ""  # which model read the pages, in words
    files: int = 0
    skipped: int = 0  # already in the output (--resume)
    failed: int = 0
    pages: int = 0
    fields: int = 0
    flagged: int = 0
    seconds: dict[str, float] = field(
        default_factory=lambda: {"load": 0.0, "segment": 0.0, "classify": 0.0}
    )

    def describe(self, out: Path, errors: Path) -> str:
        text = (
            f"Read {self.files} files ({self.pages} pages): {self.fields} fields, "
            f"{self.flagged} flagged for review -> {out}"
        )
        if self.skipped:
            text += f"; {self.skipped} files already in {out.name} skipped"
        if self.failed:
            text += f"; {self.failed} files had errors, listed in {errors}"
        if self.model and self.pages:
            text = f"Model: {self.model}\n{text}"
        return text


class Batch:
    def __init__(self, out: Path, errors: Path, listener: ScanListener, resume: bool):
        self.out, self.errors_path, self.listener = out, errors, listener
        self.summary = ScanSummary()
        self.committed: dict[str, list[Entry]] = {}  # file -> its entries, in the output
        self.columns: list[str] | None = None  # of the output as resumed
        if resume and out.is_file():
            self.committed, self.columns = _committed_entries(out)
        self.errors: list[tuple[str, int | None, str]] = []
        if self.committed:
            # A kept file whose page failed stays listed: its error is not lost on resume.
            self.errors = [e for e in _earlier_errors(errors) if e[0] in self.committed]
        self.position: dict[str, int] = {}  # input order of the files read now
        self.pages_of: dict[str, int] = {}
        self.pending: dict[str, dict[int, PageResult]] = {}  # file -> pages back so far
        self.last_commit = 0.0

    def is_done(self, file: str) -> bool:
        return file in self.committed

    def expect(self, file: str, pages: int) -> None:
        """`file` will be read now, in this order, and has `pages` pages."""
        self.position[file] = len(self.position)
        self.pages_of[file] = pages
        self.pending[file] = {}

    def finish(self, result: PageResult) -> None:
        """A page is back; when it is its file's last, the file's entries are committed."""
        self.summary.pages += 1
        for stage, seconds in result.seconds.items():
            self.summary.seconds[stage] = self.summary.seconds.get(stage, 0.0) + seconds
        self.listener.page_done()
        if result.error:
            self.fail(result.file, result.page, result.error, count_file=False)
        pages_back = self.pending[result.file]
        pages_back[result.page] = result
        if len(pages_back) < self.pages_of[result.file]:
            return
        del self.pending[result.file]
        pages = [pages_back[n] for n in range(1, self.pages_of[result.file] + 1)]
        if any(p.error for p in pages):
            self.summary.failed += 1
        entries = [Entry(result=f) for p in pages for f in p.fields]
        self.summary.files += 1
        self.summary.fields += len(entries)
        self.summary.flagged += sum(e.result.needs_review for e in entries)
        if entries:
            self.committed[result.file] = entries
        self.listener.file_done()
        self.commit()

    def fail(self, file: str, page: int | None, reason: str, count_file: bool = True) -> None:
        self.errors.append((file, page, reason))
        if count_file:
            self.summary.failed += 1
        self.listener.report(f"{file}: {reason}")

    def commit(self, force: bool = False) -> None:
        """Write the entries and errors CSVs (atomically), at most every COMMIT_INTERVAL_S."""
        if not force and time.monotonic() - self.last_commit < COMMIT_INTERVAL_S:
            return
        # Kept files first, then input order, whatever order the workers finish in.
        files = sorted(self.committed, key=lambda file: self.position.get(file, -1))
        entries = [entry for file in files for entry in self.committed[file]]
        try:
            write_entries(entries, self.out, self.columns)
            write_errors(self.errors, self.errors_path)
        except OSError as error:
            raise UsageError(
                f"cannot write {error.filename or self.out}: {error.strerror or error}"
            ) from None
        self.last_commit = time.monotonic()


def _committed_entries(out: Path) -> tuple[dict[str, list[Entry]], list[str] | None]:
    """The entries already in `out`, by file, and its columns."""
    if out.stat().st_size == 0:
        return {}, None  # e.g. made by `touch`: nothing done yet
    try:
        found = read_entries(out, what="--out")
    except CsvError as error:
        raise UsageError(f"cannot resume: {error}") from None
    by_file: dict[str, list[Entry]] = {}
    for entry in found.entries:
        by_file.setdefault(entry.result.file, []).append(entry)
    return by_file, found.columns


def _earlier_errors(path: Path) -> list[tuple[str, int | None, str]]:
    """The errors a resumed scan wrote; none when its errors CSV is gone or unreadable."""
    try:
        frame = read_table(path, required=("file", "page", "error"))
    except CsvError:
        return []
    return [
        (row["file"], int(row["page"]) if row["page"].isdigit() else None, row["error"])
        for row in frame.to_dict("records")
    ]
