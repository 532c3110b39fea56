"""A scan's page tasks on a Dask distributed cluster: `digitize scan … --cluster tcp://HOST:8786`.

`dask scheduler` runs on one machine, `dask worker tcp://HOST:8786` on each of the others.
The scan's own process plans the batch, sends the pages and writes every output, exactly as
for a local scan: this executor only calls `finish` with each page's result as it comes back.

- Each worker loads the model once: a `WorkerPlugin` registered for the scan builds the
  classifier from the scan's `ClassifierLoader` on every worker there is or joins later, and
  is unregistered at the end (the workers keep running for the next scan, without it).
- A bounded number of pages is in flight (twice the cluster's threads, at least a few): a
  million-page batch does not submit a million futures.
- Inputs and the crops folder are sent as absolute paths, so every worker must see them at
  the same paths (a shared filesystem); a worker that cannot read a file fails that page.
- A worker that dies costs nothing: the scheduler runs its pages elsewhere. A page on which
  workers die every time (`distributed.scheduler.allowed-failures`, 3 by default) fails
  alone, its error saying so; after a few such pages in a row the scan stops.

This module imports `distributed`; it is imported only when a scan is given --cluster.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import time
import uuid
from collections.abc import Iterable
from concurrent.futures import CancelledError, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from distributed import (
    Client,
    Future,
    KilledWorker,
    Security,
    WorkerPlugin,
    as_completed,
    get_worker,
)
from distributed.comm import connect as comm_connect
from distributed.comm.addressing import parse_address
from distributed.comm.registry import get_backend
from distributed.core import send_recv

from digitize.classifier import Classifier, ClassifierLoader, KerasModel
from digitize.errors import DataError, DigitizeError, UsageError
from digitize.executor import LOADING_MODEL, Finish, Status, WorkerDeaths
from digitize.model_files import SHIPPED_DIR
from digitize.page_task import PageResult, PageTask, run_page_task

# Long enough for a scheduler on another machine, short enough that a wrong address is said
# soon: distributed retries a refused connection until then (a scheduler may be starting).
CONNECT_TIMEOUT_S = 10
MIN_IN_FLIGHT = 4  # pages in flight however few threads the cluster has (none yet, say)
RECOUNT_S = 5  # how often the bound follows workers joining and leaving
WORKER_DIED = "a worker died while reading this page, each time it was tried (out of memory?)"


class ClusterExecutor:
    """Pages on a Dask cluster's workers; connected on creation, so a wrong address fails
    before a file is read. Close it (or use it as a context manager) to disconnect."""

    def __init__(self, address: str, loader: ClassifierLoader, status: Status):
        self.address, self.loader, self.status = address, loader, status
        # The client logs what goes wrong with tracebacks (a scheduler lost: a dozen lines
        # while it reconnects); this executor says it in one line, a DigitizeError.
        self._log_levels = _quiet_logs()
        try:
            self.client = connect(address)
        except BaseException:
            _restore_logs(self._log_levels)
            raise
        self._scan = uuid.uuid4().hex  # this scan's plugin and keys, among other clients'
        self._plugin: str | None = None  # registered, by this name
        self._threads = 0  # the cluster's, counted at _counted
        self._counted = 0.0
        self._deaths = WorkerDeaths(
            status, WORKER_DIED, "workers keep dying", "every worker that read them"
        )

    def __enter__(self) -> ClusterExecutor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def run(self, tasks: Iterable[PageTask], finish: Finish) -> None:
        queue = iter(tasks)
        first = next(queue, None)
        if first is None:
            return  # no model loaded on the workers
        in_flight: dict[Future, PageTask] = {}
        completed = as_completed(loop=self.client.loop)
        try:
            self._load_model()
            for number, task in enumerate(itertools.chain([first], queue)):
                future = self.client.submit(
                    _read_page,
                    located(task),
                    self._plugin,
                    key=f"digitize-page-{self._scan}-{number}",
                    # A worker lost mid-page is the scheduler's to handle: it runs the page
                    # elsewhere, up to allowed-failures times (then KilledWorker, below).
                    # `retries` would only rerun a page that raised, and _read_page raises
                    # only where the model could not be loaded, which a rerun does not mend.
                    retries=0,
                )
                in_flight[future] = task
                completed.add(future)
                while len(in_flight) >= self._bound():
                    self._collect(next(completed), in_flight, finish)
            while in_flight:
                self._collect(next(completed), in_flight, finish)
        except BaseException:
            # Ctrl-C, SIGTERM or an error: the pages in flight are dropped (a worker already
            # reading one finishes it, unseen); finished files are the batch's to keep.
            with contextlib.suppress(Exception):
                self.client.cancel(list(in_flight), force=True)
            raise

    def close(self) -> None:
        """Unload the model from the workers and disconnect; the cluster goes on running."""
        if self._plugin is not None:
            with contextlib.suppress(Exception):  # best effort: the scheduler may be gone
                self.client.unregister_worker_plugin(self._plugin)
            self._plugin = None
        with contextlib.suppress(Exception):
            self.client.close()
        _restore_logs(self._log_levels)

    def _load_model(self) -> None:
        """Every worker loads the model (in parallel; this waits for them); a worker that
        joins later loads it when it joins."""
        workers = len(self.client.nthreads())
        if workers:
            self.status(f"{LOADING_MODEL} ({_workers(workers)} at {self.address})")
        else:
            self.status(f"waiting for a worker to join {self.address}…")
        plugin = ClassifierPlugin(for_workers(self.loader), f"digitize-classifier-{self._scan}")
        self._plugin = plugin.name  # before: Ctrl-C while the workers load still unloads it
        self.client.register_plugin(plugin)

    def _bound(self) -> int:
        """Pages to keep in flight: two a thread, so no worker waits for the next page."""
        if time.monotonic() - self._counted > RECOUNT_S:
            self._threads = sum(self.client.nthreads().values())
            self._counted = time.monotonic()
        return max(2 * self._threads, MIN_IN_FLIGHT)

    def _collect(self, future: Future, in_flight: dict[Future, PageTask], finish: Finish) -> None:
        task = in_flight.pop(future)
        try:
            # Its status may have changed since it was done: a result lost with its worker
            # before it came here is waited for again, while the scheduler reads the page.
            result = future.result()
        except KilledWorker:
            self._died(task, finish)
            return
        except DigitizeError:  # the model did not load on a worker
            raise
        except CancelledError:  # by the scheduler: restarted, or gone
            raise DataError(
                f"--cluster {self.address}: the scheduler dropped the scan's pages (restarted? "
                "lost?); finished files are kept: rerun with --resume"
            ) from None
        except Exception as error:  # a worker unlike the scan's machine: another digitize, …
            raise DataError(
                f"--cluster {self.address}: a worker failed on page {task.page} of "
                f"{task.file} ({type(error).__name__}: {error})"
            ) from None
        self._read(restored(result, task), finish)

    def _read(self, result: PageResult, finish: Finish) -> None:
        self._deaths.read(result, finish)

    def _died(self, task: PageTask, finish: Finish) -> None:
        self._deaths.died(task, finish)


def connect(address: str) -> Client:
    """A client of the scheduler at `address`, or a one-line UsageError saying why not."""
    try:
        check_address(address)
    except ValueError as error:
        raise UsageError(
            f"--cluster {address}: not a scheduler's address ({error}); give tcp://HOST:PORT"
        ) from None
    try:
        # Asked first, within a time limit: a client connecting to some other server (a web
        # server at that port) waits for its answer for ever. In a thread of its own, whose
        # event loop is free whatever this one's (a caller's notebook) is doing.
        with ThreadPoolExecutor(1) as thread:
            identity = thread.submit(asyncio.run, _identity(address)).result()
    except Exception as error:  # OSError: nothing there; TimeoutError: no answer; …
        reason = str(error) or f"no answer in {CONNECT_TIMEOUT_S + 2} s"
        raise UsageError(
            f"--cluster {address}: cannot connect to a Dask scheduler there ({reason}); "
            "start one with `dask scheduler`"
        ) from None
    if not isinstance(identity, dict) or identity.get("type") != "Scheduler":
        what = identity.get("type", "server") if isinstance(identity, dict) else "server"
        raise UsageError(
            f"--cluster {address}: a Dask {what.lower()} answers there, not a scheduler; give the "
            "scheduler's address (`dask scheduler` says it)"
        )
    try:
        return Client(address, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
    except Exception as error:  # the scheduler stopped since it answered
        raise UsageError(
            f"--cluster {address}: cannot connect to the Dask scheduler there ({error})"
        ) from None


async def _identity(address: str) -> Any:
    """What answers at `address`: a Dask scheduler says {"type": "Scheduler", ...}."""

    async def ask() -> Any:
        arguments = Security().get_connection_args("client")  # tls:// as dask's config says
        comm = await comm_connect(address, timeout=CONNECT_TIMEOUT_S, **arguments)
        try:
            return await send_recv(comm, op="identity")
        finally:
            comm.abort()

    # The connection's own time limit does not cover a server that takes it and never says
    # a word; this one does, a little later, so that a closed port is said as such.
    return await asyncio.wait_for(ask(), CONNECT_TIMEOUT_S + 2)


def check_address(address: str) -> None:
    """ValueError for an address no scheduler can have. Said before connecting: a client
    that fails on one as it starts leaves a traceback at exit (its __del__)."""
    scheme, location = parse_address(address, strict=False)
    backend = get_backend(scheme)  # ValueError: an unknown scheme
    try:
        host, port = backend.get_address_host_port(location)  # ValueError: a bad port
    except NotImplementedError:  # inproc://: a scheduler inside this very process
        raise ValueError(f"{scheme}:// is not a network address") from None
    if not host or not 0 < port < 65536:
        raise ValueError(f"no host and port in {location!r}")


def located(task: PageTask) -> PageTask:
    """The task as a worker elsewhere needs it: its file and crops folder as absolute paths
    (a worker's working folder is not the scan's). The file keeps the name it was given."""
    crops = Path(os.path.abspath(task.crops)) if task.crops is not None else None
    return replace(task, path=os.path.abspath(task.path or task.file), crops=crops)


def restored(result: PageResult, task: PageTask) -> PageResult:
    """A result as a local scan gives it: crops named under the crops folder as given."""
    if task.crops is None:
        return result
    result.fields = [
        replace(row, crop=str(task.crops / Path(row.crop).name)) if row.crop else row
        for row in result.fields
    ]
    return result


@dataclass(frozen=True)
class ShippedModel:
    """The shipped model of whichever installation loads it: its folder on the scan's machine
    is inside the scan's Python environment, whose path a worker's need not share."""

    def __call__(self, threads: int | None = None) -> Classifier:
        return KerasModel(SHIPPED_DIR)(threads)

    def check(self) -> None:
        KerasModel(SHIPPED_DIR).check()

    def describe(self) -> str:
        return KerasModel(SHIPPED_DIR).describe()


def for_workers(loader: ClassifierLoader) -> ClassifierLoader:
    """The loader the workers use: the shipped model is each worker's own; any other model
    is loaded from the same path on every worker."""
    if isinstance(loader, KerasModel) and loader.model_dir.resolve() == SHIPPED_DIR.resolve():
        return ShippedModel()
    return loader


class ClassifierPlugin(WorkerPlugin):
    """Builds a worker's classifier once, when it is registered or the worker joins."""

    def __init__(self, loader: ClassifierLoader, name: str):
        self.loader, self.name = loader, name
        self.classifier: Classifier | None = None
        # Why this worker has no classifier (a model not at its path there, a damaged one):
        # raised again by each of its pages, so the scan stops with that one line.
        self.error: DigitizeError | None = None

    async def setup(self, worker: Any) -> None:
        # In a thread: loading takes seconds, which the worker's event loop (its heartbeats
        # to the scheduler) must not wait for.
        await asyncio.to_thread(self._load, worker.address)

    def _load(self, address: str) -> None:
        # The worker's threads are the parallelism (`dask worker --nthreads`): a page using
        # every core for OpenCV and TensorFlow as well would fight its neighbours for them.
        import cv2

        cv2.setNumThreads(1)
        try:
            self.classifier = self.loader(threads=1)
        except DigitizeError as error:
            self.error = type(error)(f"on worker {address}: {error}")
        except Exception as error:  # no TensorFlow there, a digitize unlike the scan's, …
            self.error = DataError(
                f"on worker {address}: cannot load the model ({type(error).__name__}: {error})"
            )

    def teardown(self, worker: Any) -> None:
        self.classifier = None


def _read_page(task: PageTask, plugin_name: str) -> PageResult:
    """One page, on a worker, by the classifier the scan's plugin loaded there."""
    worker = get_worker()
    plugin = worker.plugins.get(plugin_name)
    if not isinstance(plugin, ClassifierPlugin):
        raise DataError(f"on worker {worker.address}: the scan's model was not loaded there")
    if plugin.error is not None:  # a copy: each raise would lengthen its traceback
        raise type(plugin.error)(str(plugin.error))
    assert plugin.classifier is not None, "plugin set up without its classifier"
    result = run_page_task(task, plugin.classifier)
    if result.error is not None and not os.access(task.path or task.file, os.R_OK):
        # Readable where the scan counted its pages: this worker does not see it there.
        result.error += f" on worker {worker.address} (inputs must be at the same paths there)"
    return result


def _quiet_logs() -> dict[str, int]:
    """Silence distributed's loggers (each of them with its own handler); their old levels."""
    existing = logging.Logger.manager.loggerDict
    loggers = [logging.getLogger("distributed")] + [
        logger
        for name, logger in existing.items()
        if name.startswith("distributed.")
        and isinstance(logger, logging.Logger)
        and logger.level != logging.NOTSET  # the others follow "distributed"
    ]
    levels = {logger.name: logger.level for logger in loggers}
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    return levels


def _restore_logs(levels: dict[str, int]) -> None:
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def _workers(count: int) -> str:
    return f"{count} worker" if count == 1 else f"{count} workers"
