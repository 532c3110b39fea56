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


def png_chunk(kind: bytes, data: bytes) -> bytes:
    """One PNG chunk: length, type, data and CRC, as a PNG decoder checks it."""
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def write_png_with_chunk(path: Path, page: np.ndarray, chunk: bytes, after_pixels: bool) -> Path:
    """A good PNG of `page` with `chunk` spliced in before its pixels (read when the file is
    opened) or after them (read when the pixels are decoded)."""
    good = write_image(path, page).read_bytes()
    signature_and_header = 8 + 25  # the signature, then IHDR: always first, always 13 bytes
    end = len(good) - 12  # IEND: always last, always empty
    at = end if after_pixels else signature_and_header
    path.write_bytes(good[:at] + chunk + good[at:])
    return path


def inflating_chunk(kind: bytes, inflated_bytes: int = 5 * 2**20) -> bytes:
    """A zTXt, iTXt or iCCP chunk of a few kB that inflates to `inflated_bytes` (a metadata
    decompression bomb)."""
    deflated = zlib.compress(b"A" * inflated_bytes, 9)
    head = {
        b"zTXt": b"Comment\0\0",  # keyword, compression method
        b"iTXt": b"Comment\0\1\0\0\0",  # keyword, compressed, method, no language, no key
        b"iCCP": b"profile\0\0",  # profile name, compression method
    }[kind]
    return png_chunk(kind, head + deflated)


def write_tiff_page_without_width(path: Path, page: np.ndarray) -> Path:
    """A two-page TIFF whose second page's directory lacks ImageWidth (Pillow's TypeError
    "Missing dimensions" when it seeks there)."""
    images = [Image.fromarray(page), Image.fromarray(page)]
    images[0].save(path, save_all=True, append_images=images[1:])
    data = bytearray(path.read_bytes())
    assert data[:2] == b"II", "Pillow writes little-endian TIFFs"
    first = struct.unpack_from("<I", data, 4)[0]
    entries = struct.unpack_from("<H", data, first)[0]
    second = struct.unpack_from("<I", data, first + 2 + 12 * entries)[0]
    for index in range(struct.unpack_from("<H", data, second)[0]):
        entry = second + 2 + 12 * index
        if struct.unpack_from("<H", data, entry)[0] == 256:  # ImageWidth
            struct.pack_into("<H", data, entry, 65000)  # an unknown private tag instead
    path.write_bytes(bytes(data))
    return path


def raw_pdf(pages: list[dict[str, str]]) -> bytes:
    """A PDF written by hand: one empty page per dict of page entries, e.g.
    {"MediaBox": "[0 0 14400 14400]", "CropBox": "[0 0 612 792]"}, with a correct xref."""
    kids = " ".join(f"{3 + index} 0 R" for index in range(len(pages)))
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>",
        *(
            "<< /Type /Page /Parent 2 0 R "
            + " ".join(f"/{key} {value}" for key, value in entries.items())
            + " >>"
            for entries in pages
        ),
    ]
    data = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(data))
        data += f"{number} 0 obj\n{body}\nendobj\n".encode()
    xref = len(data)
    data += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    data += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    data += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\n".encode()
    data += f"startxref\n{xref}\n%%EOF\n".encode()
    return data
