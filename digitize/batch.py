"""The state of one scan and the files that record it.

Which files are done (their entries), which failed and why, which pages of the files in
progress have come back. Each finished file is committed to the output at once, atomically,
so an interruption loses nothing and `--resume` redoes nothing that was committed. The output
is in the format and layout asked for (`digitize.output_formats`); the errors CSV is written
whatever the format. Resuming keeps each kept row as it was, a person's review decisions
included, and knows a kept file however it is spelt now. One scan at a time writes an
output: a lock beside it (`<out>.lock`) refuses a second.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from digitize.errors import CsvError, UsageError
from digitize.output import read_table, same_file, writable_text, write_errors
from digitize.output_formats import read_output, write_output
from digitize.output_lock import OutputLock
from digitize.page_task import PageResult
from digitize.progress import ScanListener
from digitize.records import Entry, ReviewDecision
from digitize.wide_layout import Layout

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
    """A scan's state; a context manager, holding the lock on `out` from the start to the end."""

    def __init__(
        self,
        out: Path,
        errors: Path,
        listener: ScanListener,
        resume: bool,
        layout: Layout = Layout.LONG,
    ):
        self.out, self.errors_path, self.listener = out, errors, listener
        self.layout = layout
        self.lock = OutputLock(out)  # before the output is read: no other scan changes it now
        try:
            self._start(resume)
        except BaseException:
            self.lock.release()
            raise

    def _start(self, resume: bool) -> None:
        self.summary = ScanSummary()
        self.committed: dict[str, list[Entry]] = {}  # file -> its entries, in the output
        self.columns: list[str] | None = None  # of the output as resumed
        if resume and self.out.is_file():
            self.committed, self.columns = _committed_entries(self.out)
        # The kept files by what they are on disk: `forms/a.png` is `./forms/a.png`.
        self.kept = {same_file_key(file) for file in self.committed}
        self.errors: list[tuple[str, int | None, str]] = []
        if self.committed:
            # A kept file whose page failed stays listed: its error is not lost on resume.
            self.errors = [e for e in _earlier_errors(self.errors_path) if self.is_done(e[0])]
        self.position: dict[str, int] = {}  # input order of the files read now
        self.pages_of: dict[str, int] = {}
        self.pending: dict[str, dict[int, PageResult]] = {}  # file -> pages back so far
        self.last_commit = 0.0
        # The output as this scan last wrote (or read) it; another signature means someone
        # else (`digitize review`) saved it since.
        self.written = _signature(self.out) if self.columns is not None else None

    def __enter__(self) -> Batch:
        return self

    def __exit__(self, *exception: object) -> None:
        self.lock.release()  # whatever ended the scan: the next one may start

    def is_done(self, file: str) -> bool:
        """Whether `file` is in the output already: by the name there, or as the same file."""
        return file in self.committed or same_file_key(file) in self.kept

    def check_not_inputs(self, files: list[str]) -> None:
        """UsageError when --out or --errors is one of the inputs: writing it destroys it."""
        for option, path in (("--out", self.out), ("--errors", self.errors_path)):
            if not path.exists():
                continue  # every input exists
            for file in files:
                if same_file(path, Path(file)):
                    raise UsageError(
                        f"{option} {writable_text(str(path))}: is the input "
                        f"{writable_text(file)}; give a new file to write"
                    )

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
        self.listener.report(writable_text(f"{file}: {reason}"))  # named as in the CSV

    def commit(self, force: bool = False) -> None:
        """Write the output and the errors CSV (atomically), at most every COMMIT_INTERVAL_S."""
        if not force and time.monotonic() - self.last_commit < COMMIT_INTERVAL_S:
            return
        self._take_decisions_saved_since()
        # Kept files first, then input order, whatever order the workers finish in.
        files = sorted(self.committed, key=lambda file: self.position.get(file, -1))
        entries = [entry for file in files for entry in self.committed[file]]
        try:
            write_output(entries, self.out, self.layout, self.columns, self.errors)
            write_errors(self.errors, self.errors_path)
        except OSError as error:
            raise UsageError(
                f"cannot write {error.filename or self.out}: {error.strerror or error}"
            ) from None
        self.written = _signature(self.out)
        self.last_commit = time.monotonic()

    def _take_decisions_saved_since(self) -> None:
        """A person may review the rows already written while the scan goes on; the decisions
        `digitize review` saved into the output since this scan last wrote it are taken into
        its rows, or the next commit would write them away."""
        if self.written is None or _signature(self.out) == self.written:
            return
        try:
            on_disk = read_output(self.out)
        except CsvError:
            return  # not an output digitize can read (back): it holds no decisions to keep
        decisions: dict[tuple[str, int, str], ReviewDecision | None] = {
            _row_key(entry): entry.decision for entry in on_disk.entries
        }
        for file, entries in self.committed.items():
            self.committed[file] = [
                replace(entry, decision=decisions[_row_key(entry)])
                if _row_key(entry) in decisions
                else entry
                for entry in entries
            ]


def same_file_key(file: str) -> str:
    """What a file is, whatever its spelling (`forms`, `./forms`, `$PWD/forms`): its resolved
    path, as the CSV writes it, so a name read back from the CSV gives the same key."""
    return writable_text(os.path.realpath(file))


def _row_key(entry: Entry) -> tuple[str, int, str]:
    result = entry.result
    return writable_text(result.file), result.page, result.field


def _signature(path: Path) -> tuple[int, int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_ino, stat.st_size, stat.st_mtime_ns


def _committed_entries(out: Path) -> tuple[dict[str, list[Entry]], list[str] | None]:
    """The entries already in `out`, by file, and its columns."""
    if out.stat().st_size == 0:
        return {}, None  # e.g. made by `touch`: nothing done yet
    try:
        found = read_output(out, what="--out")
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
