"""One page, read: segmentation, one batched classifier call, the decision. The one owner of
the page pipeline, used by `digitize scan` and `digitize review` alike.

    Page -> SegmentedPage -> probabilities -> FieldReadings
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from digitize.classifier import Classifier
from digitize.decision import DEFAULT_REVIEW_BELOW, FieldReading, decide_fields
from digitize.pages import Page
from digitize.segmentation import SegmentedPage, segment_page
from digitize.segmentation_params import SegmentationParams


@dataclass(frozen=True)
class ReadParams:
    """How a page is read: what is flagged for review."""

    review_below: float = DEFAULT_REVIEW_BELOW  # flag a field when a digit is less sure
    segmentation: SegmentationParams = field(default_factory=SegmentationParams)


@dataclass(frozen=True)
class PageReading:
    segmented: SegmentedPage
    fields: list[FieldReading]
    seconds: dict[str, float] = field(default_factory=dict)  # segment, classify

    def field_image(self, reading: FieldReading, pad: int = 4) -> np.ndarray:
        """The field as it looks on the straightened page, border included."""
        gray = self.segmented.page.gray
        height, width = gray.shape
        return gray[reading.outer.grow(pad).clip(width, height).slice()]


def read_page(page: Page, classifier: Classifier, params: ReadParams | None = None) -> PageReading:
    params = params or ReadParams()
    started = time.perf_counter()
    segmented = segment_page(page.image, page.dpi, params.segmentation)
    segmented_at = time.perf_counter()
    probabilities = classifier.probabilities(segmented.images)  # one batched call a page
    not_digit = classifier.not_digit(segmented.images)
    classified_at = time.perf_counter()
    readings = decide_fields(segmented, probabilities, params.review_below, not_digit)
    return PageReading(
        segmented=segmented,
        fields=readings,
        seconds={"segment": segmented_at - started, "classify": classified_at - segmented_at},
    )
