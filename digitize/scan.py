"""`digitize scan`: a batch of files in, one CSV row per field out.

    check options -> count pages (unreadable files fail here) -> run page tasks -> commit

The steps live in their own modules: `page_task` reads one page, `executor` runs the tasks
(here or in worker processes), `batch` keeps the state and writes the CSVs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from digitize.batch import Batch, ScanSummary
from digitize.classifier import ClassifierLoader, KerasModel
from digitize.decision import DEFAULT_REVIEW_BELOW
from digitize.errors import InputError, UsageError
from digitize.executor import connect_cluster, make_executor
from digitize.interrupts import terminate_as_interrupt
from digitize.labels import tesseract_missing
from digitize.model_files import active_model_dir
from digitize.output import check_writable_folder, same_file
from digitize.page_task import PageTask
from digitize.pages import count_pages, expand_inputs
from digitize.progress import QuietListener, ScanListener
from digitize.reading import ReadParams
from digitize.template import Template, load_template
from digitize.wide_layout import Layout

__all__ = ["ScanOptions", "ScanSummary", "scan"]


@dataclass(frozen=True)
class ScanOptions:
    inputs: list[str]
    out: Path
    errors: Path | None = None  # default: <out stem>-errors.csv beside the output
    dpi: int = 300
    review_below: float = DEFAULT_REVIEW_BELOW
    crops: Path | None = None
    resume: bool = False
    workers: int | None = None  # default: the machine's cores
    model_dir: Path | None = None  # default: the active model (retrained, else shipped)
    template: Path | None = None  # name the fields by this form template (digitize.template)
    labels: bool = True  # read each field's printed label (tesseract)
    layout: Layout = Layout.LONG  # a row per field, or per page (digitize.wide_layout)
    cluster: str | None = None  # a Dask scheduler's address: its workers read the pages
    classifier: ClassifierLoader | None = field(default=None, compare=False)  # overrides model_dir

    def __post_init__(self) -> None:
        object.__setattr__(self, "layout", Layout.parse(self.layout))  # "wide" as well

    @property
    def errors_path(self) -> Path:
        return self.errors or self.out.with_name(f"{self.out.stem}-errors.csv")

    def loader(self) -> ClassifierLoader:
        return self.classifier or KerasModel(self.model_dir or active_model_dir())


def scan(options: ScanOptions, listener: ScanListener | None = None) -> ScanSummary:
    """Ctrl-C, and SIGTERM as it (`kill`, a service manager), stop the workers and raise
    KeyboardInterrupt with every finished file in the output."""
    listener = listener or QuietListener()
    check_outputs(options)
    template = load_template(options.template) if options.template is not None else None
    loader = options.loader()
    loader.check()  # a missing model is said now, not after counting a thousand files
    with (
        terminate_as_interrupt(),
        connect_cluster(options.cluster, loader, listener.status) as cluster,
        Batch(options.out, options.errors_path, listener, options.resume, options.layout) as batch,
    ):
        tasks = plan(options, batch, listener, template)
        batch.commit(force=True)  # an unwritable --out fails now, before a page is read
        batch.summary.model = loader.describe()
        workers = min(options.workers or os.cpu_count() or 1, max(1, len(tasks)))
        try:
            executor = cluster or make_executor(loader, workers, listener.status)
            executor.run(tasks, batch.finish)
        except BaseException:
            batch.commit(force=True)  # also on Ctrl-C: every finished file is kept
            raise
        batch.complete()
    return batch.summary


def check_outputs(options: ScanOptions) -> None:
    """Output paths that cannot work are usage errors, before anything is read."""
    out = options.out
    if out.is_dir():
        raise UsageError(f"--out {out}: is a directory; give the CSV file to write")
    files_as_folders = [p for p in out.parents if p.exists() and not p.is_dir()]
    if files_as_folders:
        raise UsageError(f"--out {out}: {files_as_folders[0]} is a file, not a folder")
    if options.crops is not None and options.crops.exists() and not options.crops.is_dir():
        raise UsageError(f"--crops {options.crops}: is a file; give a folder for the crops")
    if same_file(options.errors_path, out):
        raise UsageError(f"--errors {options.errors_path}: is the same file as --out")
    if options.resume and options.layout is Layout.WIDE:
        raise UsageError(
            "--resume needs --layout long: a wide output cannot be read back into fields"
        )
    if options.crops is not None:
        check_writable_folder(options.crops, "--crops")


def plan(
    options: ScanOptions, batch: Batch, listener: ScanListener, template: Template | None = None
) -> list[PageTask]:
    """The pages to read, in input order; unreadable inputs fail here, before any model."""
    inputs = expand_inputs(options.inputs)
    batch.check_not_inputs(inputs.files)
    for argument, reason in inputs.missing:
        batch.fail(argument, None, reason)
    todo = [file for file in inputs.files if not batch.is_done(file)]
    batch.summary.skipped = len(inputs.files) - len(todo)
    listener.files_total(len(todo))
    params = ReadParams(review_below=options.review_below)
    labels = options.labels and template is None and _labels_readable(listener)
    tasks: list[PageTask] = []
    with batch.planning():
        for file in todo:
            tasks.extend(_plan_file(file, options, batch, listener, template, params, labels))
    listener.pages_total(len(tasks))
    return tasks


def _plan_file(
    file: str,
    options: ScanOptions,
    batch: Batch,
    listener: ScanListener,
    template: Template | None,
    params: ReadParams,
    labels: bool,
) -> list[PageTask]:
    """The pages of `file` to read; none when it cannot be read (said in the errors)."""
    try:
        pages = count_pages(file, options.dpi)
    except InputError as error:
        batch.fail(file, None, str(error))
        listener.file_done()
        return []
    except OSError as error:
        batch.fail(file, None, f"cannot read file ({error.strerror or error})")
        listener.file_done()
        return []
    return [
        PageTask(file, number, options.dpi, params, options.crops, template, labels)
        for number in batch.expect(file, pages)
    ]


def _labels_readable(listener: ScanListener) -> bool:
    """Whether printed labels can be read here; said once when they cannot."""
    reason = tesseract_missing()
    if reason is not None:
        listener.report(reason)
    return reason is None
