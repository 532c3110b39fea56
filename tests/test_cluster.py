"""`digitize scan --cluster`: a Dask scheduler and workers on 127.0.0.1, each its own process
started by the `dask` command, as on separate machines (digitize/cluster_executor.py)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
from typer.testing import CliRunner

import digitize.executor
from digitize.cli import app
from digitize.executor import SerialExecutor
from digitize.exit_codes import ExitCode
from digitize.page_task import PageResult, PageTask
from digitize.reading import ReadParams
from digitize.scan import ScanOptions, scan
from fakes import DamagedModel, FakeModel
from synthetic_forms import form_page, write_image

REPO = Path(__file__).resolve().parent.parent
TESTS = Path(__file__).resolve().parent
# Small and quick, one of them a PDF of several pages.
SAMPLES = ["timesheet_hours.png", "survey_responses.pdf"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Cluster:
    address: str
    scheduler: subprocess.Popen
    workers: dict[str, subprocess.Popen]  # by the worker's address
    logs: Path

    def log_text(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text()}" for p in sorted(self.logs.glob("*.log")))


def _start(
    command: list[str], cwd: Path, log: Path, env: dict[str, str] | None = None
) -> subprocess.Popen:
    cwd.mkdir(parents=True, exist_ok=True)
    # The workers unpickle tests/fakes.py's loaders.
    env = {**os.environ, "PYTHONPATH": str(TESTS), **(env or {})}
    with log.open("w") as output:
        # Its own session: a worker is its nanny and the worker process, killed together.
        return subprocess.Popen(
            command, cwd=cwd, env=env, stdout=output, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip


def _kill(process: subprocess.Popen) -> None:
    with suppress(ProcessLookupError):  # gone already
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


@contextmanager
def dask_cluster(
    tmp_path: Path, workers: int = 2, config: dict[str, str] | None = None
) -> Iterator[Cluster]:
    """A scheduler and `workers` one-thread workers, each in its own folder (not the scan's:
    relative paths would not be found there); `config`: the scheduler's DASK_* variables."""
    from distributed import Client

    logs = tmp_path / "cluster-logs"
    logs.mkdir()
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    dask = [sys.executable, "-m", "dask"]
    processes = [
        _start(
            [*dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
            tmp_path / "scheduler",
            logs / "scheduler.log",
            config,
        )
    ]
    by_address = {}
    try:
        for number in range(workers):
            worker_port = free_port()
            folder = tmp_path / f"worker{number}"
            process = _start(
                [*dask, "worker", address, "--nthreads", "1", "--nworkers", "1",
                 "--no-dashboard", "--worker-port", str(worker_port),
                 "--local-directory", str(folder)],
                folder,
                logs / f"worker{number}.log",
            )  # fmt: skip
            processes.append(process)
            by_address[f"tcp://127.0.0.1:{worker_port}"] = process
        with Client(address, timeout=60, set_as_default=False) as client:
            client.wait_for_workers(workers, timeout=60)
        yield Cluster(address, processes[0], by_address, logs)
    finally:
        for process in reversed(processes):
            _kill(process)


def read_rows(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


@pytest.mark.slow
@pytest.mark.model
def test_a_cluster_scan_gives_what_a_local_scan_gives(tmp_path, monkeypatch):
    forms = tmp_path / "forms"
    forms.mkdir()
    for name in SAMPLES:
        shutil.copy(REPO / "samples" / "forms" / name, forms / name)
    monkeypatch.chdir(tmp_path)  # relative inputs and crops: the workers' folders differ
    inputs = [f"forms/{name}" for name in SAMPLES]
    local = scan(ScanOptions(inputs, Path("local.csv"), crops=Path("crops"), workers=1))
    with dask_cluster(tmp_path) as cluster:
        options = ScanOptions(
            inputs, Path("cluster.csv"), crops=Path("crops"), cluster=cluster.address
        )
        remote = scan(options)
        logs = cluster.log_text()
    assert (remote.failed, remote.pages) == (0, local.pages) and local.failed == 0, logs
    ours, theirs = read_rows(Path("cluster.csv")), read_rows(Path("local.csv"))
    assert len(ours) == len(theirs) > 0
    # The same rows, crops named alike; the confidences only as close as TensorFlow's thread
    # counts leave them (the workers use one thread, this process as many as it likes).
    close = ["confidence", "digit_confidences"]
    pd.testing.assert_frame_equal(ours.drop(columns=close), theirs.drop(columns=close))
    for column in close:
        for mine, other in zip(ours[column], theirs[column]):
            assert [float(x) for x in mine.split(";") if x] == pytest.approx(
                [float(x) for x in other.split(";") if x], abs=1e-4
            )
    assert all(Path(crop).is_file() for crop in ours["crop"])
    assert "digitize-classifier" in logs  # the model was the plugin's, on each worker


@pytest.mark.slow
def test_a_worker_killed_mid_batch_costs_no_page(tmp_path):
    from digitize.cluster_executor import ClusterExecutor

    paths = [write_image(tmp_path / f"{n}.png", form_page((str(n), str(7 * n)))) for n in range(8)]
    # Deleted when the first page is back, before its own is sent (at most 4 are in flight
    # then): counted here, not found by the worker.
    gone = paths[-1]
    tasks = [PageTask(str(path), 1, 150, ReadParams(), labels=False) for path in paths]
    results: list[PageResult] = []
    with (
        dask_cluster(tmp_path) as cluster,
        ClusterExecutor(cluster.address, FakeModel(), lambda text: None) as executor,
    ):
        killed: list[str] = []

        def finish(result: PageResult) -> None:
            if not killed:  # the first page is back: kill a worker reading another
                busy = [w for w, keys in executor.client.processing().items() if keys]
                killed.append(busy[0])
                _kill(cluster.workers[busy[0]])
                gone.unlink()
            results.append(result)

        executor.run(tasks, finish)
        logs = cluster.log_text()
    assert killed, logs
    # Every page once, read as this process reads it.
    assert Counter((r.file, r.page) for r in results) == Counter((t.file, 1) for t in tasks)
    by_file = {r.file: r for r in results}
    assert "cannot read file" in by_file[str(gone)].error
    assert "on worker tcp://127.0.0.1:" in by_file[str(gone)].error
    here: list[PageResult] = []
    SerialExecutor(FakeModel(), lambda text: None).run(tasks[:-1], here.append)
    expected = {r.file: (r.error, r.fields) for r in here}
    assert {file: (by_file[file].error, by_file[file].fields) for file in expected} == expected


def digitize_plugins(client) -> list[str]:
    """The scans' plugins still on the cluster's workers."""
    plugins = client.run(lambda dask_worker: list(dask_worker.plugins))
    return [name for names in plugins.values() for name in names if "digitize" in name]


@pytest.mark.slow
def test_a_page_that_kills_its_workers_fails_alone(tmp_path, monkeypatch):
    from distributed import Client

    from digitize import cluster_executor
    from digitize.errors import DataError
    from fakes import KillingModel

    values = ["1", "2", "123456", "3", "4"]  # five digits and more kill the worker
    paths = [write_image(tmp_path / f"{n}.png", form_page((v,))) for n, v in enumerate(values)]
    tasks = [PageTask(str(path), 1, 150, ReadParams(), labels=False) for path in paths]
    # The first death is the page's last (not three more, each a worker restarted), and the
    # worker holds only the page it reads: the one that dies with it is that page alone.
    config = {
        "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "0",
        "DASK_DISTRIBUTED__SCHEDULER__WORKER_SATURATION": "1.0",
    }
    with dask_cluster(tmp_path, workers=1, config=config) as cluster:
        results: list[PageResult] = []
        with cluster_executor.ClusterExecutor(
            cluster.address, KillingModel(), lambda text: None
        ) as executor:
            executor.run(tasks, results.append)
        assert Counter(r.file for r in results) == Counter(str(p) for p in paths)
        errors = {Path(r.file).name: r.error for r in results if r.error}
        assert errors == {"2.png": f"page 1: {cluster_executor.WORKER_DIED}"}, cluster.log_text()
        assert all(len(r.fields) == 1 for r in results if not r.error)

        # Pages that kill every worker in a row: the workers die whatever they read.
        monkeypatch.setattr(digitize.executor, "DEATHS_IN_A_ROW", 1)
        results.clear()
        with (
            cluster_executor.ClusterExecutor(
                cluster.address, KillingModel(), lambda text: None
            ) as executor,
            pytest.raises(DataError, match="workers keep dying"),
        ):
            executor.run(tasks[2:3], results.append)
        assert [r.error for r in results] == [f"page 1: {cluster_executor.WORKER_DIED}"]
        with Client(cluster.address, set_as_default=False) as client:
            assert digitize_plugins(client) == []


@pytest.mark.slow
def test_a_model_not_loaded_ctrl_c_or_the_scheduler_lost_stops_the_scan(
    tmp_path, monkeypatch, capfd
):
    from distributed import Client

    from digitize.cluster_executor import ClusterExecutor
    from digitize.errors import DataError, ModelError

    paths = [write_image(tmp_path / f"{n}.png", form_page((str(n),))) for n in range(6)]
    tasks = [PageTask(str(path), 1, 150, ReadParams(), labels=False) for path in paths]
    with dask_cluster(tmp_path, workers=1) as cluster:
        with (
            ClusterExecutor(cluster.address, DamagedModel(), lambda text: None) as executor,
            pytest.raises(ModelError, match=r"^on worker tcp://127\.0\.0\.1:\d+: .*damaged"),
        ):
            executor.run(tasks, lambda result: None)

        def interrupt(result: PageResult) -> None:
            raise KeyboardInterrupt

        with (
            ClusterExecutor(cluster.address, FakeModel(), lambda text: None) as executor,
            pytest.raises(KeyboardInterrupt),
        ):
            executor.run(tasks, interrupt)
        with Client(cluster.address, set_as_default=False) as client:
            assert digitize_plugins(client) == []  # the model unloaded
            tasks_left = client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks))
            assert tasks_left == 0  # the pages in flight dropped

        # The scheduler gone mid-batch: one line once the client stops trying to reconnect.
        monkeypatch.setattr("digitize.cluster_executor.CONNECT_TIMEOUT_S", 1)
        capfd.readouterr()
        with (
            ClusterExecutor(cluster.address, FakeModel(), lambda text: None) as executor,
            pytest.raises(DataError, match="the scheduler dropped the scan's pages"),
        ):
            executor.run(tasks, lambda result: _kill(cluster.scheduler))
        assert capfd.readouterr().err == ""  # distributed's own logging kept quiet


@pytest.mark.parametrize("how", ["option", "environment"])
def test_no_scheduler_there_is_one_line_and_nothing_done(tmp_path, monkeypatch, how):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("digitize.cluster_executor.CONNECT_TIMEOUT_S", 0.5)
    write_image(tmp_path / "a.png", form_page(("1",)))
    address = f"tcp://127.0.0.1:{free_port()}"  # closed: nothing listens there
    arguments = ["scan", "a.png", "--out", "e.csv"]
    if how == "option":
        result = CliRunner().invoke(app, [*arguments, "--cluster", address])
    else:
        result = CliRunner().invoke(app, arguments, env={"DIGITIZE_CLUSTER": address})
    assert result.exit_code == ExitCode.USAGE, result.output
    [line] = result.stderr.splitlines()
    assert line.startswith(f"digitize: --cluster {address}: cannot connect to a Dask scheduler")
    assert line.endswith("; start one with `dask scheduler`")
    assert not (tmp_path / "e.csv").exists()


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("tcp://host", "missing port number"),
        ("http://host:8786", "unknown address scheme"),
        ("tcp://host:port", "invalid literal"),
    ],
)
def test_an_address_no_scheduler_can_have_is_a_usage_error(tmp_path, monkeypatch, address, reason):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["scan", "a.png", "--out", "e.csv", "--cluster", address])
    assert result.exit_code == ExitCode.USAGE, result.output
    [line] = result.stderr.splitlines()
    assert line.startswith(f"digitize: --cluster {address}: not a scheduler's address (")
    assert reason in line


def test_a_worker_that_cannot_read_a_file_fails_that_page(tmp_path, monkeypatch):
    from digitize import cluster_executor

    plugin = cluster_executor.ClassifierPlugin(FakeModel(), "digitize-classifier-test")
    worker = SimpleNamespace(address="tcp://10.0.0.9:4000", plugins={plugin.name: plugin})
    plugin._load(worker.address)
    monkeypatch.setattr(cluster_executor, "get_worker", lambda: worker)
    monkeypatch.chdir(tmp_path)
    task = cluster_executor.located(PageTask("elsewhere.png", 1, 150, ReadParams()))
    assert task.path == str(tmp_path / "elsewhere.png") and task.file == "elsewhere.png"
    result = cluster_executor._read_page(task, plugin.name)
    assert result.file == "elsewhere.png" and result.fields == []
    assert result.error.startswith("page 1: cannot read file (")
    assert result.error.endswith(
        " on worker tcp://10.0.0.9:4000 (inputs must be at the same paths there)"
    )
