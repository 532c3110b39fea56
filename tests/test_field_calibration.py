"""Field confidence as a probability (digitize/field_calibration.py): the curves' fit, the
shipped curves, and that calibration changes no flag."""

from __future__ import annotations

import numpy as np
import pandas as pd

from digitize.field_calibration import (
    Curve,
    FieldCalibration,
    doubt_group,
    raw_confidence,
    shipped_calibration,
)
from digitize.records import ReviewReason
from model_training.field_calibration import fit, isotonic


def test_raw_confidence_is_the_digits_product_and_never_sure_of_an_empty_box_with_ink():
    assert raw_confidence([0.9, 0.5], "12", []) == 0.45
    assert raw_confidence([], "", []) == 1.0  # a truly empty box
    assert raw_confidence([], "", [ReviewReason.INK_LEFT_OVER]) == 0.0


def test_doubt_groups():
    assert doubt_group([]) == "unflagged"
    assert doubt_group([ReviewReason.LOW_CONFIDENCE]) == "low_confidence"
    assert doubt_group([ReviewReason.LOW_CONFIDENCE, ReviewReason.SEGMENTATION]) == "doubted"


def test_isotonic_curve_rises_and_matches_the_share_right_of_its_pools():
    rng = np.random.default_rng(0)
    raw = rng.uniform(0, 1, 2000)
    right = rng.uniform(0, 1, 2000) < raw**2  # truly right with probability raw²
    curve = isotonic(raw, right, min_pool=50)
    assert all(b >= a for a, b in zip(curve.probability, curve.probability[1:], strict=False))
    for x in (0.3, 0.6, 0.9):
        assert abs(curve(x) - x**2) < 0.1


def test_fit_gives_a_curve_per_doubt_group_and_survives_json():
    rows = pd.DataFrame(
        {
            "expect": "digits",
            "found": True,
            "read": ["12"] * 60 + ["7"] * 60,
            "exact": [True] * 50 + [False] * 10 + [True] * 30 + [False] * 30,
            "review_reasons": [""] * 60 + ["segmentation"] * 60,
            "digit_confidences": ["0.9990;0.9990"] * 60 + ["0.8"] * 60,
        }
    )
    calibration, counts = fit(rows)
    assert counts == {
        "doubted": {"fields": 60, "right": 30},
        "unflagged": {"fields": 60, "right": 50},
    }
    again = FieldCalibration.from_json(calibration.to_json({}))
    assert again == calibration
    assert abs(again.probability(0.998, "12", []) - 50 / 60) < 1e-9
    assert abs(again.probability(0.8, "7", ["segmentation"]) - 0.5) < 1e-9
    assert again.probability(1.0, "", []) == 1.0  # an empty box read empty: not calibrated
    assert FieldCalibration({}).probability(0.7, "1", []) == 0.7  # no curve: raw


def test_the_shipped_curves_rise_and_are_probabilities():
    calibration = shipped_calibration()
    assert calibration is not None
    assert set(calibration.curves) == {"unflagged", "low_confidence", "doubted"}
    for curve in calibration.curves.values():
        assert isinstance(curve, Curve)
        assert list(curve.raw) == sorted(curve.raw)
        assert list(curve.probability) == sorted(curve.probability)
        assert all(0.0 <= p <= 1.0 for p in curve.probability)
