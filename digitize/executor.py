"""Where a scan's page tasks run: in this process, or in a pool of worker processes each
holding its own classifier. Both behind one interface, so the batch does not care.

The classifier is built from a `ClassifierLoader` in the process that uses it, and only when
there is a page to read: a batch whose inputs all fail never loads TensorFlow.

A worker that dies (the out-of-memory killer, a crash in native code) costs its page, not
the batch: a broken pool fails every page in flight, so those are read again one at a time,
and only a page that kills a worker on its own fails ("a worker process died while reading
this page"); the pool is then started afresh for the rest.
"""

from __future__ import annotations

import multiprocessing
import signal
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from typing import Protocol

from digitize.classifier import Classifier, ClassifierLoader
from digitize.errors import DataError, DigitizeError
from digitize.page_task import PageResult, PageTask, run_page_task

LOADING_MODEL = "loading model…"
WORKER_DIED = "a worker process died while reading this page (out of memory?)"
# Pages in a row that each killed a worker on its own before the scan gives up: past a few,
# the workers die whatever they read (the model does not fit in memory, a broken install),
# and restarting one per page would only fail every page slowly.
DEATHS_IN_A_ROW = 3
STOP_WAIT_S = 10  # for a stopped worker to exit

Finish = Callable[[PageResult], None]
Status = Callable[[str], None]


class WorkerDeaths:
    """Pages handed back, and pages whose worker died reading them: each fails alone, and
    after DEATHS_IN_A_ROW of them in a row the scan stops (the same for every executor)."""

    def __init__(self, status: Status, died: str, dying: str, killed: str):
        self.status = status
        self.message, self.dying, self.killed = died, dying, killed  # the words of each executor
        self.in_a_row = 0

    def read(self, result: PageResult, finish: Finish) -> None:
        self.in_a_row = 0
        self.status("")
        finish(result)

    def died(self, task: PageTask, finish: Finish) -> None:
        self.in_a_row += 1
        self.status("")
        finish(
            PageResult(file=task.file, page=task.page, error=f"page {task.page}: {self.message}")
        )
        if self.in_a_row >= DEATHS_IN_A_ROW:
            raise DataError(
                f"{self.dying} ({self.in_a_row} pages in a row killed {self.killed}; "
                "out of memory?); finished files are kept: rerun with --resume"
            )


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
        self._pool: ProcessPoolExecutor | None = None  # the workers reading the batch
        self._alone: ProcessPoolExecutor | None = None  # one worker: pages under suspicion
        self._deaths = WorkerDeaths(status, WORKER_DIED, "worker processes keep dying", "theirs")

    def run(self, tasks: Iterable[PageTask], finish: Finish) -> None:
        queue = iter(tasks)
        first = next(queue, None)
        if first is None:
            return  # no worker started, no model loaded
        self.status(f"{LOADING_MODEL} ({self.workers} workers)")
        in_flight: dict[Future[PageResult], PageTask] = {}
        try:
            self._submit(first, in_flight, finish)
            # Keep a bounded number of pages in flight: a million-page batch must not
            # queue a million futures.
            for task in queue:
                self._submit(task, in_flight, finish)
                if len(in_flight) >= self.workers * 2:
                    self._collect(in_flight, finish)
            while in_flight:
                self._collect(in_flight, finish)
        except BaseException:
            # Ctrl-C, SIGTERM or an error: the workers stop now, pages in flight and all (a
            # worker left reading would outlive its scan); finished files are kept.
            self._stop_workers()
            raise
        self._close()

    def _submit(
        self, task: PageTask, in_flight: dict[Future[PageResult], PageTask], finish: Finish
    ) -> None:
        if self._pool is None:
            self._pool = _start_pool(self.loader, self.workers)
        try:
            future = self._pool.submit(_run, task)
        except BrokenProcessPool:  # a worker died since the last page came back
            self._recover(in_flight, finish)
            self._pool = _start_pool(self.loader, self.workers)
            future = self._pool.submit(_run, task)
        in_flight[future] = task

    def _collect(self, in_flight: dict[Future[PageResult], PageTask], finish: Finish) -> None:
        """Finish the pages that are back (at least one), or recover from a broken pool."""
        done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
        if any(isinstance(future.exception(), BrokenProcessPool) for future in done):
            self._recover(in_flight, finish)
            return
        for future in [future for future in in_flight if future in done]:
            del in_flight[future]
            self._read(future.result(), finish)

    def _recover(self, in_flight: dict[Future[PageResult], PageTask], finish: Finish) -> None:
        """A worker died. Every page still in flight fails with the pool (a page whose result
        was on its way is kept); the one in flight alone is the one that killed it, and when
        there were several, each is read again on its own, in their order, to find which."""
        wait(in_flight)  # at once: a broken pool fails them all
        broken = []
        for future, task in in_flight.items():
            if isinstance(future.exception(), BrokenProcessPool):
                broken.append(task)
            else:
                self._read(future.result(), finish)
        in_flight.clear()
        assert self._pool is not None
        self._pool.shutdown()
        self._pool = None  # the next page starts a fresh one
        if len(broken) == 1:
            self._died(broken[0], finish)
            return
        for task in broken:
            self._read_alone(task, finish)
        if self._alone is not None:
            self._alone.shutdown()  # its memory is the pool's again
            self._alone = None

    def _read_alone(self, task: PageTask, finish: Finish) -> None:
        # Alone, a page has the memory to itself: one that died because its neighbours
        # took the memory is read now; one that kills this worker too is the culprit.
        if self._alone is None:
            self._alone = _start_pool(self.loader, 1)
        try:
            result = self._alone.submit(_run, task).result()
        except BrokenProcessPool:
            self._alone.shutdown()
            self._alone = None
            self._died(task, finish)
            return
        self._read(result, finish)

    def _read(self, result: PageResult, finish: Finish) -> None:
        self._deaths.read(result, finish)

    def _died(self, task: PageTask, finish: Finish) -> None:
        self._deaths.died(task, finish)

    def _stop_workers(self) -> None:
        for pool in (self._pool, self._alone):
            if pool is not None:
                _terminate(pool)
        self._pool = self._alone = None

    def _close(self) -> None:
        for pool in (self._pool, self._alone):
            if pool is not None:
                pool.shutdown()
        self._pool = self._alone = None


def make_executor(loader: ClassifierLoader, workers: int, status: Status) -> Executor:
    if workers <= 1:
        return SerialExecutor(loader, status)
    return PoolExecutor(loader, workers, status)


@contextmanager
def connect_cluster(
    address: str | None, loader: ClassifierLoader, status: Status
) -> Iterator[Executor | None]:
    """The executor of the Dask cluster at `address` (`--cluster`), connected now, so that a
    wrong address fails before a file is read; disconnected on leaving. None without an
    address, and `distributed` is not even imported."""
    if address is None:
        yield None
        return
    from digitize.cluster_executor import ClusterExecutor

    with ClusterExecutor(address, loader, status) as executor:
        yield executor


def _start_pool(loader: ClassifierLoader, workers: int) -> ProcessPoolExecutor:
    # "spawn": TensorFlow is not fork-safe, and each worker loads its own model once.
    context = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(
        workers, mp_context=context, initializer=_start_worker, initargs=(loader,)
    )


def _terminate(pool: ProcessPoolExecutor) -> None:
    """Stop a pool's workers now, whatever they are reading."""
    # The executor has no public way to stop its workers before Python 3.14.
    processes = list((pool._processes or {}).values())
    for process in processes:
        process.terminate()
    pool.shutdown(wait=True, cancel_futures=True)
    for process in processes:
        process.join(STOP_WAIT_S)


_classifier: Classifier | None = None  # the worker process's own
# Why the worker has no classifier (a damaged model): raised again by every task, so the
# batch gets the one-line error instead of a broken pool and a traceback per worker.
_start_error: DigitizeError | None = None


def _start_worker(loader: ClassifierLoader) -> None:
    global _classifier
    # Ctrl-C reaches every process of the terminal's job; the scan's own process decides
    # what it means and stops the workers. A worker interrupted by it would print its own
    # traceback. A handler, not SIG_IGN: programs the worker runs (poppler) still stop.
    signal.signal(signal.SIGINT, _ignore)
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


def _ignore(signum: int, frame: object) -> None:
    pass


def _run(task: PageTask) -> PageResult:
    if _start_error is not None:
        raise _start_error
    assert _classifier is not None, "worker started without its classifier"
    return run_page_task(task, _classifier)
