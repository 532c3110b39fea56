"""Progress bars over files and pages for `digitize scan`, on stderr."""

from __future__ import annotations

import sys

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn


class ScanProgress:
    """Feeds `scan`'s progress events into two bars; prints error lines above them."""

    def __init__(self) -> None:
        self.console = Console(stderr=True)
        self.bars = Progress(
            TextColumn("{task.description:>5}"), BarColumn(), MofNCompleteColumn(),
            TimeRemainingColumn(), console=self.console,
            disable=not sys.stderr.isatty(),  # logs get the error lines and the summary only
        )
        self.files = self.bars.add_task("files", total=None)
        self.pages = self.bars.add_task("pages", total=None)

    def __enter__(self) -> ScanProgress:
        self.bars.start()
        return self

    def __exit__(self, *exc) -> None:
        self.bars.stop()

    def update(self, event: str, amount: int) -> None:
        if event == "files_total":
            self.bars.update(self.files, total=amount)
        elif event == "pages_total":
            self.bars.update(self.pages, total=amount)
        elif event == "file":
            self.bars.advance(self.files, amount)
        elif event == "page":
            self.bars.advance(self.pages, amount)

    def report(self, message: str) -> None:
        # One line per problem, never wrapped, and file names are not rich markup.
        self.console.print(f"digitize: {message}", markup=False, highlight=False,
                           soft_wrap=True, style=None)
