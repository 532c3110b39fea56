"""Hostile page input (issue 13, part A), straight through `count_pages` and `load_page`: every
way a file can fail ends in our own one-line InputError naming the reason, never another
exception; pages that do load look as a person sees them (bit depth, transparency, EXIF
orientation); PDF pages are checked at the size poppler really renders; folders that cannot be
read are reported. No model is loaded: these tests take seconds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from digitize.errors import InputError
from digitize.pages import count_pages, load_page
from synthetic_forms import (
    form_page,
    inflating_chunk,
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
