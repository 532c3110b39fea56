"""`digitize scan`: a batch of files in, one CSV row per field out.

Files are counted first (a file that cannot be read fails here, with its reason), then every
page is a task for a worker process holding its own copy of the model. Each finished file is
committed to the output CSV at once, atomically, so an interruption loses nothing and
`--resume` redoes nothing that was committed.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

import cv2

from digitize.classifier import DigitClassifier, ModelError
from digitize.model_files import MODEL_NAME, active_model_dir
from digitize.output import COLUMNS, ERROR_COLUMNS, read_entries, write_csv
from digitize.pages import InputError, count_pages, expand_inputs, load_page
from digitize.reading import DEFAULT_REVIEW_BELOW, field_image, read_fields, segment_page
from digitize.tensorflow_startup import quiet_tensorflow_startup

COMMIT_INTERVAL_S = 1.0  # rewrite the output at most this often while files complete


class OutputError(Exception):
    """`--resume` cannot use the existing output; the message is one line for the user."""


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
    model_dir: Path | None = None

    @property
    def errors_path(self) -> Path:
        return self.errors or self.out.with_name(f"{self.out.stem}-errors.csv")


@dataclass
class PageResult:
    file: str
    page: int
    rows: list[dict] = field(default_factory=list)
    error: str | None = None
    seconds: dict[str, float] = field(default_factory=dict)  # load, segment, classify


@dataclass
class ScanSummary:
    files: int = 0
    skipped: int = 0  # already in the output (--resume)
    failed: int = 0
    pages: int = 0
    fields: int = 0
    flagged: int = 0
    seconds: dict[str, float] = field(default_factory=lambda: {"load": 0.0, "segment": 0.0, "classify": 0.0})

    def describe(self, out: Path, errors: Path) -> str:
        text = (f"Read {self.files} files ({self.pages} pages): {self.fields} fields, "
                f"{self.flagged} flagged for review -> {out}")
        if self.skipped:
            text += f"; {self.skipped} files already in {out.name} skipped"
        if self.failed:
            text += f"; {self.failed} files had errors, listed in {errors}"
        return text


# Progress callback: (event, amount) with event "files_total", "pages_total", "file", "page",
# and a message callback for one-line errors.
Progress = Callable[[str, int], None]
Report = Callable[[str], None]


def scan(options: ScanOptions, progress: Progress | None = None, report: Report | None = None) -> ScanSummary:
    model_dir = options.model_dir or active_model_dir()
    if not (model_dir / MODEL_NAME).is_file():
        raise ModelError(f"{model_dir / MODEL_NAME}: no digit model there (run `digitize retrain`)")
    batch = _Batch(options, progress or (lambda event, amount: None), report or (lambda message: None))
    tasks = batch.plan()
    batch.commit(force=True)  # an unwritable --out fails now, before a page is read
    try:
        settings = (options.dpi, options.review_below, options.crops)
        workers = min(options.workers or os.cpu_count() or 1, max(1, len(tasks)))
        if workers <= 1:
            _start_worker(model_dir)
            for file, number in tasks:
                batch.finish(read_page(file, number, *settings))
        else:
            _run_in_pool(tasks, settings, model_dir, workers, batch.finish)
    finally:
        batch.commit(force=True)  # also on Ctrl-C: every finished file is kept
    return batch.summary


class _Batch:
    """The state of one scan: which files are done (their rows), which failed, which pages
    of the files in progress have come back; and the output files that record it."""

    def __init__(self, options: ScanOptions, progress: Progress, report: Report):
        self.options, self.progress, self.report = options, progress, report
        self.summary = ScanSummary()
        self.committed: dict[str, list[dict]] = {}  # file -> its rows, in the output
        if options.resume and options.out.is_file():
            self.committed = _committed_rows(options.out)
        self.errors: list[dict] = []
        self.position: dict[str, int] = {}  # input order of the files read now
        self.pages_of: dict[str, int] = {}
        self.pending: dict[str, dict[int, PageResult]] = {}  # file -> pages back so far
        self.last_commit = 0.0

    def plan(self) -> list[tuple[str, int]]:
        """The pages to read, as (file, page) tasks; unreadable inputs fail here."""
        inputs = expand_inputs(self.options.inputs)
        for argument, reason in inputs.missing:
            self.fail(argument, None, reason)
        todo = [f for f in inputs.files if f not in self.committed]
        self.position = {file: index for index, file in enumerate(todo)}
        self.summary.skipped = len(inputs.files) - len(todo)
        self.progress("files_total", len(todo))
        tasks: list[tuple[str, int]] = []
        for file in todo:
            try:
                self.pages_of[file] = count_pages(file, self.options.dpi)
            except InputError as error:
                self.fail(file, None, str(error))
                self.progress("file", 1)
                continue
            except OSError as error:
                self.fail(file, None, f"cannot read file ({error.strerror or error})")
                self.progress("file", 1)
                continue
            tasks.extend((file, number) for number in range(1, self.pages_of[file] + 1))
            self.pending[file] = {}
        self.progress("pages_total", len(tasks))
        return tasks

    def finish(self, result: PageResult) -> None:
        """A page is back; when it is its file's last, the file's rows are committed."""
        self.summary.pages += 1
        for stage, seconds in result.seconds.items():
            self.summary.seconds[stage] += seconds
        self.progress("page", 1)
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
        rows = [row for p in pages for row in p.rows]
        self.summary.files += 1
        self.summary.fields += len(rows)
        self.summary.flagged += sum(row["needs_review"] == "true" for row in rows)
        if rows:
            self.committed[result.file] = rows
        self.progress("file", 1)
        self.commit()

    def commit(self, force: bool = False) -> None:
        """Write the output and errors CSVs (atomically), at most every COMMIT_INTERVAL_S."""
        if not force and time.monotonic() - self.last_commit < COMMIT_INTERVAL_S:
            return
        # Kept files first, then input order, whatever order the workers finish in.
        files = sorted(self.committed, key=lambda file: self.position.get(file, -1))
        write_csv([row for file in files for row in self.committed[file]], self.options.out, COLUMNS)
        write_csv(self.errors, self.options.errors_path, ERROR_COLUMNS)
        self.last_commit = time.monotonic()

    def fail(self, file: str, page: int | None, reason: str, count_file: bool = True) -> None:
        self.errors.append({"file": file, "page": page if page is not None else "", "error": reason})
        if count_file:
            self.summary.failed += 1
        self.report(f"{file}: {reason}")


def _committed_rows(out: Path) -> dict[str, list[dict]]:
    """The rows already in `out`, by file (rewritten by `write_csv` exactly as they were)."""
    if out.stat().st_size == 0:
        return {}  # e.g. made by `touch`: nothing done yet
    try:
        frame = read_entries(out)
    except ValueError as error:  # pandas' parse errors and UnicodeDecodeError are ValueErrors
        raise OutputError(f"--out {out}: cannot resume, not a CSV file ({error})") from None
    missing = [column for column in COLUMNS if column not in frame.columns]
    if missing:
        raise OutputError(f"--out {out}: cannot resume, not written by `digitize scan` "
                          f"(no column {', '.join(missing)})")
    return {file: rows.to_dict("records") for file, rows in frame.groupby("file", sort=False)}


def _run_in_pool(tasks, settings, model_dir: Path, workers: int, finish) -> None:
    # "spawn": TensorFlow is not fork-safe, and each worker loads its own model once.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_start_pool_worker,
                             initargs=(model_dir,)) as pool:
        futures: set[Future] = set()
        queue = iter(tasks)
        try:
            # Keep a bounded number of pages in flight: results come back in any order, and
            # a million-page batch must not queue a million futures.
            for task in queue:
                futures.add(pool.submit(read_page, *task, *settings))
                if len(futures) >= workers * 2:
                    done, futures = wait(futures, return_when=FIRST_COMPLETED)
                    for future in done:
                        finish(future.result())
            for future in futures:
                finish(future.result())
        except BaseException:
            for future in futures:
                future.cancel()
            raise


_classifier: DigitClassifier | None = None


def _start_worker(model_dir: Path) -> None:
    global _classifier
    if _classifier is None or _classifier.model_dir != model_dir:
        _classifier = DigitClassifier(model_dir)


def _start_pool_worker(model_dir: Path) -> None:
    # The processes are the parallelism: workers each using every core for OpenCV and
    # TensorFlow as well fight over them (56 sample pages, 2 workers on 2 cores: 21.0 s
    # with all threads, 19.3 s with one each).
    cv2.setNumThreads(1)
    with quiet_tensorflow_startup():
        import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    _start_worker(model_dir)


def read_page(file: str, number: int, dpi: int, review_below: float, crops: Path | None) -> PageResult:
    """Read one page into rows. Runs in a worker; never raises for a bad page."""
    result = PageResult(file=file, page=number)
    started = time.perf_counter()
    try:
        page = load_page(file, number, dpi)
    except InputError as error:
        result.error = str(error)
        return result
    loaded = time.perf_counter()
    try:
        segmented = segment_page(page.image)
        digits = segmented.images
        segmented_at = time.perf_counter()
        probabilities = _classifier.probabilities(digits)  # one batched call for the page
        classified = time.perf_counter()
        readings = read_fields(segmented, probabilities, review_below)
    except Exception as error:  # a bug must cost one page, not the batch; say which page
        result.error = f"page {number}: internal error while reading ({type(error).__name__}: {error})"
        return result
    result.seconds = {
        "load": loaded - started,
        "segment": segmented_at - loaded,
        "classify": classified - segmented_at,
    }
    for reading in readings:
        crop = ""
        if crops is not None:
            crop = str(_save_crop(field_image(segmented, reading), reading, file, number, crops))
        result.rows.append({
            "file": file,
            "page": number,
            "field": reading.field,
            "value": reading.value,
            "confidence": round(reading.confidence, 4),
            "needs_review": "true" if reading.needs_review else "false",
            "x0": reading.box[0], "y0": reading.box[1], "x1": reading.box[2], "y1": reading.box[3],
            "digit_confidences": ";".join(f"{c:.4f}" for c in reading.digit_confidences),
            "crop": crop,
        })
    return result


def crop_name(file: str, page: int, field_name: str) -> str:
    """A file name for a field's crop, unique per (file, page, field) within one batch."""
    stem = str(Path(file).with_suffix("")).strip("/").replace("/", "__").replace("..", "up")
    return f"{stem}-p{page}-{field_name}.png"


def _save_crop(image, reading, file: str, page: int, crops: Path) -> Path:
    crops.mkdir(parents=True, exist_ok=True)
    path = crops / crop_name(file, page, reading.field)
    cv2.imwrite(str(path), image)
    return path
