"""A field re-read from its source page, for crops the scan did not save and for digit export.

The page is loaded and read again exactly as `digitize scan` reads it (load_page, then
read_image with the active model). The reading is matched to the CSV row by field name, and
its box must overlap the row's x0..y1: a file changed since the scan, or a model that now
finds other boxes, must not lend one field's image to another.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from digitize.pages import InputError, load_page
from digitize.reading import field_image, read_image

MIN_OVERLAP = 0.5  # intersection over union of the CSV's box and the box found now
CACHED_PAGES = 32  # the fields of this many pages are kept (crops are small, pages are not)


@dataclass(frozen=True)
class SourceField:
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 as fractions of the page
    crop_png: bytes
    digit_images: np.ndarray  # (n, 28, 28) normalized digits, as the classifier saw them


class SourcePages:
    """Source pages of the files in one entries CSV, read on demand, thread-safe."""

    def __init__(self, csv_path: Path, dpi: int = 300, model_dir: Path | None = None):
        self.csv_dir = Path(csv_path).parent
        self.dpi = dpi
        self.model_dir = model_dir
        self._classifier = None
        self._pages: OrderedDict[tuple[str, str], dict[str, list[SourceField]] | None] = OrderedDict()
        self._lock = threading.Lock()  # one page at a time: the model is not shared safely

    def locate(self, name: str) -> Path | None:
        """A path from the CSV: as given on the scan's command line, so relative to where the
        scan ran: the current directory first, then the CSV's directory."""
        if not name:
            return None
        for path in (Path(name), self.csv_dir / name):
            if path.is_file():
                return path
        return None

    def field(self, row: dict) -> SourceField | None:
        """The field of this CSV row as read now; None when the page cannot be read or no
        field there matches (name and box)."""
        fields = self._page_fields(row["file"], row["page"])
        if not fields:
            return None
        wanted = _box(row)
        for found in fields.get(row["field"], []):
            if wanted is not None and _overlap(found.box, wanted) >= MIN_OVERLAP:
                return found
        return None

    def _page_fields(self, file: str, page: str) -> dict[str, list[SourceField]] | None:
        key = (file, page)
        with self._lock:
            if key in self._pages:
                self._pages.move_to_end(key)
                return self._pages[key]
            fields = self._read(file, page)
            self._pages[key] = fields  # failures too: a missing file is not retried per field
            if len(self._pages) > CACHED_PAGES:
                self._pages.popitem(last=False)
            return fields

    def _read(self, file: str, page: str) -> dict[str, list[SourceField]] | None:
        path = self.locate(file)
        if path is None or not page.isdigit():
            return None
        try:
            image = load_page(str(path), int(page), self.dpi).image
        except (InputError, OSError):
            return None
        segmented, readings = read_image(image, self.classifier())
        fields: dict[str, list[SourceField]] = {}
        for reading in readings:
            ok, png = cv2.imencode(".png", field_image(segmented, reading))
            fields.setdefault(reading.field, []).append(
                SourceField(box=reading.box, crop_png=png.tobytes() if ok else b"",
                            digit_images=reading.digit_images.copy()))
        return fields

    def classifier(self):
        # Loaded on first use: a review whose crops were all saved never starts TensorFlow.
        if self._classifier is None:
            from digitize.classifier import DigitClassifier

            self._classifier = DigitClassifier(self.model_dir)
        return self._classifier


def _box(row: dict) -> tuple[float, float, float, float] | None:
    try:
        return tuple(float(row[c]) for c in ("x0", "y0", "x1", "y1"))  # type: ignore[return-value]
    except (KeyError, ValueError):
        return None


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """Intersection over union of two boxes."""
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 0.0
    inter = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0
