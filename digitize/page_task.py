"""One page of a scan as a unit of work: load it, read it, turn its fields into records and
save their crops. Runs in whichever process the executor chose; never raises for a bad page.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

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
    path: str | None = None  # where to open `file`, when not as given (a cluster's worker)


@dataclass
class PageResult:
    file: str
    page: int
    fields: list[FieldResult] = field(default_factory=list)
    error: str | None = None
    seconds: dict[str, float] = field(default_factory=dict)  # load, segment, classify, labels


def run_page_task(task: PageTask, classifier: Classifier) -> PageResult:
    result = PageResult(file=task.file, page=task.page)
    started = time.perf_counter()
    try:
        page = load_page(task.path or task.file, task.page, task.dpi)
    except InputError as error:
        result.error = str(error)
        return result
    except OSError as error:  # removed or made unreadable since it was counted
        result.error = f"page {task.page}: cannot read file ({error.strerror or error})"
        return result
    loaded = time.perf_counter() - started
    try:
        reading = read_page(page, classifier, task.params)
        labelling = time.perf_counter()
        labels = _labels(task, reading)
        labelled = time.perf_counter() - labelling
        result.fields = _with_crops(task, page, reading, _records(task, page, reading, labels))
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
    result.seconds = {"load": loaded, **reading.seconds, "labels": labelled}
    return result


def _labels(task: PageTask, reading: PageReading) -> list[str]:
    """The fields' printed labels; none under a template (its names are the labels)."""
    if not task.labels or task.template is not None:
        return [""] * len(reading.fields)
    # Ink outside every box is no part of the form's layout: it would take a box's label.
    boxed = [f for f in reading.fields if f.kind != "unboxed"]
    labels = iter(read_labels(replace(reading, fields=boxed)) if boxed else [])
    return ["" if f.kind == "unboxed" else next(labels) for f in reading.fields]


def _records(
    task: PageTask, page: Page, reading: PageReading, labels: list[str]
) -> list[FieldResult]:
    """The page's rows: its fields as read, labelled; under a template, the template's."""
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
        kind=found.kind,
        label=label,
    )


def _with_crops(
    task: PageTask, page: Page, reading: PageReading, rows: list[FieldResult]
) -> list[FieldResult]:
    """Each row with its saved image, when crops are asked for: a field found as the reader
    saw it; a template's field not found, the page where its box should be. Only rows get
    crops: a field the template dropped leaves no file behind."""
    if task.crops is None:
        return rows
    found = {reading_field.field: n for n, reading_field in enumerate(reading.fields)}
    saved = []
    for row in rows:
        if row.field in found:
            path = _save_crop(reading, found[row.field], task)
        else:
            path = save_crop(task.crops, task.file, task.page, row.field, _page_area(page, row))
        saved.append(replace(row, crop=str(path)))
    return saved


def _page_area(page: Page, row: FieldResult) -> np.ndarray:
    """The input page under a row's box (fractions), a little round it."""
    height, width = page.image.shape[:2]
    x0, y0, x1, y1 = row.box
    pad = 0.01
    top, bottom = int(max(0.0, y0 - pad) * height), int(min(1.0, y1 + pad) * height)
    left, right = int(max(0.0, x0 - pad) * width), int(min(1.0, x1 + pad) * width)
    return page.image[top : max(bottom, top + 1), left : max(right, left + 1)]


def _save_crop(reading: PageReading, number: int, task: PageTask) -> Path:
    assert task.crops is not None
    found = reading.fields[number]
    return save_crop(task.crops, task.file, task.page, found.field, reading.field_image(found))
