"""`digitize review`: the store (what to review, order, decisions saved into the CSV), the
--apply merge, the server's token and addressing rules, reopening and finishing, crops made
on demand, digit export, and the review flow as a library function.

Store and server tests use small hand-made entries (records written by `digitize.output`);
crop and export tests use a `digitize scan` of synthetic forms read by the fake classifier
(tests/fakes.py), so nothing here loads TensorFlow or depends on which digits a model reads.
"""

from __future__ import annotations

import csv
import http.client
import io
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from typer.testing import CliRunner

from digitize.cli import app
from digitize.errors import UsageError
from digitize.exit_codes import ExitCode
from digitize.output import COLUMNS, REVIEW_COLUMNS, read_entries, write_entries
from digitize.records import Entry, FieldResult, ReviewDecision, ReviewReason, ReviewStatus
from digitize.review.crops import CropSource
from digitize.review.export import default_digits_dir, export_digits
from digitize.review.server import Stopped, start_server
from digitize.review.session import ReviewOptions, review
from digitize.review.source import SourcePages
from digitize.review.store import ReviewError, ReviewStore
from digitize.scan import ScanOptions, scan
from fakes import FakeKerasModel, FakeModel
from synthetic_forms import REPO, form_page, write_image

HOSTILE = "<img src=x onerror=alert(1)>.png"
LOW = (ReviewReason.LOW_CONFIDENCE,)


def field_result(**values) -> FieldResult:
    defaults: dict = {
        "file": "f.png",
        "page": 1,
        "field": "field_1",
        "value": "42",
        "confidence": 0.5,
        "digit_confidences": (0.9, 0.5),
        "box": (0.1, 0.2, 0.3, 0.4),
        "review_below": 0.99,
        "reasons": LOW,
        "crop": "",
    }
    return FieldResult(**{**defaults, **values})


def entry(decision: ReviewDecision | None = None, extra: dict | None = None, **values) -> Entry:
    return Entry(result=field_result(**values), decision=decision, extra=extra or {})


def write(path: Path, entries: list[Entry]) -> Path:
    write_entries(entries, path)
    return path


def raw_cells(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as stream:
        return list(csv.reader(stream))


def decisions(path: Path) -> list[tuple[str, str]]:
    """(reviewed, reviewed_value) of every row, as the file says."""
    return [
        (str(e.decision.status), e.decision.value) if e.decision else ("", "")
        for e in read_entries(path).entries
    ]


def cli(*arguments: str):
    result = CliRunner().invoke(app, ["review", *arguments])
    assert "Traceback" not in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    return result


@pytest.fixture
def fake_review_model(monkeypatch) -> None:
    """The review's default model (the active Keras one) reads with the fake classifier."""
    monkeypatch.setattr("digitize.review.session.KerasModel", FakeKerasModel)


def quiet(message: str) -> None:
    pass


# --- the store -------------------------------------------------------------------------------


def test_save_adds_review_columns_and_keeps_the_rest(tmp_path):
    path = write(
        tmp_path / "e.csv",
        [
            entry(
                file="=x.png", value="007", digit_confidences=(0.9, 0.8, 0.7), extra={"note": "a"}
            ),
            entry(field="field_2", reasons=(), extra={"note": "=b"}),
        ],
    )
    before = raw_cells(path)
    assert before[0] == [*COLUMNS, "note"]
    store = ReviewStore.load(path)
    store.decide(0, "008")
    cells = raw_cells(path)
    assert cells[0] == [*COLUMNS, *REVIEW_COLUMNS, "note"]  # other tools' columns are kept
    # Byte for byte: value, numbers, spreadsheet safety; the other tool's cells too.
    assert [row[: len(COLUMNS)] for row in cells] == [row[: len(COLUMNS)] for row in before]
    assert [row[-1] for row in cells] == [row[-1] for row in before]
    back = read_entries(path).entries
    assert back[0].result.value == "007" and back[0].result.file == "=x.png"
    assert back[0].decision == ReviewDecision(ReviewStatus.CORRECTED, "008")
    assert back[1].decision is None and back[1].extra == {"note": "=b"}
    assert [p.name for p in tmp_path.iterdir()] == ["e.csv"]  # no temporary file left


def test_flagged_fields_only_unless_all(tmp_path):
    path = write(tmp_path / "e.csv", [entry(), entry(reasons=()), entry(field="field_3")])
    assert ReviewStore.load(path).review_rows() == [0, 2]
    assert ReviewStore.load(path, review_all=True).review_rows() == [0, 1, 2]


def test_order_by_confidence_lowest_first(tmp_path):
    confidences = [0.8, 0.1, 0.5, 0.1]
    path = write(
        tmp_path / "e.csv",
        [entry(field=f"field_{i}", confidence=c) for i, c in enumerate(confidences)],
    )
    store = ReviewStore.load(path)
    assert [item.row for item in store.items("confidence")] == [1, 3, 2, 0]  # ties: CSV order
    assert [item.row for item in store.items("file")] == [0, 1, 2, 3]


def test_group_by_the_least_certain_digit(tmp_path):
    entries = [
        entry(value="71", digit_confidences=(0.30, 0.99), confidence=0.3),  # 7 is doubtful
        entry(value="31", digit_confidences=(0.99, 0.20), confidence=0.2),  # 1 is doubtful
        entry(value="", digit_confidences=(), confidence=1.0),  # no digits: last
        entry(value="17", digit_confidences=(0.99, 0.10), confidence=0.1),  # 7 is doubtful
        entry(value="5", digit_confidences=(0.6,), confidence=0.6),
    ]
    store = ReviewStore.load(write(tmp_path / "e.csv", entries))
    items = store.items("digit")
    assert [(item.group, item.row) for item in items] == [
        ("1", 1),
        ("5", 4),
        ("7", 3),
        ("7", 0),
        ("", 2),
    ]
    assert items[0].digits == [("3", 0.99), ("1", 0.2)]


def test_decisions_change_clear_and_resume(tmp_path):
    path = write(tmp_path / "e.csv", [entry(field=f"field_{i}") for i in range(4)])
    store = ReviewStore.load(path)
    assert store.decide(0, "42").reviewed == "accepted"
    assert store.decide(1, "43").reviewed == "corrected"
    assert store.decide(2, None).reviewed == "illegible"
    assert store.decisions == 3
    again = ReviewStore.load(path)  # a second review picks up where the first stopped
    assert again.counts() == (3, 4)
    assert [(i.reviewed, i.reviewed_value) for i in again.items("file")] == [
        ("accepted", "42"),
        ("corrected", "43"),
        ("illegible", ""),
        ("", ""),
    ]
    # A decision reopened: changed, or cleared back to undecided; each saved at once.
    assert again.decide(0, "41").reviewed == "corrected"
    cleared = again.clear(1)
    assert (cleared.reviewed, cleared.reviewed_value) == ("", "")
    assert decisions(path) == [("corrected", "41"), ("", ""), ("illegible", ""), ("", "")]
    assert again.counts() == (2, 4) and (again.decisions, again.cleared) == (1, 1)
    assert [e.result.value for e in read_entries(path).entries] == ["42"] * 4
    assert [e.result.field for e in again.labelled()] == ["field_0"]


def test_decide_refuses_non_digits_and_fields_not_under_review(tmp_path):
    path = write(tmp_path / "e.csv", [entry(), entry(reasons=())])
    store = ReviewStore.load(path)
    for bad in ["4a", "=1+1", " 42", "1" * 65]:
        with pytest.raises(ValueError):
            store.decide(0, bad)
    for row in (1, 2, -1):
        with pytest.raises(KeyError):
            store.decide(row, "1")
        with pytest.raises(KeyError):
            store.clear(row)
    assert raw_cells(path)[0] == COLUMNS  # nothing was saved


def test_failed_save_keeps_the_file_and_the_state(tmp_path, monkeypatch):
    path = write(tmp_path / "e.csv", [entry()])
    store = ReviewStore.load(path)
    before = path.read_bytes()

    def full_disk(source, target):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(OSError):
        store.decide(0, "1")
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert store.item(0).reviewed == "" and store.decisions == 0
    assert [p.name for p in tmp_path.iterdir()] == ["e.csv"]


def test_each_field_says_why_it_was_flagged_with_its_own_threshold(tmp_path):
    path = write(
        tmp_path / "e.csv",
        [
            entry(review_below=0.8),  # 42 with digits at 0.9 and 0.5, scanned with 0.8
            entry(
                field="field_2",
                digit_confidences=(0.9999, 0.9995),
                reasons=(ReviewReason.SEGMENTATION,),
            ),
            entry(field="field_3", digit_confidences=(0.9999, 0.9995), reasons=()),
            entry(
                field="field_4",
                digit_confidences=(0.9999, 0.9989),
                review_below=0.999,
                reasons=(ReviewReason.LOW_CONFIDENCE, ReviewReason.BORDER_TOUCH),
            ),
            entry(
                field="field_5",
                reasons=(
                    ReviewReason.INK_LEFT_OVER,
                    ReviewReason.FAINT_INK,
                    ReviewReason.NOT_DIGITS,
                    ReviewReason.VALIDATION,
                ),
            ),
        ],
    )
    store = ReviewStore.load(path, review_all=True)
    assert store.item(0).why == "Flagged: digit 2, read as 2, is 50% sure (below 0.8)"
    assert store.item(0).review_below == 0.8  # the page's chips use it too
    assert store.item(1).why.startswith("Flagged: the ink may be cut into digits wrongly")
    assert store.item(2).why == ""
    # 0.9989 is not "100% sure (below 0.999)": as many decimals as it takes.
    assert store.item(3).why == (
        "Flagged: digit 2, read as 2, is 99.89% sure (below 0.999); "
        "ink runs into the box border: part of a digit may be cut off"
    )
    assert store.item(4).why.count(";") == 3


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "no such file"),
        ("a,b\n1,2\n", "not an entries CSV"),
        ("", "not a CSV file"),
    ],
)
def test_unusable_entries_csv_is_one_line_usage_error(tmp_path, content, message):
    path = tmp_path / "e.csv"
    if content is not None:
        path.write_text(content)
    with pytest.raises(UsageError) as raised:
        review(ReviewOptions(path, classifier=FakeModel()), quiet, quiet)
    assert isinstance(raised.value, UsageError) and raised.value.exit_code == ExitCode.USAGE
    assert message in str(raised.value) and len(str(raised.value).splitlines()) == 1
    result = cli(str(path))  # and the command says it in one line, exit 2
    assert result.exit_code == ExitCode.USAGE
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_review_error_is_a_usage_error():
    assert issubclass(ReviewError, UsageError) and ReviewError("x").exit_code == ExitCode.USAGE


# --- --apply ---------------------------------------------------------------------------------


def apply_fixture(tmp_path) -> tuple[Path, Path]:
    path = write(
        tmp_path / "e.csv",
        [entry(field=f"field_{i}", value="42") for i in range(5)]
        + [entry(file="=x.png", value="1", reasons=())],
    )
    corrections = tmp_path / "corrections.csv"
    corrections.write_text(
        "file,page,field,reviewed_value,note\n"
        "f.png,1,field_0,42,same\n"
        "f.png,1.0,field_1,0043,spreadsheet page\n"
        "f.png,1,field_2,illegible,\n"
        "f.png,1,field_3,,blank: no decision\n"
        "f.png,2,field_4,1,no such page\n"
        "f.png,1,field_4,4x,not digits\n"
        "'=x.png,1,field_1,7,copied from the entries CSV\n"
    )
    return path, corrections


def test_apply_merges_a_corrections_csv(tmp_path):
    path, corrections = apply_fixture(tmp_path)
    warnings: list[str] = []
    summary = review(
        ReviewOptions(path, apply=corrections, classifier=FakeModel()), quiet, warnings.append
    )
    text = summary.describe()
    assert "Applied 4 decisions" in text
    assert "1 unknown" in text and "1 invalid" in text and "1 blank" in text
    bad_rows = [line for line in warnings if line.startswith(f"{corrections}:")]
    assert len(bad_rows) == 2 and ":6:" in bad_rows[0] and ":7:" in bad_rows[1]
    # The files do not exist: nothing to export, and the terminal is told once per file.
    missing = [line for line in warnings if "source file not found" in line]
    assert [line.split(":")[0] for line in missing] == ["f.png", "=x.png"]
    assert len(warnings) == 4
    assert [e.result.value for e in read_entries(path).entries] == ["42"] * 5 + ["1"]
    assert decisions(path) == [
        ("accepted", "42"),
        ("corrected", "0043"),
        ("illegible", ""),
        ("", ""),
        ("", ""),
        ("corrected", "7"),
    ]
    assert summary.exported is not None and summary.exported.skipped == 3
    assert "Wrote 0 labelled digits" in text


def test_apply_from_the_command_line(tmp_path, fake_review_model):
    path, corrections = apply_fixture(tmp_path)
    result = cli(str(path), "--apply", str(corrections))
    assert result.exit_code == ExitCode.OK, result.output
    assert "Applied 4 decisions" in result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("digitize:")]
    assert len(warnings) == 4, warnings  # 2 bad rows, 2 source files not found
    assert sum("source file not found" in line for line in warnings) == 2


def test_apply_bad_corrections_csv_is_one_line_exit_2(tmp_path):
    path = write(tmp_path / "e.csv", [entry()])
    corrections = tmp_path / "c.csv"
    corrections.write_text("file,page,value\nf.png,1,3\n")
    for argument in (corrections, tmp_path / "missing.csv"):
        with pytest.raises(UsageError) as raised:
            review(ReviewOptions(path, apply=argument, classifier=FakeModel()), quiet, quiet)
        assert str(argument) in str(raised.value) and len(str(raised.value).splitlines()) == 1
        result = cli(str(path), "--apply", str(argument))
        assert result.exit_code == ExitCode.USAGE
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert raw_cells(path)[0] == COLUMNS


# --- the server ------------------------------------------------------------------------------


@pytest.fixture
def served(tmp_path):
    """A server over a small CSV whose files do not exist (no model is ever needed)."""
    path = write(
        tmp_path / "e.csv",
        [
            entry(file=HOSTILE, crop=str(tmp_path / "e.csv")),  # a crop "naming" a non-image
            entry(field="field_2", reasons=(), crop="/etc/passwd"),
            entry(field="field_3"),
        ],
    )
    store = ReviewStore.load(path)
    server = start_server(store, CropSource(store, SourcePages(path, FakeModel())))
    yield server, store
    server.stop()


def request(
    server,
    path: str,
    token: str | None = "",
    method: str = "GET",
    body: object = None,
    host: str | None = None,
) -> tuple[int, dict, bytes]:
    """(status, headers, body); token "" means the server's own, None none at all."""
    token = token_of(server) if token == "" else token
    port = server.server.server_port
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Host": host or f"127.0.0.1:{port}"}
    if token is not None:
        headers["X-Review-Token"] = token
    data = json.dumps(body).encode() if body is not None else None
    connection.request(method, path, body=data, headers=headers)
    response = connection.getresponse()
    result = response.status, dict(response.getheaders()), response.read()
    connection.close()
    return result


def token_of(server) -> str:
    return server.url.split("token=")[1]


def test_requests_without_the_token_are_refused(served):
    server, _ = served
    assert (
        server.url.startswith("http://127.0.0.1:")
        and server.server.server_address[0] == "127.0.0.1"
    )
    for path in ["/", "/static/review.js", "/api/items", "/api/crop/0", "/nothing"]:
        assert request(server, path, token=None)[0] == 403
        assert request(server, path, token="wrong")[0] == 403
        assert request(server, f"{path}?token=wrong", token=None)[0] == 403
    for post in ["/api/decision", "/api/finish"]:
        assert (
            request(server, post, token=None, method="POST", body={"row": 0, "value": "1"})[0]
            == 403
        )
        assert (
            request(server, post, token="wrong", method="POST", body={"row": 0, "value": "1"})[0]
            == 403
        )
        # A POST must carry the token in its header: a form on another site cannot set one.
        assert (
            request(
                server,
                f"{post}?token={token_of(server)}",
                token=None,
                method="POST",
                body={"row": 0, "value": "1"},
            )[0]
            == 403
        )
    assert not server.app.finished.is_set() and server.thread.is_alive()
    # Another host name resolving to 127.0.0.1 (DNS rebinding) is refused, token or not.
    assert request(server, "/api/items", host="evil.example")[0] == 403
    assert request(server, f"/?token={token_of(server)}", token=None)[0] == 200


def test_only_rows_under_review_are_addressable(served):
    server, _ = served
    for path in [
        "/api/crop/0",
        "/api/crop/1",
        "/api/crop/2",
        "/api/crop/3",
        "/api/crop/999999999",
        "/api/crop/-1",
        "/api/crop/x",
        "/api/crop/..%2F..%2Fetc%2Fpasswd",
        "/api/crop/0/../1",
        "/static/../store.py",
        "/static/review.html",
        "/static/%2e%2e/store.py",
        "/etc/passwd",
        "/api/items/../../store.py",
    ]:
        status, _, body = request(server, path)
        assert status == 404, path
        assert b"root:" not in body and b"field_1" not in body


def test_page_holds_no_data_and_forbids_inline_script(served):
    server, _ = served
    status, headers, body = request(server, f"/?token={token_of(server)}", token=None)
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert b"<img src=x" not in body and b"onerror" not in body and b"f.png" not in body
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert (
        headers["X-Content-Type-Options"] == "nosniff"
        and headers["Referrer-Policy"] == "no-referrer"
    )
    status, headers, body = request(server, "/api/items")
    assert headers["Content-Type"] == "application/json"
    item = json.loads(body)["items"][0]
    assert item["file"] == HOSTILE  # data travels as JSON text only
    assert item["review_below"] == 0.99 and item["why"].startswith("Flagged: digit 2")


def test_decisions_through_the_api_are_saved_at_once(served):
    server, store = served
    status, _, body = request(server, "/api/decision", method="POST", body={"row": 2, "value": "7"})
    assert status == 200 and json.loads(body)["done"] == 1 and json.loads(body)["total"] == 2
    assert decisions(store.path) == [("", ""), ("", ""), ("corrected", "7")]
    bad = [
        {"row": 1, "value": "7"},
        {"row": 2, "value": "x"},
        {"row": "2", "value": "7"},
        {"row": True, "value": "7"},
        {"value": "7"},
        [1],
        {"row": 1, "clear": True},
    ]
    assert [request(server, "/api/decision", method="POST", body=b)[0] for b in bad] == [
        404,
        400,
        400,
        400,
        400,
        400,
        404,
    ]
    status, _, body = request(server, "/api/items?order=digit")
    assert status == 200 and json.loads(body)["order"] == "digit"
    assert request(server, "/api/items?order=../../x")[0] == 400


def test_a_decision_can_be_changed_and_cleared_through_the_api(served):
    server, store = served

    def post(body: dict) -> dict:
        status, _, data = request(server, "/api/decision", method="POST", body=body)
        assert status == 200, data
        return json.loads(data)

    assert post({"row": 0, "value": "42"})["item"]["reviewed"] == "accepted"
    changed = post({"row": 0, "value": "43"})  # reopened in the page: decided again
    assert (changed["item"]["reviewed"], changed["item"]["reviewed_value"]) == ("corrected", "43")
    assert changed["done"] == 1
    assert decisions(store.path)[0] == ("corrected", "43")
    assert post({"row": 0, "illegible": True})["item"]["reviewed"] == "illegible"
    cleared = post({"row": 0, "clear": True})  # back to undecided
    assert (cleared["item"]["reviewed"], cleared["done"]) == ("", 0)
    assert decisions(store.path)[0] == ("", "")
    items = json.loads(request(server, "/api/items?order=file")[2])["items"]
    assert [item["reviewed"] for item in items] == ["", ""]


def test_finish_stops_the_server(served):
    server, store = served
    request(server, "/api/decision", method="POST", body={"row": 0, "value": "42"})
    status, _, body = request(server, "/api/finish", method="POST", body={})
    assert status == 200 and json.loads(body) == {"finished": True, "done": 1, "total": 2}
    waiter = threading.Thread(target=server.wait, daemon=True)
    waiter.start()
    waiter.join(5)
    assert not waiter.is_alive()  # wait() returns: the review goes on to export
    assert decisions(store.path)[0] == ("accepted", "42")


# --- the review flow: finish, Ctrl-C, SIGTERM ---------------------------------------------------


def test_finish_over_http_ends_the_review_and_exports(copied, monkeypatch):
    """The whole flow in this process: serve, decide, Finish, then the digits are exported."""
    monkeypatch.chdir(copied)
    urls: queue.Queue[str] = queue.Queue()
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["summary"] = review(
                ReviewOptions(Path("e.csv"), review_all=True, classifier=FakeModel()),
                urls.put,
                quiet,
            )
        except BaseException as error:  # reported by the assertions below
            outcome["error"] = error

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    line = urls.get(timeout=30)
    assert line.startswith("Review at http://127.0.0.1:") and "Finish" in line
    url = line.split()[2]
    port, token = int(url.split(":")[2].split("/")[0]), url.split("token=")[1]
    store = ReviewStore.load(copied / "e.csv")

    def post(path: str, body: dict) -> tuple[int, dict]:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request(
            "POST",
            path,
            body=json.dumps(body).encode(),
            headers={"X-Review-Token": token, "Host": f"127.0.0.1:{port}"},
        )
        response = connection.getresponse()
        result = response.status, json.loads(response.read())
        connection.close()
        return result

    value = store.entries[0].result.value
    assert post("/api/decision", {"row": 0, "value": value})[0] == 200
    assert post("/api/finish", {}) == (
        200,
        {"finished": True, "done": 1, "total": len(store.entries)},
    )
    thread.join(30)
    assert not thread.is_alive() and "error" not in outcome, outcome
    summary = outcome["summary"]
    assert summary.served is Stopped.FINISHED and summary.decisions == 1
    assert summary.exported is not None and summary.exported.written == len(value)
    assert len(list((copied / "e-digits").glob("*/*.png"))) == len(value)
    assert summary.describe().splitlines() == [
        "Saved 1 decisions to e.csv",
        f"Wrote {len(value)} labelled digits to e-digits",
    ]
    with pytest.raises(OSError):  # the server is gone
        post("/api/finish", {})


STOP_SCRIPT = """
import sys
from pathlib import Path
from fakes import FakeModel
from digitize.review.session import ReviewOptions, review
summary = review(ReviewOptions(Path(sys.argv[1]), classifier=FakeModel()),
                 announce=lambda line: print(line, flush=True),
                 warn=lambda line: print("digitize:", line, file=sys.stderr))
print(summary.describe(), file=sys.stderr)
"""


@pytest.mark.parametrize("command", ["library", "cli"])
@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "kill"])
def test_ctrl_c_or_kill_stops_the_review_cleanly(tmp_path, stop, command):
    """A terminal's Ctrl-C and a service manager's SIGTERM both stop it as Finish does, with
    every decision saved (made before the signal, through the page)."""
    path = write(tmp_path / "e.csv", [entry(), entry(field="field_2")])
    argv = (
        [sys.executable, "-c", STOP_SCRIPT, str(path)]
        if command == "library"
        else [sys.executable, "-m", "digitize", "review", str(path)]
    )
    process = subprocess.Popen(
        argv,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "tests")])},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # The test runner may ignore SIGINT for its children; Ctrl-C in a terminal is not ignored.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("Review at http://127.0.0.1:") and "?token=" in line, line
        url = line.split()[2]
        port, token = int(url.split(":")[2].split("/")[0]), url.split("token=")[1]
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request(
            "POST",
            "/api/decision",
            body=json.dumps({"row": 1, "illegible": True}),
            headers={"X-Review-Token": token, "Host": f"127.0.0.1:{port}"},
        )
        assert connection.getresponse().status == 200
        connection.close()
        process.send_signal(stop)
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert out == "" and err.strip() == f"Saved 1 decisions to {path}"
    assert decisions(path) == [("", ""), ("illegible", "")]


# --- crops and digits from a scan ----------------------------------------------------------------


@pytest.fixture(scope="module")
def scanned(tmp_path_factory) -> Path:
    """A folder with two forms and two scans of them: e.csv (no crops) and c.csv (--crops)."""
    folder = tmp_path_factory.mktemp("scanned")
    write_image(folder / "forms" / "a.png", form_page(("42", "7")))
    write_image(folder / "forms" / HOSTILE, form_page(("13",)))
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)  # paths in the CSV are relative, as a person would type them
        for name, crops in (("e.csv", None), ("c.csv", Path("crops"))):
            scan(
                ScanOptions(
                    inputs=["forms"], out=Path(name), workers=1, crops=crops, classifier=FakeModel()
                )
            )
    return folder


@pytest.fixture
def copied(scanned, tmp_path, monkeypatch) -> Path:
    """A private copy of the scanned folder. The tests run from another folder, so the
    CSV's relative paths are found from the CSV's own folder."""
    shutil.copytree(scanned, tmp_path / "work")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    return tmp_path / "work"


def png_pixels(data: bytes | None) -> np.ndarray:
    assert data is not None
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG"
        return np.asarray(image.convert("L"))


def test_crops_are_made_on_demand_like_the_scans_own(copied):
    assert not (Path.cwd() / "forms").exists()  # found beside the CSV, not from here
    store = ReviewStore.load(copied / "e.csv", review_all=True)
    assert {e.result.crop for e in store.entries} == {""}
    crops = CropSource(store, SourcePages(copied / "e.csv", FakeModel()))
    saved = ReviewStore.load(copied / "c.csv", review_all=True)
    saved_crops = CropSource(saved, SourcePages(copied / "c.csv", FakeModel()))
    for index in store.review_rows():
        made = png_pixels(crops.png(index))
        assert made.shape[0] > 20 and made.shape[1] > 20
        assert np.array_equal(made, png_pixels(saved_crops.png(index)))
        assert np.array_equal(
            made, np.asarray(Image.open(copied / saved.entries[index].result.crop))
        )
    server = start_server(store, crops)
    try:
        status, headers, body = request(server, f"/api/crop/0?token={token_of(server)}", token=None)
    finally:
        server.stop()
    assert status == 200 and headers["Content-Type"] == "image/png" and png_pixels(body).size


def moved(store: ReviewStore, index: int, **values) -> None:
    old = store.entries[index]
    store.entries[index] = replace(old, result=replace(old.result, **values))


def test_no_crop_when_the_box_moved_or_the_file_is_gone_and_the_terminal_says_so(copied):
    store = ReviewStore.load(copied / "e.csv", review_all=True)
    assert len(store.entries) == 3
    moved(store, 0, box=(0.1, 0.8, 0.5, 0.9))
    moved(store, 1, file="forms/gone.png")
    moved(store, 2, file="forms/gone.png")
    warnings: list[str] = []
    crops = CropSource(store, SourcePages(copied / "e.csv", FakeModel(), warn=warnings.append))
    assert crops.png(0) is None and crops.png(1) is None and crops.png(2) is None
    assert len(warnings) == 1, warnings  # once per file, not per field
    assert warnings[0].startswith("forms/gone.png: source file not found")
    assert str(copied.resolve()) in warnings[0]  # where it looked


def test_classifier_is_loaded_only_when_a_page_is_read(copied):
    loads: list[int] = []

    def loader(threads: int | None = None):
        loads.append(1)
        return FakeModel()()

    saved = ReviewStore.load(copied / "c.csv", review_all=True)
    crops = CropSource(saved, SourcePages(copied / "c.csv", loader))
    assert all(crops.png(i) for i in saved.review_rows()) and loads == []
    pages = SourcePages(copied / "e.csv", loader)
    assert pages.field(saved.entries[0].result) is not None
    assert pages.field(saved.entries[1].result) is not None and loads == [1]


@pytest.mark.slow
def test_digit_export_writes_each_digit_once(copied):
    store = ReviewStore.load(copied / "e.csv", review_all=True)
    for index, found in enumerate(store.entries):
        store.record(index, found.result.value)  # every field confirmed as read
    last = store.entries[-1]
    assert last.decision is not None
    # One more digit than the ink shows: no labels.
    store.entries[-1] = replace(
        last, decision=replace(last.decision, value=last.decision.value + "9")
    )
    store.save()
    directory = default_digits_dir(copied / "e.csv")
    assert directory == copied / "e-digits"
    first = export_digits(store.labelled(), SourcePages(copied / "e.csv", FakeModel()), directory)
    expected = sum(len(e.result.value) for e in store.entries[:-1])
    assert expected > 0
    assert (first.written, first.duplicates, first.skipped) == (expected, 0, 1)
    files = sorted(directory.glob("*/*.png"))
    assert len(files) == expected
    for file in files:
        assert file.parent.name in "0123456789"
        assert Image.open(file).size == (28, 28)
    assert not list(directory.glob("*/.*"))  # no temporary file left
    second = export_digits(store.labelled(), SourcePages(copied / "e.csv", FakeModel()), directory)
    assert (second.written, second.duplicates) == (0, expected)
    assert sorted(directory.glob("*/*.png")) == files


def test_apply_then_export(copied, monkeypatch):
    monkeypatch.chdir(copied)
    rows = read_entries(copied / "e.csv").entries
    values = [e.result.value for e in rows]
    corrections = copied / "fix.csv"
    pd.DataFrame(
        {
            "file": [e.result.file for e in rows],
            "page": [e.result.page for e in rows],
            "field": [e.result.field for e in rows],
            "reviewed_value": ["illegible", *values[1:]],
        }
    ).to_csv(corrections, index=False)
    summary = review(
        ReviewOptions(Path("e.csv"), apply=Path("fix.csv"), classifier=FakeModel()), quiet, quiet
    )
    digits = sum(len(value) for value in values[1:])
    assert f"Wrote {digits} labelled digits to e-digits" in summary.describe()
    assert len(list((copied / "e-digits").glob("*/*.png"))) == digits
    assert decisions(copied / "e.csv")[0] == ("illegible", "")


def test_nothing_to_review_says_so(tmp_path):
    path = write(
        tmp_path / "e.csv",
        [entry(reasons=()), entry(decision=ReviewDecision(ReviewStatus.ILLEGIBLE, ""))],
    )
    summary = review(ReviewOptions(path, classifier=FakeModel()), quiet, quiet)
    assert summary.served is None and summary.exported is None
    assert summary.describe() == (
        f"Nothing to review in {path}: 1 flagged fields (--all reviews every field), 1 reviewed "
        "(--reopen changes decisions)"
    )


def test_reopen_serves_the_page_when_every_field_is_decided(tmp_path, monkeypatch):
    path = write(tmp_path / "e.csv", [entry(decision=ReviewDecision(ReviewStatus.ACCEPTED, "42"))])
    calls = []

    def finished_at_once(store, crops, order, announce):
        calls.append(store.counts())
        return Stopped.FINISHED

    monkeypatch.setattr("digitize.review.session.serve_until_finished", finished_at_once)
    summary = review(ReviewOptions(path, reopen=True, classifier=FakeModel()), quiet, quiet)
    assert calls == [(1, 1)] and summary.served is Stopped.FINISHED
