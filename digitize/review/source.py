"""A field re-read from its source page, for crops the scan did not save and for digit export.

The page is loaded and read again exactly as `digitize scan` reads it (`load_page`, then
`read_page` with the classifier). The reading is matched to the CSV row by field name, and
its box must overlap the row's box: a file changed since the scan, or a model that now finds
other boxes, must not lend one field's image to another.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from digitize.classifier import Classifier, ClassifierLoader
from digitize.errors import InputError
from digitize.messages import one_line
from digitize.pages import load_page
from digitize.reading import read_page
from digitize.records import Box, FieldResult
from digitize.scoring import iou

MIN_OVERLAP = 0.5  # intersection over union of the CSV's box and the box found now
CACHED_PAGES = 32  # the fields of this many pages are kept (crops are small, pages are not)


@dataclass(frozen=True)
class SourceField:
    box: Box  # x0, y0, x1, y1 as fractions of the page
    crop_png: bytes
    digit_images: np.ndarray  # (n, 28, 28) normalized digits, as the classifier saw them


def _ignore(message: str) -> None:
    pass


class SourcePages:
    """Source pages of the files in one entries CSV, read on demand, thread-safe.

    `classifier` is called (the model loaded) on the first page read, so a review whose crops
    were all saved never starts TensorFlow. `warn` gets one line per source file that cannot
    be found or read, once per file: without it the page would only show "no image"."""

    def __init__(
        self,
        csv_path: Path,
        classifier: ClassifierLoader,
        dpi: int = 300,
        warn: Callable[[str], None] = _ignore,
    ):
        self.csv_dir = Path(csv_path).parent
        self.loader = classifier
        self.dpi = dpi
        self.warn = warn
        self._classifier: Classifier | None = None
        self._pages: OrderedDict[tuple[str, int], dict[str, list[SourceField]] | None] = (
            OrderedDict()
        )
        self._warned: set[str] = set()
        self._lock = threading.Lock()  # one page at a time: the model is not shared safely

    def locate(self, name: str) -> Path | None:
        """A path from the CSV: as given on the scan's command line, so relative to where the
        scan ran: the current directory first, then the CSV's own folder (the CSV was moved,
        or the review runs elsewhere)."""
        if not name:
            return None
        for path in (Path(name), self.csv_dir / name):
            if path.is_file():
                return path
        return None

    def field(self, result: FieldResult) -> SourceField | None:
        """The field of this CSV row as read now; None when the page cannot be read or no
        field there matches (name and box)."""
        fields = self._page_fields(result.file, result.page)
        if not fields:
            return None
        for found in fields.get(result.field, []):
            if _overlap(found.box, result.box) >= MIN_OVERLAP:
                return found
        return None

    def _page_fields(self, file: str, page: int) -> dict[str, list[SourceField]] | None:
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

    def _read(self, file: str, page: int) -> dict[str, list[SourceField]] | None:
        path = self.locate(file)
        if path is None:
            where = (
                ""
                if Path(file).is_absolute()
                else (f" from {Path.cwd()} nor from the CSV's folder {self.csv_dir.resolve()}")
            )
            self._warn_once(
                file,
                f"{file}: source file not found{where}; its fields have no "
                "image and give no digits",
            )
            return None
        try:
            loaded = load_page(str(path), page, self.dpi)
        except (InputError, OSError) as error:
            self._warn_once(
                file,
                f"{file}: cannot read it again ({one_line(error)}); its "
                "fields have no image and give no digits",
            )
            return None
        reading = read_page(loaded, self.classifier())
        fields: dict[str, list[SourceField]] = {}
        for found in reading.fields:
            ok, png = cv2.imencode(".png", reading.field_image(found))
            fields.setdefault(found.field, []).append(
                SourceField(
                    box=found.box,
                    crop_png=png.tobytes() if ok else b"",
                    digit_images=found.digit_images.copy(),
                )
            )
        return fields

    def _warn_once(self, file: str, message: str) -> None:
        if file not in self._warned:
            self._warned.add(file)
            self.warn(message)

    def classifier(self) -> Classifier:
        if self._classifier is None:
            self._classifier = self.loader()
        return self._classifier


def _overlap(a: Box, b: Box) -> float:
    """Intersection over union of two boxes: the one IoU, the scorer's."""
    return float(iou(np.array([a]), np.array([b]))[0, 0])
