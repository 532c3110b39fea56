"""Tesseract, in this process: the words of a printed image, with their boxes and confidences.

Tesseract runs through tesserocr, its C++ API (the wheel carries the library), loaded once per
process and kept: starting the `tesseract` command for each page cost more than its reading
(a page's labels: 0.17 s a page through the command, 0.05 s through the API kept loaded, on
the bundled samples, 2 cores). The English model comes from Debian's `tesseract-ocr` package,
which the README's install commands add; `TESSDATA_PREFIX` names another folder.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

LANGUAGE = "eng"
# Where Debian (5.x, 4.x), other distributions and a source build put Tesseract's models.
TESSDATA_FOLDERS = (
    "/usr/share/tesseract-ocr/5/tessdata",
    "/usr/share/tesseract-ocr/4.00/tessdata",
    "/usr/share/tessdata",
    "/usr/local/share/tessdata",
)
MISSING = (
    "labels are empty: Tesseract's English model is not installed (apt-get install tesseract-ocr)"
)


@dataclass(frozen=True)
class Word:
    text: str
    confidence: float  # 0-100
    top: int  # pixels, in the image read
    height: int
    left: int = 0
    width: int = 0


def tessdata_folder() -> Path | None:
    """The folder holding the English model: $TESSDATA_PREFIX's alone when it is set (the
    user chose it), else the first of the usual places that has it."""
    chosen = os.environ.get("TESSDATA_PREFIX")
    folders = [chosen] if chosen else TESSDATA_FOLDERS
    for folder in folders:
        if (Path(folder) / f"{LANGUAGE}.traineddata").is_file():
            return Path(folder)
    return None


def missing() -> str | None:
    """None when words can be read here, else why not, in one line."""
    if tessdata_folder() is None:
        return MISSING
    try:
        _engine()
    except (ImportError, RuntimeError) as error:
        return f"labels are empty: Tesseract does not start ({error})"
    return None


def read_words(image: np.ndarray, timeout_s: float, one_line: bool = False) -> list[Word] | None:
    """The words Tesseract reads in a grey image (one block of text lines, 300 DPI; with
    `one_line`, one line of print: a few marks alone in a crop are no block of text); None
    when it cannot read here or gave up after `timeout_s`."""
    try:
        engine = _engine()
    except (ImportError, RuntimeError):
        return None
    import tesserocr

    with _LOCK:  # one engine a process; the review server reads from threads
        if one_line:
            engine.SetPageSegMode(tesserocr.PSM.SINGLE_LINE)
        try:
            engine.SetImage(Image.fromarray(image))
            engine.SetSourceResolution(300)
            if not engine.Recognize(int(timeout_s * 1000)):
                return None
            return list(_words(engine))
        finally:
            engine.SetPageSegMode(tesserocr.PSM.SINGLE_BLOCK)


def _words(engine: Any) -> Iterator[Word]:
    import tesserocr

    level = tesserocr.RIL.WORD
    for word in tesserocr.iterate_level(engine.GetIterator(), level):
        box = word.BoundingBox(level)
        if box is None:
            continue
        left, top, right, bottom = box
        text = word.GetUTF8Text(level) or ""
        yield Word(text, float(word.Confidence(level)), top, bottom - top, left, right - left)


_LOCK = threading.Lock()
_ENGINES: dict[str, Any] = {}  # by tessdata folder: one loaded model a process


def _engine() -> Any:
    """The process's Tesseract, loaded on first use. RuntimeError when it cannot be."""
    folder = tessdata_folder()
    if folder is None:
        raise RuntimeError("no English model")
    with _LOCK:
        key = str(folder)
        if key not in _ENGINES:
            # Tesseract's OpenMP threads cost more than they give on an image of a few
            # labels, and the scan's workers take every core already. A limit the user set
            # is theirs. Read when the library loads, so set before the import.
            os.environ.setdefault("OMP_THREAD_LIMIT", "1")
            import tesserocr

            _ENGINES[key] = tesserocr.PyTessBaseAPI(
                path=f"{folder}/",
                lang=LANGUAGE,
                psm=tesserocr.PSM.SINGLE_BLOCK,
                oem=tesserocr.OEM.LSTM_ONLY,
            )
        return _ENGINES[key]
