"""Faults around a scan and a review (issue 13, part C): a worker process killed, SIGTERM to
a scan, a burst of requests to the review page, two reviews of one CSV, and a retrain given
files that are bombs or damaged.

The digits are read by tests/fakes.py's fake classifiers (no TensorFlow): one that kills its
own worker on a page with many digits, one that takes a minute over such a page.
"""

from __future__ import annotations

import http.client
import json
import os
import queue
import signal
import struct
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from digitize.cli import app
from digitize.errors import DataError, UsageError
from digitize.executor import WORKER_DIED, PoolExecutor
from digitize.exit_codes import ExitCode
from digitize.output import read_entries, read_table
from digitize.page_task import PageTask
from digitize.reading import ReadParams
from digitize.review.crops import CropSource
from digitize.review.server import start_server
from digitize.review.session import ReviewOptions, review
from digitize.review.source import SourcePages
from digitize.review.store import ReviewStore
from fakes import FakeModel, KillingModel
from model_training.dataset import ExtraDigitsError, load_extra_digits
from synthetic_forms import REPO, form_page, inflating_chunk, png_chunk, write_image
from test_review import entry, write

KILLER = ("1234567",)  # six digit images: the fake classifiers' trigger (five or more)


def scan_cli(*arguments: str):
    result = CliRunner().invoke(app, ["scan", "--dpi", "150", *arguments])
    assert "Traceback" not in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    return result


def forms(folder: Path, values: list[tuple[str, ...]]) -> list[Path]:
    return [write_image(folder / f"{n}.png", form_page(v)) for n, v in enumerate(values)]


# --- a worker process killed ------------------------------------------------------------------


@pytest.mark.slow
def test_a_page_that_kills_its_worker_fails_alone_and_the_batch_goes_on(tmp_path, monkeypatch):
    """The worker reading the third of six files is killed (as by the out-of-memory killer):
    the other pages in flight with it are read again, the pool is started afresh for the
    rest, and only the killer page is an error (exit 1, as for any file not read)."""
    monkeypatch.setattr("digitize.scan.KerasModel", lambda model_dir: KillingModel())
    files = forms(tmp_path / "in", [("1",), ("2",), KILLER, ("3",), ("4",), ("5",)])
    out = tmp_path / "e.csv"
    result = scan_cli(str(tmp_path / "in"), "--out", str(out), "--workers", "2")
    assert result.exit_code == ExitCode.INPUT_FAILED, result.output
    read = {entry.result.file for entry in read_entries(out).entries}
    assert read == {str(f) for f in files if f.name != "2.png"}
    errors = read_table(tmp_path / "e-errors.csv").to_dict("records")
    assert errors == [{"file": str(files[2]), "page": "1", "error": f"page 1: {WORKER_DIED}"}]
    assert f"2.png: page 1: {WORKER_DIED}" in result.stderr


@pytest.mark.slow
def test_workers_that_keep_dying_stop_the_scan_with_one_line(tmp_path):
    """Every page kills its worker: after three in a row the pool is not started a fourth
    time; the pages read before are kept, those that killed theirs are listed."""
    files = forms(tmp_path, [("1",), KILLER, KILLER, KILLER, KILLER])
    tasks = [PageTask(str(path), 1, 150, ReadParams()) for path in files]
    results = []
    executor = PoolExecutor(KillingModel(), 2, lambda text: None)
    with pytest.raises(DataError, match="worker processes keep dying"):
        executor.run(tasks, results.append)
    assert [r.file for r in results if r.error is None] == [str(files[0])]
    assert len([r for r in results if r.error == f"page 1: {WORKER_DIED}"]) == 3


# --- SIGTERM to a scan -------------------------------------------------------------------------

SLOW_SCAN = """
import sys
from pathlib import Path
import digitize.scan
from digitize.cli import app
from fakes import SlowModel
started = Path(sys.argv[1])
digitize.scan.KerasModel = lambda model_dir: SlowModel(started=started)
app(["scan", *sys.argv[2:]], prog_name="digitize")
"""


def children(pid: int) -> set[int]:
    """The processes whose parent is `pid` (from /proc: psutil is not a dependency)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    """Running, not merely a zombie no one has reaped yet (a container's init may not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.parametrize(
    "stop",
    [
        pytest.param(lambda process: process.send_signal(signal.SIGTERM), id="sigterm"),
        # Ctrl-C in a terminal: SIGINT to every process of the job, workers included.
        pytest.param(lambda process: os.killpg(process.pid, signal.SIGINT), id="ctrl-c"),
    ],
)
@pytest.mark.slow
def test_sigterm_stops_a_scan_as_ctrl_c_does(tmp_path, stop):
    """Two pages read, the two workers a minute into the next ones: SIGTERM (or Ctrl-C)
    stops the workers at once, keeps the two finished files in the CSV, and says so with
    Ctrl-C's line and exit code (130)."""
    files = forms(tmp_path / "in", [("1",), ("2",), KILLER, KILLER, KILLER])
    started, out, log = tmp_path / "started", tmp_path / "e.csv", tmp_path / "stderr"
    started.mkdir()
    argv = [sys.executable, "-c", SLOW_SCAN, str(started), str(tmp_path / "in")]
    with log.open("w") as stderr:  # a file, not a pipe: workers left running cannot hold it
        process = subprocess.Popen(
            [*argv, "--out", str(out), "--workers", "2", "--dpi", "150"],
            env={**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "tests")])},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            start_new_session=True,  # its own process group, for the Ctrl-C case
            # The test runner may ignore SIGINT for its children; Ctrl-C in a terminal is not.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
    workers: set[int] = set()
    try:
        deadline = time.monotonic() + 60
        while len(list(started.iterdir())) < 2:  # both workers are on slow pages
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        time.sleep(1)  # the first two pages' results reach the scan's process
        workers = children(process.pid)
        assert {int(mark.name.split("-")[0]) for mark in started.iterdir()} <= workers
        stop(process)
        process.wait(timeout=20)
        err = log.read_text()
        assert process.returncode == ExitCode.INTERRUPTED, err
        assert "Traceback" not in err, err
        assert err.strip().splitlines()[-1] == (
            f"digitize: interrupted; finished files are in {out}: rerun with --resume to go on"
        )
        assert {entry.result.file for entry in read_entries(out).entries} == {
            str(files[0]),
            str(files[1]),
        }
        deadline = time.monotonic() + 10
        while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [pid for pid in workers if alive(pid)], "workers left running"
    finally:
        process.kill()
        process.wait()
        for pid in workers:
            if alive(pid):  # before the fix: reading on, a minute a page, their scan gone
                os.kill(pid, signal.SIGKILL)


# --- a burst of requests to the review page ---------------------------------------------------

BURST = 40  # the burst: 11 of 40 were reset


def post_json(port: int, token: str, path: str, body: dict) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request(
        "POST",
        path,
        body=json.dumps(body).encode(),
        headers={"X-Review-Token": token, "Host": f"127.0.0.1:{port}"},
    )
    status = connection.getresponse().status
    connection.close()
    return status


def test_a_burst_of_decisions_is_answered_every_one(tmp_path):
    """40 POSTs at once (a script posting decisions, a page saving fast): every one gets its
    answer, none is reset for want of room in the server's listen backlog."""
    path = write(tmp_path / "e.csv", [entry(field=f"field_{n}") for n in range(BURST)])
    store = ReviewStore.load(path)
    server = start_server(store, CropSource(store, SourcePages(path, FakeModel())))
    port, token = server.server.server_port, server.url.split("token=")[1]
    answers: list[object] = [None] * BURST
    together = threading.Barrier(BURST)

    def post(row: int) -> None:
        together.wait()
        try:
            answers[row] = post_json(port, token, "/api/decision", {"row": row, "value": "42"})
        except OSError as error:  # ConnectionResetError before the fix
            answers[row] = type(error).__name__

    threads = [threading.Thread(target=post, args=(row,)) for row in range(BURST)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    finally:
        server.stop()
    assert answers == [200] * BURST
    assert all(e.decision is not None for e in read_entries(path).entries)


# --- two reviews of one CSV -----------------------------------------------------------------------


def test_a_second_review_of_one_csv_is_refused_while_the_first_is_open(tmp_path):
    """Each review rewrites the CSV from the decisions it holds: a second one saving would
    write away a decision the first had answered 200. It is refused in one line (exit 2),
    with the page open or --apply alike, and the CSV is untouched; once the first is
    finished, a review starts again."""
    path = write(tmp_path / "e.csv", [entry(field="field_1"), entry(field="field_2")])
    corrections = tmp_path / "c.csv"
    corrections.write_text("file,page,field,reviewed_value\nf.png,1,field_2,7\n")
    urls: queue.Queue[str] = queue.Queue()
    outcome: dict = {}

    def first() -> None:
        try:
            outcome["summary"] = review(
                ReviewOptions(path, classifier=FakeModel()), urls.put, lambda line: None
            )
        except BaseException as error:  # reported by the assertions below
            outcome["error"] = error

    thread = threading.Thread(target=first, daemon=True)
    thread.start()
    url = urls.get(timeout=30).split()[2]
    port, token = int(url.split(":")[2].split("/")[0]), url.split("token=")[1]
    try:
        assert post_json(port, token, "/api/decision", {"row": 0, "value": "41"}) == 200
        saved = path.read_bytes()

        def served_too(line: str) -> None:
            raise AssertionError(f"a second review was served: {line}")

        with pytest.raises(UsageError) as refused:
            review(ReviewOptions(path, classifier=FakeModel()), served_too, lambda line: None)
        message = str(refused.value)
        assert message.startswith(f"{path}: another review has it open (digitize review, pid ")
        assert len(message.splitlines()) == 1
        applied = CliRunner().invoke(app, ["review", str(path), "--apply", str(corrections)])
        assert applied.exit_code == ExitCode.USAGE, applied.output
        assert applied.stderr.count("\n") == 1 and "another review has it open" in applied.stderr
        assert path.read_bytes() == saved
    finally:
        post_json(port, token, "/api/finish", {})
        thread.join(30)
    assert "error" not in outcome, outcome
    assert not (tmp_path / "e.csv.review.lock").exists()
    applied = CliRunner().invoke(app, ["review", str(path), "--apply", str(corrections)])
    assert applied.exit_code == ExitCode.OK, applied.output
    assert [(e.decision.value if e.decision else "") for e in read_entries(path).entries] == [
        "41",
        "7",
    ]


# --- retrain's bombs and damaged model cards ----------------------------------------------------


def bilevel_png(width: int, height: int, before_pixels: bytes = b"") -> bytes:
    """A 1-bit PNG whose header claims width x height: a few hundred bytes on disk, a
    30000x30000 page once decoded (Pillow holds a 1-bit pixel in a byte: 900 MB). Its pixel
    data is one white row, as Pillow's pixel limit refuses it before decoding any."""
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + before_pixels
        + png_chunk(b"IDAT", zlib.compress(b"\0" + b"\xff" * ((width + 7) // 8)))
        + png_chunk(b"IEND", b"")
    )


EXTRA_DIGIT_BOMBS = {
    # Over twice Pillow's pixel limit: DecompressionBombError.
    "30000x30000 1-bit": lambda: bilevel_png(30000, 30000),
    # Between the limit and twice it, where Pillow only warns (DecompressionBombWarning).
    "10000x10000 1-bit": lambda: bilevel_png(10000, 10000),
    "zTXt bomb": lambda: bilevel_png(28, 28, inflating_chunk(b"zTXt")),
}


@pytest.mark.parametrize("kind", EXTRA_DIGIT_BOMBS)
def test_a_bomb_among_the_extra_digits_is_one_line_naming_it(kind, tmp_path):
    """As every bad extra digit is (tests/test_retrain_extra_digits.py): retrain refuses the
    folder before any training, in one line naming the file; exit 2."""
    folder = tmp_path / "digits"
    (folder / "4").mkdir(parents=True)
    write_image(folder / "4" / "good.png", form_page(("4",))[400:428, 340:368])
    (folder / "4" / "bomb.png").write_bytes(EXTRA_DIGIT_BOMBS[kind]())
    with pytest.raises(ExtraDigitsError) as refused:
        load_extra_digits(folder)
    message = str(refused.value)
    assert message.startswith(f"{folder / '4' / 'bomb.png'}: ") and "\n" not in message
    assert "too large" in message
    assert refused.value.exit_code == ExitCode.USAGE


DAMAGED_CARDS = {
    # The JSON parser recurses once a level: deeper than Python's stack, RecursionError.
    "nested too deep": "[" * 100_000 + "]" * 100_000,
    "hyperparameters not an object": '{"test_accuracy": 0.99, "hyperparameters": 5}',
}


@pytest.mark.parametrize("card", DAMAGED_CARDS)
def test_a_damaged_model_card_is_one_line_and_a_data_error(card, tmp_path, fake_classifier):
    """`digitize scan --model-dir` beside a damaged card: one line naming the card, exit 3,
    before any page is read (the digits are read by the fake classifier)."""
    models = tmp_path / "models"
    models.mkdir()
    (models / "digits.keras").write_bytes(b"not read: the card is checked first")
    (models / "digits.json").write_text(DAMAGED_CARDS[card])
    write_image(tmp_path / "a.png", form_page(("1",)))
    result = scan_cli(
        str(tmp_path / "a.png"), "--out", str(tmp_path / "e.csv"), "--model-dir", str(models)
    )
    assert result.exit_code == ExitCode.DATA, result.output
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(f"digitize: {models / 'digits.json'}: ")


@pytest.mark.parametrize(
    "card",
    [
        DAMAGED_CARDS["nested too deep"],
        '{"test_accuracy": 0.99, "hyperparameters": {"dropout": null}}',
    ],
    ids=["nested too deep", "a hyperparameter null"],
)
def test_retrain_with_a_damaged_model_card_is_one_line(card, tmp_path, mnist_dir):
    """`digitize retrain --no-search` reads the card of the model it retrains: damaged, it is
    one line naming it and exit 3, before any training (TensorFlow loads: ~10 s)."""
    models = tmp_path / "models"
    models.mkdir()
    (models / "digits.json").write_text(card)
    arguments = ["retrain", "--no-search", "--mnist-dir", str(mnist_dir), "--final-epochs", "1"]
    arguments += ["--search-dir", str(tmp_path / "search"), "--model-dir", str(models)]
    result = CliRunner().invoke(app, arguments)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    assert result.exit_code == ExitCode.DATA, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines == [lines[0]] and lines[0].startswith(f"digitize: {models / 'digits.json'}: ")
