"""The scan's journal (digitize/journal.py): every page on disk as it comes back, so a scan
killed between two writes of its output loses nothing and reads nothing twice on --resume;
the output is written from it now and then, not after every file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import digitize.batch
import digitize.page_task
from digitize.batch import Batch
from digitize.errors import UsageError
from digitize.journal import Journal, journal_path
from digitize.output import read_table
from digitize.progress import QuietListener
from digitize.records import Entry, FieldResult, ReviewDecision, ReviewStatus
from digitize.scan import ScanOptions, scan
from synthetic_forms import form_page, write_image, write_pdf

pytestmark = pytest.mark.usefixtures("fake_classifier")


class Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs, the output is not written."""


@pytest.fixture
def forms(tmp_path, monkeypatch) -> list[str]:
    monkeypatch.chdir(tmp_path)
    write_image(tmp_path / "forms" / "a.png", form_page(("42", "7")))
    write_pdf(
        tmp_path / "forms" / "b.pdf",
        [form_page(("13",)), form_page(("5", "90")), form_page(("8",))],
    )
    write_image(tmp_path / "forms" / "c.png", form_page(("316",)))
    return ["forms/a.png", "forms/b.pdf", "forms/c.png"]


def options(files: list[str], out: str, resume: bool = False) -> ScanOptions:
    return ScanOptions(inputs=files, out=Path(out), dpi=150, workers=1, resume=resume)


def killed_after(pages: int, monkeypatch) -> QuietListener:
    """A listener that kills the scan when `pages` pages are back, with no output written
    after the first (empty) one: what a kill between two commits leaves."""
    written = {"n": 0}
    real_commit = Batch.commit

    def first_commit_only(self: Batch, force: bool = False) -> None:
        written["n"] += 1
        if written["n"] == 1:
            real_commit(self, force)

    monkeypatch.setattr(Batch, "commit", first_commit_only)
    return stopped_after(pages, Killed)


def stopped_after(pages: int, stop: type[BaseException] = KeyboardInterrupt) -> QuietListener:
    """A listener that raises `stop` when `pages` pages are back."""

    class StopAfter(QuietListener):
        back = 0

        def page_done(self) -> None:
            self.back += 1
            if self.back == pages:
                raise stop

    return StopAfter()


@pytest.mark.slow
def test_a_scan_killed_between_writes_resumes_from_its_journal(forms):
    scan(options(forms, "whole.csv"))
    with pytest.MonkeyPatch.context() as patch, pytest.raises(Killed):
        scan(options(forms, "e.csv"), killed_after(3, patch))  # a.png, b.pdf pages 1-2
    assert read_table(Path("e.csv")).empty  # the kill came before any row was written
    assert journal_path(Path("e.csv")).is_file()

    summary = scan(options(forms, "e.csv", resume=True))
    # a.png is kept; of b.pdf only its last page is read; c.png is new.
    assert (summary.skipped, summary.files, summary.pages) == (1, 2, 2)
    assert read_table(Path("e.csv")).equals(read_table(Path("whole.csv")))
    assert not journal_path(Path("e.csv")).exists()


@pytest.mark.slow
def test_without_resume_an_old_journal_is_forgotten(forms):
    with pytest.MonkeyPatch.context() as patch, pytest.raises(Killed):
        scan(options(forms, "e.csv"), killed_after(1, patch))
    summary = scan(options(forms, "e.csv"))
    assert (summary.skipped, summary.pages) == (0, 5)


@pytest.mark.slow
def test_a_failed_page_of_an_unfinished_file_is_read_again_on_resume(forms):
    real_read = digitize.page_task.read_page

    def second_page_fails(page, classifier, params):
        if page.number == 2:
            raise RuntimeError("a bug")
        return real_read(page, classifier, params)

    with pytest.MonkeyPatch.context() as patch, pytest.raises(Killed):
        patch.setattr(digitize.page_task, "read_page", second_page_fails)
        scan(options(forms, "e.csv"), killed_after(3, patch))  # b.pdf page 2 failed
    journal = Journal(Path("e.csv"), fresh=False)
    assert journal.pages_back("forms/b.pdf") == {1}
    journal.close()
    summary = scan(options(forms, "e.csv", resume=True))
    assert (summary.skipped, summary.pages, summary.failed) == (1, 3, 0)
    assert not Path("e-errors.csv").exists() or read_table(Path("e-errors.csv")).empty


@pytest.mark.slow
def test_the_output_is_not_rewritten_after_every_file(forms, monkeypatch):
    writes = []
    real = digitize.batch.write_output
    monkeypatch.setattr(digitize.batch, "COMMIT_INTERVAL_S", 3600.0)
    monkeypatch.setattr(
        digitize.batch, "write_output", lambda *a, **k: (writes.append(1), real(*a, **k))
    )
    scan(options(forms, "e.csv"))
    assert len(writes) == 2  # before the first page (is --out writable?), and at the end
    assert read_table(Path("e.csv"))["file"].unique().tolist() == forms


def test_a_damaged_journal_is_a_one_line_error_on_resume(forms):
    journal_path(Path("e.csv")).write_bytes(b"this is not SQLite, but long enough to be read" * 9)
    with pytest.raises(UsageError, match="not a scan's journal"):
        scan(options(forms, "e.csv", resume=True))


def test_rows_file_names_and_decisions_come_back_as_written(tmp_path):
    name = "forms/caf\udce9.png"  # a name that is not UTF-8, as os.fsdecode gives it
    result = FieldResult(
        name, 1, "field_1", "0042", 0.9871, (0.99, 0.9971), (0.1, 0.2, 0.3, 0.4), 0.9
    )
    journal = Journal(tmp_path / "e.csv", fresh=True)
    journal.expect(name, 1)
    journal.add_page(name, 1, [Entry(result)], None)
    journal.finish_file(name, keep=True)
    decision = ReviewDecision(ReviewStatus.CORRECTED, "0043")
    journal.decide({("forms/caf\\xe9.png", 1, "field_1"): decision})
    (entry,) = journal.entries()
    assert entry.result == result
    assert entry.decision == decision
    assert journal.done_files() == [name] and journal.reviewed()
    journal.remove()
    assert not list(tmp_path.iterdir())


@pytest.mark.slow
def test_a_name_that_is_not_utf8_is_not_kept_twice_on_resume(forms):
    """The output writes such a name with \\xNN escapes, the journal keeps its bytes: a file
    in both is one file."""
    odd = os.fsdecode(b"forms/caf\xe9.png")
    Path(forms[0]).rename(odd)
    files = [odd, *forms[1:]]
    with pytest.MonkeyPatch.context() as patch, pytest.raises(KeyboardInterrupt):
        patch.setattr(digitize.batch, "COMMIT_INTERVAL_S", 0.0)  # the output holds it
        scan(options(files, "e.csv"), stopped_after(2))
    scan(options(files, "e.csv", resume=True))
    rows = read_table(Path("e.csv"))
    assert rows["file"].value_counts().to_dict() == {
        "forms/caf\\xe9.png": 2,  # its two fields, once
        "forms/b.pdf": 4,
        "forms/c.png": 1,
    }
    assert rows["file"].unique().tolist() == ["forms/caf\\xe9.png", *forms[1:]]


@pytest.mark.slow
def test_a_file_read_again_keeps_its_place_in_input_order(forms):
    """b.pdf half read, then given another page: read anew, it is still between a and c."""
    with pytest.MonkeyPatch.context() as patch, pytest.raises(Killed):
        scan(options(forms, "e.csv"), killed_after(2, patch))
    write_pdf(Path("forms/b.pdf"), [form_page(("13",)), form_page(("5",))])
    summary = scan(options(forms, "e.csv", resume=True))
    assert (summary.skipped, summary.pages) == (1, 3)
    assert read_table(Path("e.csv"))["file"].unique().tolist() == forms
