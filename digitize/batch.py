"""The state of one scan and the files that record it.

Which files are done, which failed and why, which pages of the files in progress have come
back. Each page is in the journal (`digitize.journal`) as soon as it is back, so an
interruption, even a kill, loses nothing and `--resume` redoes nothing; the output is written
whole from the journal now and then and at the end, atomically, with the files whose pages are
all back. The output is in the format and layout asked for (`digitize.output_formats`); the
errors CSV is written whatever the format. Resuming keeps each kept row as it was, a person's review decisions
included, and knows a kept file however it is spelt now. One scan at a time writes an
output: a lock beside it (`<out>.lock`) refuses a second.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path

from digitize.errors import CsvError, UsageError
from digitize.journal import Journal, journal_path
from digitize.output import read_table, same_file, writable_text, write_errors
from digitize.output_formats import read_output, write_output
from digitize.output_lock import OutputLock
from digitize.page_task import PageResult
from digitize.progress import ScanListener
from digitize.records import Entry
from digitize.wide_layout import Layout

COMMIT_INTERVAL_S = 2.0  # rewrite the output at most this often while files complete
# ... and at most this share of the scan's time: a commit that took 3 s waits 30 s for the
# next (an output of 100,000 files is not rewritten after each; the journal holds them).
COMMIT_SHARE = 10.0


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


@dataclass
class FileProgress:
    """A file being read: its pages not back yet, and what the pages back hold."""

    pages_left: int
    fields: int = 0
    flagged: int = 0
    failed: bool = False  # a page of it failed


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
        try:
            self.journal = Journal(self.out, fresh=not resume)
        except sqlite3.Error as error:
            raise UsageError(
                f"cannot resume: {journal_path(self.out)} is not a scan's journal ({error}); "
                "move it away to resume from the output alone"
            ) from None
        try:
            self._take_earlier_output(resume)
            done = self.journal.done_files()
        except BaseException:
            self._leave_journal()
            raise
        # The kept files by what they are on disk: `forms/a.png` is `./forms/a.png`.
        self.kept_names = set(done)
        self.kept = {same_file_key(file) for file in done}
        self.errors: list[tuple[str, int | None, str]] = []
        if done:
            # A kept file whose page failed stays listed: its error is not lost on resume.
            earlier = _earlier_errors(self.errors_path) + list(self.journal.page_errors())
            # Once each, however the file is named: the CSV holds names as it can write them.
            unique = {(writable_text(f), p, e): (f, p, e) for f, p, e in reversed(earlier)}
            self.errors = [e for e in reversed(unique.values()) if self.is_done(e[0])]
        self.reading: dict[str, FileProgress] = {}  # the files being read
        self.last_commit = 0.0
        self.commit_seconds = 0.0  # what writing the output took last time
        # The output as this scan last wrote (or read) it; another signature means someone
        # else (`digitize review`) saved it since.
        self.written = _signature(self.out) if self.columns is not None else None

    def _take_earlier_output(self, resume: bool) -> None:
        """On --resume, the files of the output so far are kept, as they are there, a person's
        decisions included; the journal an interrupted scan left adds the pages it had."""
        stored = self.journal.get_meta("columns")
        self.columns: list[str] | None = json.loads(stored) if stored else None
        if not (resume and self.out.is_file()):
            return
        earlier, columns = _committed_entries(self.out)
        if columns is None:
            return
        self.columns = columns
        self.journal.set_meta("columns", json.dumps(columns))
        # The output writes a name that is not UTF-8 with \xNN escapes; the journal keeps it.
        in_journal = {writable_text(file) for file in self.journal.done_files()}
        with self.journal.transaction():
            for file, entries in earlier.items():
                if writable_text(file) not in in_journal:
                    self.journal.keep(file, entries)
            self.journal.decide({_row_key(e): e.decision for es in earlier.values() for e in es})

    def __enter__(self) -> Batch:
        return self

    def __exit__(self, *exception: object) -> None:
        try:
            self._leave_journal()
        finally:
            self.lock.release()  # whatever ended the scan: the next one may start

    def _leave_journal(self) -> None:
        if self.journal.closed:
            return  # the scan was complete: removed
        if self.journal.empty():
            self.journal.remove()  # stopped before a page came back: nothing to resume
        else:
            self.journal.close()

    def planning(self) -> AbstractContextManager[None]:
        """Plan the scan's files (`expect`) within this block: one write to the journal for
        them all, not one each (100,000 fsyncs before the first page is read)."""
        return self.journal.transaction()

    def is_done(self, file: str) -> bool:
        """Whether `file` is in the output already: by the name there, or as the same file."""
        return file in self.kept_names or same_file_key(file) in self.kept

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

    def expect(self, file: str, pages: int) -> list[int]:
        """`file` will be read now, in this order, and has `pages` pages: the pages to read
        (those an interrupted scan did not get back)."""
        self.journal.expect(file, pages)
        back = self.journal.pages_back(file)
        fields, flagged = self.journal.counts(file) if back else (0, 0)
        self.reading[file] = FileProgress(pages - len(back), fields, flagged)
        if not self.reading[file].pages_left:  # killed between its last page and its end
            self._file_done(file)
        return [page for page in range(1, pages + 1) if page not in back]

    def finish(self, result: PageResult) -> None:
        """A page is back: into the journal at once; when it is its file's last, the file's
        rows go into the output (at the next commit)."""
        self.summary.pages += 1
        for stage, seconds in result.seconds.items():
            self.summary.seconds[stage] = self.summary.seconds.get(stage, 0.0) + seconds
        entries = [Entry(result=f) for f in result.fields]
        self._journal(
            lambda: self.journal.add_page(result.file, result.page, entries, result.error)
        )
        self.listener.page_done()
        progress = self.reading[result.file]
        if result.error:
            self.fail(result.file, result.page, result.error, count_file=False)
            progress.failed = True
        progress.fields += len(entries)
        progress.flagged += sum(e.result.needs_review for e in entries)
        progress.pages_left -= 1
        if progress.pages_left == 0:
            self._file_done(result.file)

    def _file_done(self, file: str) -> None:
        progress = self.reading.pop(file)
        self.summary.failed += progress.failed
        self.summary.files += 1
        self.summary.fields += progress.fields
        self.summary.flagged += progress.flagged
        self._journal(lambda: self.journal.finish_file(file, keep=progress.fields > 0))
        self.listener.file_done()
        self.commit()

    def fail(self, file: str, page: int | None, reason: str, count_file: bool = True) -> None:
        self.errors.append((file, page, reason))
        if count_file:
            self.summary.failed += 1
        self.listener.report(writable_text(f"{file}: {reason}"))  # named as in the CSV

    def commit(self, force: bool = False) -> None:
        """Write the output and the errors CSV (atomically) from the journal: at most every
        COMMIT_INTERVAL_S, and never more than a tenth of the time (writing a large output
        takes longer than its interval: the interval grows with it)."""
        interval = max(COMMIT_INTERVAL_S, COMMIT_SHARE * self.commit_seconds)
        if not force and time.monotonic() - self.last_commit < interval:
            return
        started = time.monotonic()
        self._take_decisions_saved_since()
        try:
            write_output(
                self.journal.entries(),
                self.out,
                self.layout,
                self.columns,
                self.errors,
                reviewed=self.journal.reviewed(),
            )
            write_errors(self.errors, self.errors_path)
        except OSError as error:
            raise UsageError(
                f"cannot write {error.filename or self.out}: {error.strerror or error}"
            ) from None
        self.written = _signature(self.out)
        self.last_commit = time.monotonic()
        self.commit_seconds = self.last_commit - started

    def complete(self) -> None:
        """Every page was read: the last commit, and the journal is no longer needed."""
        self.commit(force=True)
        self.journal.remove()

    def _journal(self, change: Callable[[], None]) -> None:
        try:
            change()
        except sqlite3.Error as error:  # the disk is full, the folder gone
            raise UsageError(f"cannot write {self.journal.path}: {error}") from None

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
        self._journal(
            lambda: self.journal.decide({_row_key(e): e.decision for e in on_disk.entries})
        )


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
