"""`digitize review` as a library function, like `scan()` and `retrain()`: load the entries,
take the decisions (a corrections CSV, or a person in the review page), then export the
labelled digits for `digitize retrain --extra-digits`.

Errors are DigitizeError subclasses with one-line messages (the CLI prints them); nothing here
exits the process or prints except through `announce` and `warn`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from digitize.classifier import ClassifierLoader, KerasModel
from digitize.errors import DigitizeError
from digitize.exit_codes import ExitCode
from digitize.model_files import active_model_dir
from digitize.output_formats import check_reviewable
from digitize.output_lock import ReviewLock
from digitize.records import Entry
from digitize.review.corrections import ApplyResult, apply_corrections
from digitize.review.crops import CropSource
from digitize.review.export import ExportResult, default_digits_dir, export_digits
from digitize.review.server import Stopped, serve_until_finished
from digitize.review.source import SourcePages
from digitize.review.store import ReviewError, ReviewStore


class ReviewInterrupted(DigitizeError):
    """A second Ctrl-C while stopping, or Ctrl-C while exporting: the decisions are saved."""

    exit_code = ExitCode.INTERRUPTED


@dataclass(frozen=True)
class ReviewOptions:
    entries: Path  # an entries CSV written by `digitize scan`
    review_all: bool = False  # every field, not only the flagged ones
    apply: Path | None = None  # merge this corrections CSV instead of serving the page
    export_digits: Path | None = None  # default: <entries stem>-digits beside the CSV
    group_by_digit: bool = False  # the page starts grouped by the least certain digit
    reopen: bool = False  # open the page even when every field is decided, to change some
    dpi: int = 300  # for re-reading PDF pages whose crops were not saved
    classifier: ClassifierLoader | None = None  # for re-read fields; default the active model

    @property
    def digits_dir(self) -> Path:
        return self.export_digits or default_digits_dir(self.entries)


@dataclass
class ReviewSummary:
    entries: Path
    total: int = 0  # fields to review
    done: int = 0  # of those, decided (after this review)
    applied: ApplyResult | None = None  # --apply
    served: Stopped | None = None  # the page was served, and how it stopped
    decisions: int = 0  # made in the page
    cleared: int = 0  # decisions set back to undecided in the page
    review_all: bool = False
    exported: ExportResult | None = None  # None: no field labels digits

    def describe(self) -> str:
        """The summary, a line each: what was decided, then what was exported."""
        if self.applied is not None:
            lines = [self.applied.describe(self.entries)]
        elif self.served is not None:
            text = f"Saved {self.decisions} decisions to {self.entries}"
            if self.cleared:
                text += f" ({self.cleared} cleared)"
            lines = [text]
        else:
            which = "fields" if self.review_all else "flagged fields (--all reviews every field)"
            lines = [
                f"Nothing to review in {self.entries}: {self.total} {which}, {self.done} "
                "reviewed (--reopen changes decisions)"
            ]
        if self.exported is not None:
            lines.append(self.exported.describe())
        return "\n".join(lines)


def review(
    options: ReviewOptions, announce: Callable[[str], None], warn: Callable[[str], None]
) -> ReviewSummary:
    """Take the decisions on an entries CSV, then export the labelled digits.

    `announce` gets the review page's URL line (the CLI prints it on stdout, where a script
    can read it); `warn` gets one line per problem that does not stop the review (a bad
    corrections row, a source file not found). Returns when Finish is pressed in the page,
    on Ctrl-C or SIGTERM, or at once with --apply or nothing to review. One review at a
    time: a second on the same CSV is a UsageError (each saves the decisions it holds)."""
    check_reviewable(options.entries)  # a workbook or a wide output: said before any lock
    with ReviewLock(options.entries):  # before reading: no other review saves it now
        return _review(options, announce, warn)


def _review(
    options: ReviewOptions, announce: Callable[[str], None], warn: Callable[[str], None]
) -> ReviewSummary:
    entries = options.entries
    store = ReviewStore.load(entries, review_all=options.review_all)
    loader = options.classifier or KerasModel(active_model_dir())  # loaded only when needed
    pages = SourcePages(entries, loader, dpi=options.dpi, warn=warn)
    done, total = store.counts()
    summary = ReviewSummary(entries=entries, total=total, done=done, review_all=options.review_all)
    try:
        if options.apply is not None:
            summary.applied = apply_corrections(store, options.apply, warn)
        elif done < total or (options.reopen and total):
            order = "digit" if options.group_by_digit else "confidence"
            summary.served = serve_until_finished(store, CropSource(store, pages), order, announce)
    except OSError as error:  # the CSV cannot be saved, the port cannot be opened
        raise ReviewError(f"{error.filename or entries}: {error.strerror or error}") from None
    except KeyboardInterrupt:  # a second Ctrl-C while stopping
        raise ReviewInterrupted(f"interrupted; the decisions are saved in {entries}") from None
    summary.decisions, summary.cleared = store.decisions, store.cleared
    summary.done, summary.total = store.counts()
    labelled = store.labelled()
    if labelled:
        summary.exported = _export(labelled, pages, options.digits_dir)
    return summary


def _export(labelled: list[Entry], pages: SourcePages, directory: Path) -> ExportResult:
    try:
        return export_digits(labelled, pages, directory)
    except OSError as error:
        raise ReviewError(
            f"cannot write {error.filename or 'the digits'}: {error.strerror or error}"
        ) from None
    except KeyboardInterrupt:
        raise ReviewInterrupted(
            "interrupted while exporting digits; the decisions are saved, "
            "run `digitize review` again to export"
        ) from None
