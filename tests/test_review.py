"""`digitize review`: the store (what to review, order, decisions saved into the CSV), the
--apply merge, the server's token and addressing rules, crops made on demand, digit export.

Store and server tests use small hand-made entries CSVs; crop and export tests use a real
`digitize scan` of synthetic forms, in this process (TensorFlow loads once). Nothing here
depends on which digits the model reads.
"""

from __future__ import annotations

import csv
import http.client
import io
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from typer.testing import CliRunner

from digitize.cli import app
from digitize.exit_codes import ExitCode
from digitize.output import COLUMNS, read_entries, write_csv
from digitize.review.crops import CropSource
from digitize.review.export import default_digits_dir, export_digits
from digitize.review.server import start_server
from digitize.review.source import SourcePages
from digitize.review.store import REVIEW_COLUMNS, ReviewStore
from digitize.scan import ScanOptions, scan
from synthetic_forms import REPO, form_page, write_image

HOSTILE = "<img src=x onerror=alert(1)>.png"


def entry(**values) -> dict:
    row = {"file": "f.png", "page": 1, "field": "field_1", "value": "42", "confidence": 0.5,
           "needs_review": "true", "x0": 0.1, "y0": 0.2, "x1": 0.3, "y1": 0.4,
           "digit_confidences": "0.9;0.5", "crop": ""}
    return {**row, **values}


def write_entries(path: Path, rows: list[dict]) -> Path:
    write_csv(rows, path, COLUMNS)
    return path


def raw_cells(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as stream:
        return list(csv.reader(stream))


def cli(*arguments: str):
    result = CliRunner().invoke(app, ["review", *arguments])
    assert "Traceback" not in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    return result


# --- the store -------------------------------------------------------------------------------

def test_save_adds_review_columns_and_keeps_the_rest(tmp_path):
    path = write_entries(tmp_path / "e.csv", [entry(file="=x.png", value="007", digit_confidences="0.9;0.8;0.7"),
                                              entry(field="field_2", needs_review="false")])
    before = raw_cells(path)
    store = ReviewStore.load(path)
    store.decide(0, "008")
    cells = raw_cells(path)
    assert cells[0] == COLUMNS + REVIEW_COLUMNS
    assert [row[:len(COLUMNS)] for row in cells] == before  # byte for byte: value, numbers, safety
    back = read_entries(path)
    assert back.loc[0, ["value", "reviewed_value", "reviewed"]].tolist() == ["007", "008", "corrected"]
    assert back.loc[1, ["reviewed_value", "reviewed"]].tolist() == ["", ""]
    assert back.loc[0, "file"] == "=x.png"
    assert [p.name for p in tmp_path.iterdir()] == ["e.csv"]  # no temporary file left


def test_flagged_fields_only_unless_all(tmp_path):
    path = write_entries(tmp_path / "e.csv", [entry(), entry(needs_review="false"), entry(field="field_3")])
    assert ReviewStore.load(path).review_rows() == [0, 2]
    assert ReviewStore.load(path, review_all=True).review_rows() == [0, 1, 2]


def test_order_by_confidence_lowest_first(tmp_path):
    confidences = [0.8, 0.1, 0.5, 0.1]
    path = write_entries(tmp_path / "e.csv", [entry(field=f"field_{i}", confidence=c)
                                              for i, c in enumerate(confidences)])
    store = ReviewStore.load(path)
    assert [item.row for item in store.items("confidence")] == [1, 3, 2, 0]  # ties: CSV order
    assert [item.row for item in store.items("file")] == [0, 1, 2, 3]


def test_group_by_the_least_certain_digit(tmp_path):
    rows = [
        entry(value="71", digit_confidences="0.30;0.99", confidence=0.3),  # 7 is doubtful
        entry(value="31", digit_confidences="0.99;0.20", confidence=0.2),  # 1 is doubtful
        entry(value="", digit_confidences="", confidence=1.0),  # no digits: last
        entry(value="17", digit_confidences="0.99;0.10", confidence=0.1),  # 7 is doubtful
        entry(value="5", digit_confidences="0.6", confidence=0.6),
    ]
    store = ReviewStore.load(write_entries(tmp_path / "e.csv", rows))
    items = store.items("digit")
    assert [(item.group, item.row) for item in items] == [("1", 1), ("5", 4), ("7", 3), ("7", 0), ("", 2)]
    assert items[0].digits == [("3", 0.99), ("1", 0.2)]


def test_decisions_and_resume(tmp_path):
    path = write_entries(tmp_path / "e.csv", [entry(field=f"field_{i}") for i in range(4)])
    store = ReviewStore.load(path)
    assert store.decide(0, "42").reviewed == "accepted"
    assert store.decide(1, "43").reviewed == "corrected"
    assert store.decide(2, None).reviewed == "illegible"
    assert store.decisions == 3
    again = ReviewStore.load(path)  # a second review picks up where the first stopped
    assert again.counts() == (3, 4)
    assert [(i.reviewed, i.reviewed_value) for i in again.items("file")] == [
        ("accepted", "42"), ("corrected", "43"), ("illegible", ""), ("", "")]
    assert read_entries(path)["value"].tolist() == ["42"] * 4


def test_decide_refuses_non_digits_and_fields_not_under_review(tmp_path):
    path = write_entries(tmp_path / "e.csv", [entry(), entry(needs_review="false")])
    store = ReviewStore.load(path)
    for bad in ["4a", "=1+1", " 42", "1" * 65]:
        with pytest.raises(ValueError):
            store.decide(0, bad)
    for row in (1, 2, -1):
        with pytest.raises(KeyError):
            store.decide(row, "1")
    assert read_entries(path).columns.tolist() == COLUMNS  # nothing was saved


def test_failed_save_keeps_the_file_and_the_state(tmp_path, monkeypatch):
    path = write_entries(tmp_path / "e.csv", [entry()])
    store = ReviewStore.load(path)
    before = path.read_bytes()

    def full_disk(self, stream, **kwargs):
        stream.write("half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", full_disk)
    with pytest.raises(OSError):
        store.decide(0, "1")
    assert path.read_bytes() == before
    assert store.item(0).reviewed == "" and store.decisions == 0
    assert [p.name for p in tmp_path.iterdir()] == ["e.csv"]


def test_each_field_says_why_it_was_flagged(tmp_path):
    path = write_entries(tmp_path / "e.csv", [
        entry(),  # 42 with digits at 0.9 and 0.5
        entry(field="field_2", digit_confidences="0.9999;0.9995"),
        entry(field="field_3", needs_review="false", digit_confidences="0.9999;0.9995"),
    ])
    store = ReviewStore.load(path, review_all=True)
    assert store.item(0).why == "Flagged: digit 2, read as 2, is 50% sure"
    assert "segmentation" in store.item(1).why
    assert store.item(2).why == ""


@pytest.mark.parametrize("content, message", [
    (None, "no such file"),
    ("a,b\n1,2\n", "not an entries CSV"),
    ("", "not a CSV file"),
])
def test_unusable_entries_csv_is_one_line_exit_2(tmp_path, content, message):
    path = tmp_path / "e.csv"
    if content is not None:
        path.write_text(content)
    result = cli(str(path))
    assert result.exit_code == ExitCode.USAGE
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


# --- --apply ---------------------------------------------------------------------------------

def test_apply_merges_a_corrections_csv(tmp_path):
    path = write_entries(tmp_path / "e.csv", [entry(field=f"field_{i}", value="42") for i in range(5)]
                         + [entry(file="=x.png", value="1", needs_review="false")])
    corrections = tmp_path / "corrections.csv"
    corrections.write_text(
        "file,page,field,reviewed_value,note\n"
        "f.png,1,field_0,42,same\n"
        "f.png,1.0,field_1,0043,spreadsheet page\n"
        "f.png,1,field_2,illegible,\n"
        "f.png,1,field_3,,blank: no decision\n"
        "f.png,2,field_4,1,no such page\n"
        "f.png,1,field_4,4x,not digits\n"
        "'=x.png,1,field_1,7,copied from the entries CSV\n")
    result = cli(str(path), "--apply", str(corrections))
    assert result.exit_code == ExitCode.OK, result.output
    assert "Applied 4 decisions" in result.stderr
    assert "1 unknown" in result.stderr and "1 invalid" in result.stderr and "1 blank" in result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("digitize:")]
    assert len(warnings) == 2 and ":6:" in warnings[0] and ":7:" in warnings[1]
    back = read_entries(path)
    assert back["value"].tolist() == ["42"] * 5 + ["1"]
    assert back["reviewed"].tolist() == ["accepted", "corrected", "illegible", "", "", "corrected"]
    assert back["reviewed_value"].tolist() == ["42", "0043", "", "", "", "7"]


def test_apply_bad_corrections_csv_is_one_line_exit_2(tmp_path):
    path = write_entries(tmp_path / "e.csv", [entry()])
    corrections = tmp_path / "c.csv"
    corrections.write_text("file,page,value\nf.png,1,3\n")
    for argument in (corrections, tmp_path / "missing.csv"):
        result = cli(str(path), "--apply", str(argument))
        assert result.exit_code == ExitCode.USAGE
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert read_entries(path).columns.tolist() == COLUMNS


# --- the server ------------------------------------------------------------------------------

@pytest.fixture
def served(tmp_path):
    """A server over a small CSV whose files do not exist (no model is ever needed)."""
    path = write_entries(tmp_path / "e.csv", [
        entry(file=HOSTILE, crop=str(tmp_path / "e.csv")),  # a crop "naming" a non-image
        entry(field="field_2", needs_review="false", crop="/etc/passwd"),
        entry(field="field_3"),
    ])
    store = ReviewStore.load(path)
    server = start_server(store, CropSource(store, SourcePages(path)))
    yield server, store
    server.stop()


def request(server, path: str, token: str | None = "", method: str = "GET", body: dict | None = None,
            host: str | None = None) -> tuple[int, dict, bytes]:
    """(status, headers, body); token "" means the server's own, None none at all."""
    token = server.url.split("token=")[1] if token == "" else token
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
    assert server.url.startswith("http://127.0.0.1:") and server.server.server_address[0] == "127.0.0.1"
    for path in ["/", "/static/review.js", "/api/items", "/api/crop/0", "/nothing"]:
        assert request(server, path, token=None)[0] == 403
        assert request(server, path, token="wrong")[0] == 403
        assert request(server, f"{path}?token=wrong", token=None)[0] == 403
    assert request(server, "/api/decision", token=None, method="POST", body={"row": 0, "value": "1"})[0] == 403
    # A POST must carry the token in its header: a form on another site cannot set one.
    assert request(server, f"/api/decision?token={token_of(server)}", token=None, method="POST",
                   body={"row": 0, "value": "1"})[0] == 403
    # Another host name resolving to 127.0.0.1 (DNS rebinding) is refused, token or not.
    assert request(server, "/api/items", host="evil.example")[0] == 403
    assert request(server, f"/?token={token_of(server)}", token=None)[0] == 200


def test_only_rows_under_review_are_addressable(served):
    server, _ = served
    for path in ["/api/crop/0", "/api/crop/1", "/api/crop/2", "/api/crop/3", "/api/crop/999999999",
                 "/api/crop/-1", "/api/crop/x", "/api/crop/..%2F..%2Fetc%2Fpasswd", "/api/crop/0/../1",
                 "/static/../store.py", "/static/review.html", "/static/%2e%2e/store.py",
                 "/etc/passwd", "/api/items/../../store.py"]:
        status, _, body = request(server, path)
        assert status == 404, path
        assert b"root:" not in body and b"field_1" not in body


def test_page_holds_no_data_and_forbids_inline_script(served):
    server, _ = served
    status, headers, body = request(server, f"/?token={token_of(server)}", token=None)
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert b"<img src=x" not in body and b"onerror" not in body and b"f.png" not in body
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["Referrer-Policy"] == "no-referrer"
    status, headers, body = request(server, "/api/items")
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body)["items"][0]["file"] == HOSTILE  # data travels as JSON text only


def test_decisions_through_the_api_are_saved_at_once(served):
    server, store = served
    status, _, body = request(server, "/api/decision", method="POST", body={"row": 2, "value": "7"})
    assert status == 200 and json.loads(body)["done"] == 1 and json.loads(body)["total"] == 2
    assert read_entries(store.path)["reviewed"].tolist() == ["", "", "corrected"]
    bad = [{"row": 1, "value": "7"}, {"row": 2, "value": "x"}, {"row": "2", "value": "7"},
           {"row": True, "value": "7"}, {"value": "7"}, [1]]
    assert [request(server, "/api/decision", method="POST", body=b)[0] for b in bad] == [404, 400, 400, 400, 400, 400]
    status, _, body = request(server, "/api/items?order=digit")
    assert status == 200 and json.loads(body)["order"] == "digit"
    assert request(server, "/api/items?order=../../x")[0] == 400


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "kill"])
def test_ctrl_c_or_kill_stops_the_command_cleanly(tmp_path, stop):
    """A terminal's Ctrl-C and a service manager's SIGTERM both stop it as a person would."""
    path = write_entries(tmp_path / "e.csv", [entry()])
    process = subprocess.Popen(
        [sys.executable, "-m", "digitize", "review", str(path)], cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        # The test runner may ignore SIGINT for its children; Ctrl-C in a terminal is not ignored.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        line = process.stdout.readline()
        assert line.startswith("Review at http://127.0.0.1:") and "?token=" in line, line
        process.send_signal(stop)
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert out == "" and err.strip() == f"Saved 0 decisions to {path}"


# --- crops and digits from a real scan ---------------------------------------------------------

@pytest.fixture(scope="module")
def scanned(tmp_path_factory) -> Path:
    """A folder with two forms and two scans of them: e.csv (no crops) and c.csv (--crops)."""
    folder = tmp_path_factory.mktemp("scanned")
    write_image(folder / "forms" / "a.png", form_page(("42", "7")))
    write_image(folder / "forms" / HOSTILE, form_page(("13",)))
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)  # paths in the CSV are relative, as a person would type them
        for name, crops in (("e.csv", None), ("c.csv", Path("crops"))):
            scan(ScanOptions(inputs=["forms"], out=Path(name), workers=1, crops=crops))
    return folder


@pytest.fixture
def copied(scanned, tmp_path) -> Path:
    """A private copy of the scanned folder; the tests run from elsewhere (the CSV's folder is
    where the relative paths are found)."""
    shutil.copytree(scanned, tmp_path / "work")
    return tmp_path / "work"


def png_pixels(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG"
        return np.asarray(image.convert("L"))


def test_crops_are_made_on_demand_like_the_scans_own(copied):
    store = ReviewStore.load(copied / "e.csv", review_all=True)
    assert set(store.rows[i]["crop"] for i in range(len(store.rows))) == {""}
    crops = CropSource(store, SourcePages(copied / "e.csv"))
    saved = ReviewStore.load(copied / "c.csv", review_all=True)
    saved_crops = CropSource(saved, SourcePages(copied / "c.csv"))
    for index in store.review_rows():
        made = png_pixels(crops.png(index))
        assert made.shape[0] > 20 and made.shape[1] > 20
        assert np.array_equal(made, png_pixels(saved_crops.png(index)))
        assert np.array_equal(made, np.asarray(Image.open(copied / saved.rows[index]["crop"])))
    server = start_server(store, crops)
    try:
        status, headers, body = request(server, f"/api/crop/0?token={token_of(server)}", token=None)
    finally:
        server.stop()
    assert status == 200 and headers["Content-Type"] == "image/png" and png_pixels(body).size


def test_no_crop_when_the_box_moved_or_the_file_is_gone(copied):
    store = ReviewStore.load(copied / "e.csv", review_all=True)
    store.rows[0]["y0"], store.rows[0]["y1"] = "0.8", "0.9"
    store.rows[1]["file"] = "forms/gone.png"
    crops = CropSource(store, SourcePages(copied / "e.csv"))
    assert crops.png(0) is None and crops.png(1) is None and crops.png(2) is not None


def test_digit_export_writes_each_digit_once(copied):
    store = ReviewStore.load(copied / "e.csv", review_all=True)
    for index, row in enumerate(store.rows):
        store.record(index, row["value"])  # every field confirmed as read
    store.rows[-1]["reviewed_value"] += "9"  # one more digit than the ink shows: no labels
    store.save()
    pages = SourcePages(copied / "e.csv")
    directory = default_digits_dir(copied / "e.csv")
    assert directory == copied / "e-digits"
    first = export_digits(store.labelled_rows(), pages, directory)
    expected = sum(len(row["reviewed_value"]) for row in store.rows[:-1])
    assert expected > 0
    assert (first.written, first.duplicates, first.skipped) == (expected, 0, 1)
    files = sorted(directory.glob("*/*.png"))
    assert len(files) == expected
    for file in files:
        assert file.parent.name in "0123456789"
        assert Image.open(file).size == (28, 28)
    second = export_digits(store.labelled_rows(), SourcePages(copied / "e.csv"), directory)
    assert (second.written, second.duplicates) == (0, expected)
    assert sorted(directory.glob("*/*.png")) == files


def test_apply_then_export_from_the_command_line(copied, monkeypatch):
    monkeypatch.chdir(copied)
    rows = read_entries(copied / "e.csv")
    corrections = copied / "fix.csv"
    pd.DataFrame({"file": rows["file"], "page": rows["page"], "field": rows["field"],
                  "reviewed_value": ["illegible"] + rows["value"].tolist()[1:]}).to_csv(corrections, index=False)
    result = cli("e.csv", "--apply", "fix.csv")
    assert result.exit_code == ExitCode.OK, result.output
    digits = sum(len(value) for value in rows["value"].tolist()[1:])
    assert f"Wrote {digits} labelled digits to e-digits" in result.stderr
    assert len(list((copied / "e-digits").glob("*/*.png"))) == digits
    assert read_entries(copied / "e.csv")["reviewed"].tolist()[0] == "illegible"
