"""Fuzzed page input (issue 13, part A): small valid PNG, JPEG, TIFF (one page and several) and
PDF files, their bytes mutated (bits flipped, bytes or 2-/4-byte numbers overwritten, the file
cut short, a stretch repeated, garbage inserted; a PNG's CRCs mostly made right again, so that
the damage reaches the chunk readers and the decoder), each mutant pushed through what a scan
does with a file: count its pages (`count_pages`), then load each (`load_page`). A mutant may
fail, but only with our own one-line error (a `DigitizeError`, in practice an InputError); a
page it does give is a 2-D uint8 array with pixels in it; none takes over SLOW_S seconds.

Deterministic: every mutant comes from its format's file and a fixed seed. A failure names the
format, seed, mutations and what escaped; `mutant(FORMATS[name], seed)` gives the bytes again.
No model is loaded: about 1,200 mutants in under 10 s on 2 cores, most of it poppler's.
"""

from __future__ import annotations

import faulthandler
import io
import random
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from digitize.errors import DigitizeError
from digitize.pages import count_pages, load_page

# Pillow warns about much that it meets in damaged files (corrupt EXIF, tags past the end).
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

SLOW_S = 5.0  # one mutant counted and loaded; the clean files take milliseconds
HUNG_S = 120.0  # past this the run is stopped with every thread's traceback, not left hanging
DPI = 72  # for PDFs: the page sizes are in points, so a page renders at its pixel size


def small_page(width: int = 96, height: int = 72) -> np.ndarray:
    """A grey page with a printed box and a digit in it: small, so that decoding is quick."""
    page = np.full((height, width), 235, np.uint8)
    cv2.rectangle(page, (10, 12), (width - 10, height - 14), 20, 2)
    cv2.putText(page, "42", (20, height - 22), cv2.FONT_HERSHEY_SIMPLEX, 1, 0, 3)
    return page


def encoded(images: list[Image.Image], format: str, **options) -> bytes:
    buffer = io.BytesIO()
    images[0].save(
        buffer, format=format, save_all=len(images) > 1, append_images=images[1:], **options
    )
    return buffer.getvalue()


def png_grey() -> bytes:
    return encoded([Image.fromarray(small_page())], "PNG", dpi=(200, 200))


def png_sixteen_bit() -> bytes:
    page = small_page().astype(np.uint16) * 257
    return encoded([Image.fromarray(page)], "PNG")


def png_palette_transparent() -> bytes:
    image = Image.fromarray(small_page()).convert("P")
    return encoded([image], "PNG", transparency=235)


def jpeg_grey() -> bytes:
    return encoded([Image.fromarray(small_page())], "JPEG", quality=80, dpi=(300, 300))


def jpeg_colour_turned() -> bytes:
    """Colour, progressive, stored sideways with an EXIF Orientation (as phones write)."""
    image = Image.fromarray(small_page()).convert("RGB").transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: turn 90 degrees clockwise to view
    return encoded([image], "JPEG", quality=80, progressive=True, exif=exif)


def tiff_single() -> bytes:
    return encoded([Image.fromarray(small_page())], "TIFF", dpi=(200, 200))


def tiff_group4() -> bytes:
    """Bilevel, CCITT Group 4: what office scanners write (libtiff decodes it)."""
    page = Image.fromarray(small_page()).point(lambda v: 255 if v > 128 else 0).convert("1")
    return encoded([page], "TIFF", compression="group4")


def tiff_pages() -> bytes:
    """Three pages, LZW-compressed (through libtiff), as a document feeder's scan."""
    page = small_page()
    frames = [Image.fromarray(image) for image in (page, 255 - page, page[::-1].copy())]
    return encoded(frames, "TIFF", compression="tiff_lzw", dpi=(200, 200))


def tiff_jpeg_pages() -> bytes:
    """Two colour pages, each a JPEG inside the TIFF (libtiff and libjpeg together)."""
    page = Image.fromarray(small_page()).convert("RGB")
    return encoded(
        [page, page.transpose(Image.Transpose.FLIP_TOP_BOTTOM)], "TIFF", compression="jpeg"
    )


def tiff_sixteen_bit() -> bytes:
    page = small_page().astype(np.uint16) * 257
    return encoded([Image.fromarray(page)], "TIFF", compression="tiff_adobe_deflate")


FIXED_DATE = time.gmtime(1_704_067_200)  # 2024-01-01, as Pillow wants a PDF date


def pdf_pages() -> bytes:
    """Two pages as Pillow writes them (a JPEG each), dated, so that the bytes never change."""
    pages = [Image.fromarray(small_page()), Image.fromarray(255 - small_page())]
    return encoded(pages, "PDF", resolution=72.0, creationDate=FIXED_DATE, modDate=FIXED_DATE)


@dataclass(frozen=True)
class Format:
    name: str
    suffix: str
    make: Callable[[], bytes]
    mutants: int
    first_seed: int
    pages: int = 1


FORMATS = {
    f.name: f
    for f in [
        Format("png-grey", ".png", png_grey, 150, 1000),
        Format("png-16-bit", ".png", png_sixteen_bit, 75, 2000),
        Format("png-palette-alpha", ".png", png_palette_transparent, 75, 3000),
        Format("jpeg-grey", ".jpg", jpeg_grey, 180, 4000),
        Format("jpeg-colour-exif", ".jpg", jpeg_colour_turned, 120, 5000),
        Format("tiff-one-page", ".tif", tiff_single, 100, 6000),
        Format("tiff-group4", ".tif", tiff_group4, 75, 7000),
        Format("tiff-three-pages", ".tif", tiff_pages, 125, 8000, pages=3),
        Format("tiff-jpeg-two-pages", ".tif", tiff_jpeg_pages, 75, 8500, pages=2),
        Format("tiff-16-bit", ".tif", tiff_sixteen_bit, 50, 8800),
        Format("pdf-two-pages", ".pdf", pdf_pages, 150, 9000, pages=2),
    ]
}


def _position(rng: random.Random, size: int) -> int:
    # Half the time near the start, where the headers and tables are; else anywhere.
    if rng.random() < 0.5:
        return rng.randrange(max(1, min(size, 256)))
    return rng.randrange(max(1, size))


def _flip_bits(rng: random.Random, data: bytearray) -> str:
    for _ in range(rng.randint(1, 8)):
        data[_position(rng, len(data))] ^= 1 << rng.randrange(8)
    return "bits flipped"


def _overwrite_bytes(rng: random.Random, data: bytearray) -> str:
    for _ in range(rng.randint(1, 8)):
        data[_position(rng, len(data))] = rng.choice([0x00, 0xFF, 0x7F, 0x80, rng.randrange(256)])
    return "bytes overwritten"


def _truncate(rng: random.Random, data: bytearray) -> str:
    del data[rng.randrange(1, len(data)) :]
    return "cut short"


def _repeat_stretch(rng: random.Random, data: bytearray) -> str:
    start = _position(rng, len(data))
    stretch = data[start : start + rng.randint(1, 512)]
    at = _position(rng, len(data))
    data[at:at] = stretch * rng.randint(1, 4)
    return "stretch repeated"


def _insert_garbage(rng: random.Random, data: bytearray) -> str:
    at = _position(rng, len(data))
    data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
    return "garbage inserted"


INTERESTING = [0, 1, 2, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF]


def _interesting_number(rng: random.Random, data: bytearray) -> str:
    # Sizes, counts and offsets are 2- and 4-byte integers, big- or little-endian.
    width = rng.choice([2, 4])
    at = _position(rng, max(1, len(data) - width))
    value = rng.choice(INTERESTING) & (256**width - 1)
    data[at : at + width] = value.to_bytes(width, rng.choice(["big", "little"]))
    return "number overwritten"


MUTATIONS = [
    _flip_bits,
    _overwrite_bytes,
    _truncate,
    _repeat_stretch,
    _insert_garbage,
    _interesting_number,
]


def _repair_png_checksums(data: bytearray) -> None:
    """Each chunk's CRC made right again, so that a mutation gets past the CRC check to the
    chunk's reader and the decoder (Pillow refuses a wrong CRC at once)."""
    at = 8
    while at + 12 <= len(data):
        length = int.from_bytes(data[at : at + 4], "big")
        end = at + 8 + length
        if end + 4 > len(data):
            return
        data[end : end + 4] = zlib.crc32(data[at + 4 : end]).to_bytes(4, "big")
        at = end + 4


_ORIGINALS: dict[str, bytes] = {}


def mutant(format: Format, seed: int) -> tuple[bytes, str]:
    """The file of `format` mutated by 1 to 3 mutations drawn from `seed`, and what they were."""
    if format.name not in _ORIGINALS:
        _ORIGINALS[format.name] = format.make()
    rng = random.Random(seed)
    data = bytearray(_ORIGINALS[format.name])
    done = [rng.choice(MUTATIONS)(rng, data) for _ in range(rng.choice([1, 1, 1, 2, 3]))]
    if data.startswith(b"\x89PNG") and rng.random() < 0.7:
        _repair_png_checksums(data)
        done.append("CRCs repaired")
    return bytes(data), ", ".join(done)


def every_page(file: Path) -> list[np.ndarray]:
    """What a scan does with a file: count its pages, then load each."""
    count = count_pages(str(file), DPI)
    return [load_page(str(file), number, DPI).image for number in range(1, count + 1)]


def problem_with(file: Path) -> str | None:
    """What is wrong with how the file was read, or None: refused with our own error, or
    every page given as a 2-D uint8 array of pixels."""
    started = time.perf_counter()
    try:
        images = every_page(file)
    except DigitizeError as error:
        message = str(error)
        images = []
        if "\n" in message or not message.strip():
            return f"our error is not one line: {message!r}"
    except Exception as error:  # what this test is for: nothing but our own errors escape
        return f"{type(error).__module__}.{type(error).__name__} escaped: {error}"[:300]
    seconds = time.perf_counter() - started
    if seconds > SLOW_S:
        return f"took {seconds:.1f} s (over {SLOW_S:.0f} s)"
    for number, image in enumerate(images, start=1):
        if not (isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.ndim == 2):
            shape = getattr(image, "shape", "")
            return f"page {number} is not a 2-D uint8 array: {type(image).__name__} {shape}"
        if image.size == 0:
            return f"page {number} has no pixels: shape {image.shape}"
    return None


@pytest.fixture(autouse=True)
def stop_if_hung():
    # A decoder stuck in C cannot be interrupted: dump the tracebacks and end the run instead.
    faulthandler.dump_traceback_later(HUNG_S, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


@pytest.mark.parametrize("name", list(FORMATS))
def test_original_is_read(tmp_path, name):
    format = FORMATS[name]
    file = tmp_path / f"original{format.suffix}"
    file.write_bytes(format.make())
    assert len(every_page(file)) == format.pages
    assert problem_with(file) is None


@pytest.mark.slow
@pytest.mark.parametrize("name", list(FORMATS))
def test_mutants_fail_only_with_our_own_errors(tmp_path, name):
    format = FORMATS[name]
    failures = []
    for seed in range(format.first_seed, format.first_seed + format.mutants):
        data, how = mutant(format, seed)
        file = tmp_path / f"mutant-{seed}{format.suffix}"
        file.write_bytes(data)
        problem = problem_with(file)
        if problem is not None:
            failures.append(f"{name} seed {seed} ({how}): {problem}")
        file.unlink()
    assert not failures, f"{len(failures)} of {format.mutants} mutants:\n" + "\n".join(failures)


@pytest.mark.parametrize("name", list(FORMATS))
def test_files_and_mutants_are_the_same_every_run(name):
    format = FORMATS[name]
    assert format.make() == format.make()  # no date or random id in them
    assert mutant(format, format.first_seed) == mutant(format, format.first_seed)


@pytest.mark.parametrize(
    ("name", "seed", "said"),
    [
        # Seen in longer runs: a TIFF directory offset that a seek refuses (EINVAL) is the
        # data's fault, not the system's ("cannot open image ([Errno 22] Invalid argument)").
        ("tiff-group4", 7410, "cannot open image: image data is damaged or truncated (OSError: "),
        # No page tree: pdfinfo only said "Wrong page range given: the first page (1) can not
        # be after the last page (0)".
        ("pdf-two-pages", 9009, "PDF has no pages poppler can find, damaged or truncated (Syntax"),
        ("pdf-two-pages", 9003, "page 2: its size is 0x0 points (damaged PDF?)"),
    ],
)
def test_damage_is_said_as_damage(tmp_path, name, seed, said):
    format = FORMATS[name]
    file = tmp_path / f"mutant-{seed}{format.suffix}"
    file.write_bytes(mutant(format, seed)[0])
    with pytest.raises(DigitizeError) as raised:
        every_page(file)
    assert str(raised.value).startswith(said), str(raised.value)
    assert "Command Line Error" not in str(raised.value)
