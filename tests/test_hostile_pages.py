"""Hostile page input (issue 13, part A), straight through `count_pages` and `load_page`: every
way a file can fail ends in our own one-line InputError naming the reason, never another
exception; pages that do load look as a person sees them (bit depth, transparency, EXIF
orientation); PDF pages are checked at the size poppler really renders; folders that cannot be
read are reported. No model is loaded: these tests take seconds.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from digitize import pages
from digitize.errors import InputError
from digitize.pages import count_pages, expand_inputs, load_page
from synthetic_forms import (
    form_page,
    inflating_chunk,
    raw_pdf,
    write_image,
    write_png_with_chunk,
    write_tiff_page_without_width,
)


def every_page(file: Path) -> list[np.ndarray]:
    """What a scan does with a file: count its pages, then load each."""
    return [load_page(str(file), n, dpi=72).image for n in range(1, count_pages(str(file)) + 1)]


def small_page() -> np.ndarray:
    return form_page(("42",))[::4, ::4].copy()  # 425x550: quick to write and decode


@pytest.mark.parametrize("kind", [b"zTXt", b"iTXt", b"iCCP"])
@pytest.mark.parametrize("after_pixels", [False, True], ids=["before-pixels", "after-pixels"])
def test_inflating_png_chunk_is_one_line(tmp_path, kind, after_pixels):
    file = write_png_with_chunk(
        tmp_path / "bomb.png", small_page(), inflating_chunk(kind), after_pixels
    )
    with pytest.raises(InputError) as raised:
        every_page(file)
    message = str(raised.value)
    assert "\n" not in message
    assert "too large" in message and "decompression bomb" in message, message


def test_tiff_page_without_dimensions_is_one_line(tmp_path):
    file = write_tiff_page_without_width(tmp_path / "damaged.tif", small_page())
    with pytest.raises(InputError) as raised:
        every_page(file)
    message = str(raised.value)
    assert "\n" not in message
    assert "damaged" in message and "Missing dimensions" in message, message


def grey_form_page() -> np.ndarray:
    """A small form page with a strip of every grey level, so that scaling shows."""
    page = small_page()
    page[-60:-20, 20:276] = np.arange(256, dtype=np.uint8)
    return page


def orientation_stored(page: np.ndarray, orientation: int) -> Image.Image:
    """The pixels a camera stores for `page` seen upright with EXIF Orientation `orientation`
    (the inverse of what a viewer does to show it)."""
    if orientation == 1:  # upright as stored
        return Image.fromarray(page)
    stored_as = {  # each the inverse of what Pillow's ImageOps.exif_transpose does
        2: Image.Transpose.FLIP_LEFT_RIGHT,
        3: Image.Transpose.ROTATE_180,
        4: Image.Transpose.FLIP_TOP_BOTTOM,
        5: Image.Transpose.TRANSPOSE,
        6: Image.Transpose.ROTATE_90,  # shown turned by ROTATE_270
        7: Image.Transpose.TRANSVERSE,
        8: Image.Transpose.ROTATE_270,
    }
    return Image.fromarray(page).transpose(stored_as[orientation])


def write_sixteen_bit(path: Path, page: np.ndarray) -> Path:
    Image.fromarray(page.astype(np.uint16) * 257).save(path)  # I;16, full 16-bit range
    return path


def write_transparent_paper(path: Path, page: np.ndarray, mode: str) -> Path:
    """Ink as opaque black and paper fully transparent (its colour black too), as drawing and
    scanning apps export: read without the alpha, the page is all black."""
    alpha = 255 - page
    black = np.zeros_like(page)
    layers = [black, alpha] if mode == "LA" else [black, black, black, alpha]
    Image.fromarray(np.dstack(layers), mode).save(path)
    return path


def write_palette_transparent_paper(path: Path, page: np.ndarray) -> Path:
    """A palette PNG: indices 0-254 the grey levels, 255 the paper, transparent and black."""
    indices = np.minimum(page, 254)
    indices[page == 255] = 255
    image = Image.fromarray(indices.astype(np.uint8), "P")
    image.putpalette([level for grey in range(255) for level in (grey,) * 3] + [0, 0, 0])
    image.save(path, transparency=255)
    return path


def write_exif_oriented(path: Path, page: np.ndarray, orientation: int) -> Path:
    exif = Image.Exif()
    exif[0x0112] = orientation  # Orientation
    orientation_stored(page, orientation).save(path, exif=exif.tobytes(), quality=95)
    return path


VARIANTS = {  # the same page as other writers save it: each must load as the 8-bit grey one
    "16-bit-png": lambda folder, page: write_sixteen_bit(folder / "sixteen.png", page),
    "16-bit-tiff": lambda folder, page: write_sixteen_bit(folder / "sixteen.tif", page),
    "rgba-png": lambda folder, page: write_transparent_paper(folder / "rgba.png", page, "RGBA"),
    "la-png": lambda folder, page: write_transparent_paper(folder / "la.png", page, "LA"),
    "palette-png": lambda folder, page: write_palette_transparent_paper(folder / "p.png", page),
}


def test_eight_bit_grey_is_read_as_it_is(tmp_path):
    page = grey_form_page()
    assert np.array_equal(load_page(str(write_image(tmp_path / "eight.png", page)), 1).image, page)


@pytest.mark.parametrize("variant", VARIANTS)
def test_bit_depth_and_transparency_give_the_same_page(tmp_path, variant):
    page = grey_form_page()
    loaded = load_page(str(VARIANTS[variant](tmp_path, page)), 1).image
    assert loaded.dtype == np.uint8 and loaded.shape == page.shape
    difference = np.abs(loaded.astype(int) - page.astype(int))
    assert difference.max() <= 1, f"off by up to {difference.max()} grey levels"


@pytest.mark.parametrize("orientation", range(2, 9))
def test_exif_orientation_is_applied(tmp_path, orientation):
    page = grey_form_page()
    upright = load_page(str(write_exif_oriented(tmp_path / "upright.jpg", page, 1)), 1).image
    turned = load_page(str(write_exif_oriented(tmp_path / "phone.jpg", page, orientation)), 1)
    assert turned.image.shape == page.shape
    noise = np.abs(upright.astype(int) - page.astype(int)).mean()
    difference = np.abs(turned.image.astype(int) - page.astype(int)).mean()
    assert difference < 2 * noise + 1, f"{difference:.1f} grey levels off, JPEG noise {noise:.1f}"


LETTER = "[0 0 612 792]"
AT_300_DPI = (3300, 2550)  # a letter page's pixels, rows by columns


def write_raw_pdf(path: Path, *pages: dict[str, str]) -> Path:
    path.write_bytes(raw_pdf(list(pages)))
    return path


def test_huge_media_box_behind_a_letter_crop_box_renders_the_letter_page(tmp_path):
    # A 200-inch MediaBox: pdftoppm renders it unless told to render the CropBox (at 300 DPI
    # it gave up and answered a 1x1 image, read as a blank page).
    file = write_raw_pdf(
        tmp_path / "bleed.pdf", {"MediaBox": "[0 0 14400 14400]", "CropBox": LETTER}
    )
    assert count_pages(str(file)) == 1
    assert load_page(str(file), 1, dpi=300).image.shape == AT_300_DPI


@pytest.mark.parametrize(
    "entries",
    [
        {"MediaBox": "[0 0 792 612]", "Rotate": "90"},
        {"MediaBox": "[-100 -100 900 900]", "CropBox": "[50 60 662 852]"},
    ],
    ids=["rotated", "offset-crop-box"],
)
def test_pdf_page_sizes_as_rendered(tmp_path, entries):
    file = write_raw_pdf(tmp_path / "page.pdf", entries)
    assert load_page(str(file), 1, dpi=300).image.shape == AT_300_DPI


@pytest.mark.parametrize("inches", [40, 200])
def test_every_pdf_page_is_checked_before_it_is_rendered(tmp_path, inches):
    # Only page 1 was checked: a 40-inch page 2 ran minutes and took gigabytes, a 200-inch
    # one came back 1x1 and was read as blank.
    huge = f"[0 0 {inches * 72} {inches * 72}]"
    file = write_raw_pdf(tmp_path / "two.pdf", {"MediaBox": LETTER}, {"MediaBox": huge})
    assert count_pages(str(file)) == 2  # the file is fine: page 1 is read
    assert load_page(str(file), 1, dpi=300).image.shape == AT_300_DPI
    with pytest.raises(InputError) as raised:
        load_page(str(file), 2, dpi=300)
    assert str(raised.value) == (
        f"page 2: page is {inches}x{inches} inches; at 300 DPI that is over 89 megapixels"
        " (lower --dpi)"
    )


def test_rendered_size_not_the_page_size_is_refused(tmp_path, monkeypatch):
    """Poppler answers a page it cannot allocate with a 1x1 image: never read as blank."""
    file = write_raw_pdf(tmp_path / "page.pdf", {"MediaBox": LETTER})
    monkeypatch.setattr(
        pages.pdf2image, "convert_from_path", lambda *args, **kwargs: [Image.new("L", (1, 1))]
    )
    with pytest.raises(
        InputError, match=r"^page 1: poppler rendered 1x1 pixels, not the 2550x3300"
    ):
        load_page(str(file), 1, dpi=300)


def test_rasterizing_too_long_is_said(tmp_path, monkeypatch):
    file = write_raw_pdf(tmp_path / "page.pdf", {"MediaBox": LETTER})

    def times_out(*args, **kwargs):
        raise pages.pdf2image.exceptions.PDFPopplerTimeoutError("Run poppler timeout.")

    monkeypatch.setattr(pages.pdf2image, "convert_from_path", times_out)
    with pytest.raises(InputError, match=r"^page 1: rasterizing took over 120 s$"):
        load_page(str(file), 1)


def folder_with_a_locked_subfolder(root: Path) -> Path:
    folder = root / "forms"
    write_image(folder / "good.png", small_page())
    write_image(folder / "open" / "page.png", small_page())
    write_image(folder / "locked" / "hidden.png", small_page())
    return folder


def test_unreadable_subfolder_is_reported(tmp_path, monkeypatch):
    folder = folder_with_a_locked_subfolder(tmp_path)
    locked = folder / "locked"
    # chmod 000 stops a user reading it; root reads anyway, so the access check says no too
    # (as test_bad_input.test_permission_denied_even_as_root does for a file).
    real_access = os.access
    monkeypatch.setattr(
        pages.os, "access", lambda path, mode: Path(path) != locked and real_access(path, mode)
    )
    locked.chmod(0)
    try:
        inputs = expand_inputs([str(folder)])
    finally:
        locked.chmod(0o755)
    assert inputs.files == [str(folder / "good.png"), str(folder / "open" / "page.png")]
    assert inputs.missing == [(str(locked), "cannot read folder (permission denied)")]


@pytest.mark.parametrize(
    "error", [PermissionError(errno.EACCES, "Permission denied"), OSError(errno.EIO, "I/O error")]
)
def test_folder_that_cannot_be_listed_is_reported(tmp_path, monkeypatch, error):
    """Listing fails although access said yes (a network share, a race): reported, not fatal."""
    folder = folder_with_a_locked_subfolder(tmp_path)
    real_scandir = os.scandir

    def scandir(path=".", *args):
        if Path(path).name == "locked":
            raise type(error)(error.errno, error.strerror, str(path))
        return real_scandir(path, *args)

    monkeypatch.setattr(os, "scandir", scandir)
    inputs = expand_inputs([str(folder)])
    assert inputs.files == [str(folder / "good.png"), str(folder / "open" / "page.png")]
    reason = error.strerror.lower()
    assert inputs.missing == [(str(folder / "locked"), f"cannot read folder ({reason})")]
