"""Small inputs made on the fly: forms with printed boxes and handwriting-like digits, blank
pages, and every kind of broken file `digitize scan` must survive.

Digits are drawn with OpenCV's Hershey font in thick strokes: enough for the boxes to be found
and digits to be read. Tests assert on behaviour only, never on the digits read (the model in
digitize/models/ is replaced as it improves).
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
PAGE_SIZE = (1700, 2200)  # width, height: US letter at 200 DPI
DPI = 200


def form_page(values: tuple[str, ...] = ("42", "7")) -> np.ndarray:
    """A white page with one printed box per value, the value written inside in thick strokes."""
    width, height = PAGE_SIZE
    page = np.full((height, width), 255, np.uint8)
    for index, value in enumerate(values):
        top = 400 + index * 400
        cv2.rectangle(page, (300, top), (800, top + 160), 0, 3)
        cv2.putText(page, value, (340, top + 130), cv2.FONT_HERSHEY_SIMPLEX, 4, 0, 14)
    return page


def blank_page() -> np.ndarray:
    width, height = PAGE_SIZE
    return np.full((height, width), 255, np.uint8)


def write_image(path: Path, page: np.ndarray) -> Path:
    """PNG, JPEG or TIFF by the suffix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(page).save(path, dpi=(DPI, DPI))
    return path


def write_pdf(path: Path, pages: list[np.ndarray]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    images = [Image.fromarray(page) for page in pages]
    images[0].save(path, save_all=True, append_images=images[1:], resolution=DPI)
    return path


def write_truncated(path: Path, source: Path, keep: float = 0.5) -> Path:
    """The first `keep` of a good file, as left by an interrupted copy or download."""
    data = source.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


def write_bomb_png(path: Path, width: int = 60000, height: int = 60000) -> Path:
    """A valid 80-byte PNG whose header claims width x height pixels (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grayscale
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 1024))
        + chunk(b"IEND", b"")
    )
    return path


def write_corrupt_png(path: Path) -> Path:
    """A PNG signature followed by garbage: no decoder can identify it."""
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    return path


def run_digitize(
    args: list[str], cwd: Path, user_models: Path, timeout: int = 300
) -> subprocess.CompletedProcess:
    """The real command in its own process (true stderr, true exit code), shipped model active."""
    env = {**os.environ, "DIGITIZE_MODEL_DIR": str(user_models), "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "digitize", *args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def non_utf8_name(directory: Path, raw_name: bytes) -> Path:
    """A path in `directory` whose file name is bytes that are not UTF-8 (b"form\\xff.png"), as
    Python spells it (os.fsdecode: the undecodable bytes as surrogate escapes)."""
    return directory / os.fsdecode(raw_name)
