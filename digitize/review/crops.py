"""The image of a field for the review page, as PNG bytes, addressed by CSV row only.

The crop the scan saved (`--crops`) is used when it is still there; otherwise the field is
re-read from its source page. A saved crop is decoded and re-encoded, never sent as it is:
the crop column is text anyone can edit, and this way only images leave the server, never
the bytes of some other file it names.
"""

from __future__ import annotations

import io
import threading
from collections import OrderedDict

from PIL import Image

from digitize.review.source import SourcePages
from digitize.review.store import ReviewStore

CACHED_CROPS = 512
MAX_CROP_BYTES = 20_000_000  # a field's image is kilobytes; anything huge is not a crop


class CropSource:
    """Field images of one store's rows under review, cached."""

    def __init__(self, store: ReviewStore, pages: SourcePages):
        self.store = store
        self.pages = pages
        self._cache: OrderedDict[int, bytes | None] = OrderedDict()
        self._lock = threading.Lock()

    def png(self, index: int) -> bytes | None:
        """The field image of row `index` if it is one under review; None when there is none."""
        if not self.store.in_review(index):
            return None
        with self._lock:
            if index in self._cache:
                self._cache.move_to_end(index)
                return self._cache[index]
        result = self.store.entries[index].result
        image = self._saved(result.crop)
        if image is None:
            found = self.pages.field(result)
            image = found.crop_png if found is not None and found.crop_png else None
        with self._lock:
            self._cache[index] = image
            if len(self._cache) > CACHED_CROPS:
                self._cache.popitem(last=False)
        return image

    def _saved(self, name: str) -> bytes | None:
        path = self.pages.locate(name)
        if path is None or path.stat().st_size > MAX_CROP_BYTES:
            return None
        try:
            with Image.open(path) as opened:  # Pillow refuses decompression bombs itself
                gray = opened.convert("L")
        except (OSError, ValueError, Image.DecompressionBombError):
            return None
        buffer = io.BytesIO()
        gray.save(buffer, format="PNG")
        return buffer.getvalue()
