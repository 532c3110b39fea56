"""What a scan tells whoever runs it while it runs: totals, pages and files done, what it is
waiting for, and one line per problem. `ScanListener` is the interface; `ScanProgress` draws
it as bars on stderr, `QuietListener` drops it (library use, tests)."""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Protocol


class ScanListener(Protocol):
    def files_total(self, files: int) -> None:
        """How many files will be read (after --resume skipped those done)."""

    def pages_total(self, pages: int) -> None:
        """How many pages they hold."""

    def page_done(self) -> None: ...

    def file_done(self) -> None: ...

    def status(self, text: str) -> None:
        """What the scan is waiting for now ("loading model…"); "" when it is reading."""

    def report(self, message: str) -> None:
        """A problem with one input, as one line; the batch goes on."""


class QuietListener:
    """Listens to nothing (a scan run as a library call)."""

    def files_total(self, files: int) -> None:
        pass

    def pages_total(self, pages: int) -> None:
        pass

    def page_done(self) -> None:
        pass

    def file_done(self) -> None:
        pass

    def status(self, text: str) -> None:
        pass

    def report(self, message: str) -> None:
        pass


class ScanProgress:
    """Two bars, files and pages, on stderr with the scan's status beside them; problems are
    printed as lines above the bars."""

    def __init__(self) -> None:
        # rich is imported here: `digitize --help` and library use should not pay for it.
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self.console = Console(stderr=True)
        self.bars = Progress(
            TextColumn("{task.description:>5}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[status]}"),
            console=self.console,
            disable=not sys.stderr.isatty(),  # logs get the error lines and the summary only
        )
        self.files = self.bars.add_task("files", total=None, status="")
        self.pages = self.bars.add_task("pages", total=None, status="")

    def __enter__(self) -> ScanProgress:
        self.bars.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.bars.stop()

    def files_total(self, files: int) -> None:
        self.bars.update(self.files, total=files)

    def pages_total(self, pages: int) -> None:
        self.bars.update(self.pages, total=pages)

    def page_done(self) -> None:
        self.bars.advance(self.pages, 1)

    def file_done(self) -> None:
        self.bars.advance(self.files, 1)

    def status(self, text: str) -> None:
        self.bars.update(self.pages, status=text)

    def report(self, message: str) -> None:
        # One line per problem, never wrapped, and file names are not rich markup.
        self.console.print(
            f"digitize: {message}", markup=False, highlight=False, soft_wrap=True, style=None
        )
