"""SegmentationParams: frozen, swept with `dataclasses.replace`, its defaults what every stage
uses on its own, and each threshold actually steering the stage it names."""

from __future__ import annotations

import dataclasses
import inspect

import cv2
import numpy as np
import pytest

from digitize.cleanup import clean_page
from digitize.comb_repair import bridge_missing_cells, complete_comb
from digitize.digits import find_digits
from digitize.fields import find_fields, reading_order
from digitize.normalize import normalize_digit
from digitize.ruling import find_ruling
from digitize.segmentation import SegmentedPage, segment_page
from digitize.segmentation_params import (
    CleanupParams,
    CombParams,
    DigitParams,
    FieldParams,
    NormalizeParams,
    SegmentationParams,
)
from synthetic_forms import DPI, blank_page, form_page


def comb_page(cells: int = 8) -> np.ndarray:
    """One comb: a row of one-digit cells sharing their borders, nothing written."""
    page = blank_page()
    for k in range(cells):
        cv2.rectangle(page, (200 + k * 110, 600), (310 + k * 110, 730), 0, 3)
    return page


def structure(segmented: SegmentedPage) -> list:
    return [
        (f.field.kind, f.field.box, [[o.rows for o in s.options] for s in f.slots])
        for f in segmented.fields
    ]


def digit_count(segmented: SegmentedPage) -> int:
    return len(segmented.images)


def test_params_are_frozen_and_swept_with_replace():
    params = SegmentationParams()
    with pytest.raises(dataclasses.FrozenInstanceError):
        params.digits = DigitParams()  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        params.digits.speck_area = 1.0  # type: ignore[misc]
    swept = dataclasses.replace(params, digits=dataclasses.replace(params.digits, wide=1.3))
    assert swept.digits.wide == 1.3 and params.digits.wide == DigitParams().wide
    assert swept.fields == params.fields and swept != params
    assert len({params: "default", swept: "wider"}) == 2  # a sweep's results keyed by params


@pytest.mark.parametrize(
    ("function", "name", "default"),
    [
        (clean_page, "params", CleanupParams()),
        (find_ruling, "params", FieldParams()),
        (find_fields, "params", FieldParams()),
        (find_fields, "combs", CombParams()),
        (reading_order, "params", FieldParams()),
        (bridge_missing_cells, "params", CombParams()),
        (complete_comb, "params", CombParams()),
        (find_digits, "params", DigitParams()),
        (normalize_digit, "params", NormalizeParams()),
    ],
)
def test_each_stage_defaults_to_the_segmentation_defaults(function, name, default):
    assert inspect.signature(function).parameters[name].default == default


def test_default_params_are_what_segment_page_does_without_them():
    image = form_page(("42", "7", "1905"))
    plain = segment_page(image, DPI)
    explicit = segment_page(image, DPI, SegmentationParams())
    assert structure(plain) == structure(explicit) and len(plain.fields) == 3
    assert np.array_equal(plain.images, explicit.images) and digit_count(plain) > 0


def test_a_huge_speck_area_drops_every_digit():
    image = form_page(("42", "7"))
    params = SegmentationParams()
    specks = dataclasses.replace(params, digits=dataclasses.replace(params.digits, speck_area=1.0))
    assert digit_count(segment_page(image, DPI)) >= 3
    segmented = segment_page(image, DPI, specks)
    assert len(segmented.fields) == 2  # the boxes are still found...
    assert digit_count(segmented) == 0  # ...but nothing in them is ink enough for a digit


def test_a_larger_minimum_cell_finds_no_box():
    image = form_page(("42",))  # a box 160 px tall: 0.8 inch at 200 DPI
    params = SegmentationParams()
    assert len(segment_page(image, DPI).fields) == 1
    tall = dataclasses.replace(
        params, fields=dataclasses.replace(params.fields, min_cell_side_in=1.0)
    )
    assert segment_page(image, DPI, tall).fields == []


def test_the_comb_aspect_decides_what_is_a_comb():
    image = comb_page()  # cells 107 px wide, 127 tall inside
    params = SegmentationParams()
    default = segment_page(image, DPI)
    assert [f.field.kind for f in default.fields] == ["comb"]
    narrow = dataclasses.replace(
        params, combs=dataclasses.replace(params.combs, max_cell_aspect=0.5)
    )
    assert [f.field.kind for f in segment_page(image, DPI, narrow).fields] == ["cell"] * 8


def angle_of(rotation: np.ndarray) -> float:
    return float(np.degrees(np.arctan2(rotation[1, 0], rotation[0, 0])))


def test_the_smallest_rotation_decides_whether_a_page_is_deskewed():
    image = form_page(("42",))
    rotation = cv2.getRotationMatrix2D((850, 1100), 2.0, 1.0)
    skewed = cv2.warpAffine(image, rotation, (1700, 2200), borderValue=255)
    assert angle_of(clean_page(skewed, DPI).rotation) == pytest.approx(2.0, abs=0.15)
    lenient = CleanupParams(min_skew_degrees=3.0)
    assert angle_of(clean_page(skewed, DPI, lenient).rotation) == 0.0  # left as it was
