"""A bad `--extra-digits` folder is a usage error (exit 2), one line, before any training:
missing, a file, no digits, damaged PNGs, a decompression bomb, a text chunk that inflates past
Pillow's limit. And a damaged model card is one line too (exit 3)."""

from __future__ import annotations

import io
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, PngImagePlugin
from typer.testing import CliRunner

from digitize.errors import ModelError, UsageError
from model_training.dataset import ExtraDigitsError, load_extra_digits

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png(width: int = 28, height: int = 28, before_pixels: bytes = b"") -> bytes:
    """An 8-bit grey PNG whose header claims `width` x `height`. Its pixel data is one black
    28x28 image whatever the claim, so a huge claim costs nothing to write (and is refused by
    Pillow's pixel limit before any pixel is decoded)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"".join(b"\0" + bytes(28) for _ in range(28)))
    return (
        PNG_SIGNATURE
        + _chunk(b"IHDR", header)
        + before_pixels
        + _chunk(b"IDAT", pixels)
        + _chunk(b"IEND", b"")
    )


def _inflating_text(kind: bytes) -> bytes:
    """A zTXt or iTXt chunk of a few kB that inflates to twice Pillow's text-chunk limit."""
    text = zlib.compress(b"a" * (2 * PngImagePlugin.MAX_TEXT_CHUNK), 9)
    if kind == b"zTXt":  # keyword, NUL, method 0, compressed text
        return _chunk(kind, b"Comment\0\0" + text)
    # keyword, NUL, compressed, method 0, language NUL, translated keyword NUL, text
    return _chunk(kind, b"Comment\0\x01\0\0\0" + text)


def _good_png() -> bytes:
    buffer = io.BytesIO()
    noise = np.random.default_rng(0).integers(0, 256, (28, 28), np.uint8)
    Image.fromarray(noise).save(buffer, format="PNG")
    return buffer.getvalue()


def _with_one(tmp_path: Path, data: bytes) -> Path:
    folder = tmp_path / "digits"
    (folder / "3").mkdir(parents=True)
    (folder / "3" / "good.png").write_bytes(_good_png())
    (folder / "3" / "bad.png").write_bytes(data)
    return folder


def _missing(tmp_path: Path) -> Path:
    return tmp_path / "nope"


def _a_file(tmp_path: Path) -> Path:
    path = tmp_path / "digit.png"
    path.write_bytes(_good_png())
    return path


def _no_digits(tmp_path: Path) -> Path:
    folder = tmp_path / "digits"
    for name in ("x", "10"):  # not labels 0-9
        (folder / name).mkdir(parents=True)
        (folder / name / "0.png").write_bytes(_good_png())
    (folder / "3").mkdir()
    (folder / "3" / "notes.txt").write_text("not a digit")
    return folder


BAD_FOLDERS = {
    "missing": (_missing, "folder not found"),
    "a file": (_a_file, "is a file, not a folder"),
    "no digits": (_no_digits, "no digits found"),
    "truncated": (lambda tmp: _with_one(tmp, _good_png()[:120]), "cannot read extra digit"),
    "bad crc": (
        lambda tmp: _with_one(tmp, _good_png()[:-20] + b"\0" * 8 + _good_png()[-12:]),
        "cannot read extra digit",
    ),
    "not a png": (lambda tmp: _with_one(tmp, b"GIF89a, honest"), "cannot read extra digit"),
    "bomb": (lambda tmp: _with_one(tmp, _png(30000, 30000)), "too large"),
    "zTXt": (lambda tmp: _with_one(tmp, _png(before_pixels=_inflating_text(b"zTXt"))), "too large"),
    "iTXt": (lambda tmp: _with_one(tmp, _png(before_pixels=_inflating_text(b"iTXt"))), "too large"),
}


@pytest.mark.parametrize("case", BAD_FOLDERS, ids=list(BAD_FOLDERS))
def test_bad_extra_digits_are_one_line_usage_errors(case, tmp_path):
    make, message = BAD_FOLDERS[case]
    folder = make(tmp_path)
    with pytest.raises(ExtraDigitsError) as raised:
        load_extra_digits(folder)
    error = raised.value
    assert isinstance(error, UsageError) and error.exit_code == 2
    assert message in str(error).lower() and len(str(error).splitlines()) == 1
    assert str(folder) in str(error)


def test_the_bad_pngs_are_what_they_say():
    """The generated files really hit Pillow's limits (else the test above proves little)."""
    with pytest.raises(Image.DecompressionBombError):
        Image.open(io.BytesIO(_png(30000, 30000)))
    for kind in (b"zTXt", b"iTXt"):
        with pytest.raises(ValueError, match=r"(?i)decompressed data too large"):
            Image.open(io.BytesIO(_png(before_pixels=_inflating_text(kind)))).load()
    assert Image.open(io.BytesIO(_png())).size == (28, 28)


@pytest.fixture
def cli_retrain(tmp_path, mnist_dir):
    """`digitize retrain --no-search` in this process, into a model directory of the test's."""

    def run(*extra: str):
        from digitize.cli import app

        arguments = ["retrain", "--no-search", "--mnist-dir", str(mnist_dir), "--final-epochs", "1"]
        arguments += [
            "--search-dir",
            str(tmp_path / "search"),
            "--model-dir",
            str(tmp_path / "models"),
        ]
        return CliRunner().invoke(app, [*arguments, *extra])

    return run


@pytest.mark.parametrize("case", ["missing", "a file", "bomb", "zTXt"])
def test_retrain_stops_on_bad_extra_digits_before_training(case, cli_retrain, tmp_path):
    folder = BAD_FOLDERS[case][0](tmp_path)
    result = cli_retrain("--extra-digits", str(folder))
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("digitize: "), result.output
    assert not (tmp_path / "search").exists()  # nothing was started


@pytest.mark.parametrize(
    "card",
    ['{"test_accuracy": 0.99,', "[0.99]", '{"hyperparameters": {"dropout": 0.25}}'],
    ids=["not JSON", "not an object", "no accuracy"],
)
def test_damaged_model_card_is_one_line(card, cli_retrain, tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    (models / "digits.json").write_text(card)
    result = cli_retrain()
    assert result.exit_code == ModelError.exit_code == 3, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "digits.json" in lines[0], result.output
    assert not (tmp_path / "search").exists()  # nothing was started


def test_bad_extra_digits_from_the_command_line(tmp_path, mnist_dir):
    """The real command: exit 2, exactly one line on stderr (no traceback, no TensorFlow
    start-up chatter), nothing on stdout."""
    folder = BAD_FOLDERS["truncated"][0](tmp_path)
    command = [
        sys.executable,
        "-m",
        "digitize",
        "retrain",
        "--no-search",
        "--extra-digits",
        str(folder),
    ]
    command += ["--mnist-dir", str(mnist_dir), "--model-dir", str(tmp_path / "models")]
    command += ["--search-dir", str(tmp_path / "search")]
    run = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert run.returncode == 2, run.stdout + run.stderr
    assert run.stderr.count("\n") == 1 and "bad.png" in run.stderr, run.stderr
    assert run.stdout == ""


def test_damaged_model_to_compare_extra_digits_with_fails_before_training(cli_retrain, tmp_path):
    """The model the extra digits are compared with is loaded at the start: damaged, it is one
    line before any training, not a traceback after it."""
    models = tmp_path / "models"
    models.mkdir()
    (models / "digits.json").write_text('{"test_accuracy": 0.99}')
    (models / "digits.keras").write_bytes(b"PK\x03\x04 not a keras archive")
    folder = tmp_path / "digits"
    for label in "0123456789":
        (folder / label).mkdir(parents=True)
        (folder / label / "a.png").write_bytes(_good_png())
    result = cli_retrain("--extra-digits", str(folder))
    assert result.exit_code == ModelError.exit_code == 3, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "digits.keras" in lines[0], result.output
    assert not (tmp_path / "search").exists()  # nothing was started
