"""Where a scan's page tasks run: in this process, or in a pool of worker processes each
holding its own classifier. Both behind one interface, so the batch does not care.

The classifier is built from a `ClassifierLoader` in the process that uses it, and only when
there is a page to read: a batch whose inputs all fail never loads TensorFlow.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Protocol

from digitize.classifier import Classifier, ClassifierLoader
from digitize.errors import DataError, DigitizeError
from digitize.page_task import PageResult, PageTask, run_page_task

LOADING_MODEL = "loading model…"

Finish = Callable[[PageResult], None]
Status = Callable[[str], None]


class Executor(Protocol):
    def run(self, tasks: Iterable[PageTask], finish: Finish) -> None:
        """Run every task, calling `finish` in this process with each result as it comes."""


class SerialExecutor:
    """Every page in this process, one after another."""

    def __init__(self, loader: ClassifierLoader, status: Status):
        self.loader, self.status = loader, status
        self._classifier: Classifier | None = None

    def run(self, tasks: Iterable[PageTask], finish: Finish) -> None:
        for task in tasks:
            if self._classifier is None:
                self.status(LOADING_MODEL)
                self._classifier = self.loader()
                self.status("")
            finish(run_page_task(task, self._classifier))


class PoolExecutor:
    """Pages spread over worker processes; results come back in any order."""

    def __init__(self, loader: ClassifierLoader, workers: int, status: Status):
        self.loader, self.workers, self.status = loader, workers, status

    def run(self, tasks: Iterable[PageTask], finish: Finish) -> None:
        queue = iter(tasks)
        first = next(queue, None)
        if first is None:
            return  # no worker started, no model loaded
        self.status(f"{LOADING_MODEL} ({self.workers} workers)")
        # "spawn": TensorFlow is not fork-safe, and each worker loads its own model once.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(
            self.workers, mp_context=context, initializer=_start_worker, initargs=(self.loader,)
        ) as pool:
            futures: set[Future[PageResult]] = {pool.submit(_run, first)}
            try:
                # Keep a bounded number of pages in flight: a million-page batch must not
                # queue a million futures.
                for task in queue:
                    futures.add(pool.submit(_run, task))
                    if len(futures) >= self.workers * 2:
                        done, futures = wait(futures, return_when=FIRST_COMPLETED)
                        self._finish(done, finish)
                while futures:
                    done, futures = wait(futures, return_when=FIRST_COMPLETED)
                    self._finish(done, finish)
            except BrokenProcessPool:
                raise DataError(
                    "a worker process died (out of memory?); finished files are "
                    "kept: rerun with --resume"
                ) from None
            except BaseException:
                for future in futures:
                    future.cancel()
                raise

    def _finish(self, done: set[Future[PageResult]], finish: Finish) -> None:
        for future in done:
            self.status("")
            finish(future.result())


def make_executor(loader: ClassifierLoader, workers: int, status: Status) -> Executor:
    if workers <= 1:
        return SerialExecutor(loader, status)
    return PoolExecutor(loader, workers, status)


_classifier: Classifier | None = None  # the worker process's own
# Why the worker has no classifier (a damaged model): raised again by every task, so the
# batch gets the one-line error instead of a broken pool and a traceback per worker.
_start_error: DigitizeError | None = None


def _start_worker(loader: ClassifierLoader) -> None:
    global _classifier
    # The processes are the parallelism: workers each using every core for OpenCV and
    # TensorFlow as well fight over them (56 sample pages, 2 workers on 2 cores: 21.0 s
    # with all threads, 19.3 s with one each).
    import cv2

    cv2.setNumThreads(1)
    global _start_error
    try:
        _classifier = loader(threads=1)
    except DigitizeError as error:
        _start_error = error


def _run(task: PageTask) -> PageResult:
    if _start_error is not None:
        raise _start_error
    assert _classifier is not None, "worker started without its classifier"
    return run_page_task(task, _classifier)
