"""One page of a scan as a unit of work: load it, read it, turn its fields into records and
save their crops. Runs in whichever process the executor chose; never raises for a bad page.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from digitize.classifier import Classifier
from digitize.errors import InputError
from digitize.labels import read_labels
from digitize.output import save_crop, writable_text
from digitize.pages import Page, load_page
from digitize.reading import PageReading, ReadParams, read_page
from digitize.records import FieldResult
from digitize.template import Template
from digitize.templated import apply_template


@dataclass(frozen=True)
class PageTask:
    file: str
    page: int  # 1-based
    dpi: int  # for rasterizing PDFs
    params: ReadParams
    crops: Path | None = None  # save each field's image here
    template: Template | None = None  # name the fields by it, check its rules
    labels: bool = True  # read the printed labels (tesseract); a template's names replace them


@dataclass
class PageResult:
    file: str
    page: int
    fields: list[FieldResult] = field(default_factory=list)
    error: str | None = None
    seconds: dict[str, float] = field(default_factory=dict)  # load, segment, classify


def run_page_task(task: PageTask, classifier: Classifier) -> PageResult:
    result = PageResult(file=task.file, page=task.page)
    started = time.perf_counter()
    try:
        page = load_page(task.file, task.page, task.dpi)
    except InputError as error:
        result.error = str(error)
        return result
    except OSError as error:  # removed or made unreadable since it was counted
        result.error = f"page {task.page}: cannot read file ({error.strerror or error})"
        return result
    loaded = time.perf_counter() - started
    try:
        reading = read_page(page, classifier, task.params)
        result.fields = _records(task, page, reading)
    except OSError as error:  # a crop not written (disk full, folder gone): the page failed
        result.fields = []
        where = writable_text(str(error.filename or task.crops))
        result.error = f"page {task.page}: cannot write the crop {where} ({error.strerror})"
        return result
    except Exception as error:  # a bug must cost one page, not the batch; say which page
        result.fields = []
        result.error = (
            f"page {task.page}: internal error while reading ({type(error).__name__}: {error})"
        )
        return result
    result.seconds = {"load": loaded, **reading.seconds}
    return result


def _records(task: PageTask, page: Page, reading: PageReading) -> list[FieldResult]:
    """The page's rows: its fields as read, labelled; under a template, the template's."""
    labels = [""] * len(reading.fields)
    if task.labels and task.template is None:
        labels = read_labels(reading)
    records = [_record(task, reading, n, labels[n]) for n in range(len(reading.fields))]
    if task.template is None:
        return records
    height, width = page.image.shape[:2]
    blank = FieldResult(
        task.file, task.page, "", "", 0.0, (), (0, 0, 0, 0), task.params.review_below
    )
    return apply_template(
        task.template,
        blank,
        records,
        [found.digit_probabilities for found in reading.fields],
        aspect=height / width,
    )


def _record(task: PageTask, reading: PageReading, number: int, label: str) -> FieldResult:
    found = reading.fields[number]
    crop = ""
    if task.crops is not None:
        crop = str(_save_crop(reading, number, task))
    return FieldResult(
        file=task.file,
        page=task.page,
        field=found.field,
        value=found.value,
        confidence=found.confidence,
        digit_confidences=tuple(found.digit_confidences),
        box=found.box,
        review_below=task.params.review_below,
        reasons=found.reasons,
        crop=crop,
        kind=found.kind,
        label=label,
    )


def _save_crop(reading: PageReading, number: int, task: PageTask) -> Path:
    assert task.crops is not None
    found = reading.fields[number]
    return save_crop(task.crops, task.file, task.page, found.field, reading.field_image(found))
