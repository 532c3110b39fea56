"""Field confidence as a probability (digitize/field_calibration.py): the regression's fit,
the shipped one, its fallback, and that calibration changes no value and no flag."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pandas as pd
import pytest

import digitize.decision
import digitize.field_calibration
from digitize.decision import decide_fields
from digitize.field_calibration import (
    EMPTY_WITH_INK_AT_MOST,
    FEATURES,
    FieldCalibration,
    field_features,
    raw_confidence,
    shipped_calibration,
)
from digitize.records import ReviewReason
from digitize.segmentation import segment_page
from model_training.field_calibration import doubt_group, fit, fit_logistic, isotonic
from synthetic_forms import form_page

SEGMENTATION, BORDER = str(ReviewReason.SEGMENTATION), str(ReviewReason.BORDER_TOUCH)


def test_raw_confidence_is_the_digits_product_and_never_sure_of_an_empty_box_with_ink():
    assert raw_confidence([0.9, 0.5], "12", []) == 0.45
    assert raw_confidence([], "", []) == 1.0  # a truly empty box
    assert raw_confidence([], "", [ReviewReason.INK_LEFT_OVER]) == 0.0


def test_features_are_the_log_product_the_emptiness_and_one_per_reason():
    features = field_features([0.5, 0.5], "12", [ReviewReason.SEGMENTATION])
    assert set(features) == set(FEATURES)
    assert features["log_raw"] == pytest.approx(np.log(0.25))
    assert features["flagged"] == features[SEGMENTATION] == 1.0
    assert features[BORDER] == features["empty_reading"] == 0.0
    empty = field_features([], "", ["not_digits", "validation"])  # a later reason: flagged only
    assert empty["log_raw"] == 0.0 and empty["empty_reading"] == 1.0 and empty["flagged"] == 1.0


def synthetic_outcomes(rng: np.random.Generator, fields: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Fields right with a known probability: log-odds 1 + 2 log(raw) - 1.5 segmentation
    + 0.5 border_touch - 1 flagged."""
    confidence = rng.uniform(0.2, 1.0, (fields, 2))
    segmentation = rng.uniform(size=fields) < 0.3
    border = rng.uniform(size=fields) < 0.2
    flagged = segmentation | border
    log_odds = 1 + 2 * np.log(confidence.prod(axis=1)) - 1.5 * segmentation + 0.5 * border - flagged
    truth = 1 / (1 + np.exp(-log_odds))
    reasons = [
        ";".join(name for name, on in ((SEGMENTATION, s), (BORDER, b)) if on)
        for s, b in zip(segmentation, border)
    ]
    outcomes = pd.DataFrame(
        {
            "expect": "digits",
            "found": True,
            "read": "12",
            "exact": rng.uniform(size=fields) < truth,
            "review_reasons": reasons,
            "digit_confidences": [f"{a:.4f};{b:.4f}" for a, b in confidence],
        }
    )
    return outcomes, truth


def test_the_fit_recovers_a_known_relationship_and_survives_json():
    outcomes, truth = synthetic_outcomes(np.random.default_rng(0), 8000)
    calibration, details = fit(outcomes, l2=0.1)
    weights = calibration.weights
    assert calibration.intercept == pytest.approx(1.0, abs=0.25)
    assert weights["log_raw"] == pytest.approx(2.0, abs=0.25)
    assert weights[SEGMENTATION] == pytest.approx(-1.5, abs=0.35)
    assert weights[BORDER] == pytest.approx(0.5, abs=0.35)
    assert weights["flagged"] == pytest.approx(-1.0, abs=0.35)
    assert weights["empty_reading"] == weights["not_digits"] == 0.0  # never seen: no weight
    assert details["fields"] == 8000
    again = FieldCalibration.from_json(calibration.to_json(details))
    assert again == calibration
    predicted = np.array(
        [
            again.probability([float(c) for c in d.split(";")], "12", r.split(";") if r else [])
            for d, r in zip(outcomes["digit_confidences"], outcomes["review_reasons"])
        ]
    )
    assert np.abs(predicted - truth).mean() < 0.02


def test_the_fit_refuses_data_where_surer_digits_are_more_often_wrong():
    outcomes, _ = synthetic_outcomes(np.random.default_rng(1), 2000)
    outcomes["exact"] = [float(d.split(";")[0]) < 0.6 for d in outcomes["digit_confidences"]]
    with pytest.raises(ValueError, match="log raw"):
        fit(outcomes)


def test_logistic_fit_on_standardized_features_returns_weights_on_the_features_own_scale():
    rng = np.random.default_rng(2)
    x = rng.normal(50, 10, (20000, 1))  # far from 0 and wide: standardizing matters
    right = rng.uniform(size=20000) < 1 / (1 + np.exp(-(-5 + 0.1 * x[:, 0])))
    intercept, weights = fit_logistic(x, right.astype(float), l2=0.0)
    assert intercept == pytest.approx(-5, abs=0.4) and weights[0] == pytest.approx(0.1, abs=0.01)


SHIPPED_REASON_SETS = [
    [],
    [ReviewReason.LOW_CONFIDENCE],
    [ReviewReason.SEGMENTATION],
    [ReviewReason.BORDER_TOUCH, ReviewReason.NOT_DIGITS],
    [ReviewReason.LOW_CONFIDENCE, ReviewReason.INK_LEFT_OVER, ReviewReason.FAINT_INK],
]


@pytest.mark.parametrize("reasons", SHIPPED_REASON_SETS)
def test_the_shipped_probability_rises_with_the_digits_confidence(reasons):
    calibration = shipped_calibration()
    assert calibration is not None
    confidences = [0.2, 0.5, 0.8, 0.9, 0.95, 0.99, 0.999, 0.9999]
    probabilities = [calibration.probability([c, 0.999], "12", reasons) for c in confidences]
    assert all(0.0 < p < 1.0 for p in probabilities)
    assert all(b > a for a, b in pairwise(probabilities))


def test_the_shipped_calibration_keeps_empty_boxes_sure_and_empty_readings_with_ink_not():
    calibration = shipped_calibration()
    assert calibration is not None
    assert set(calibration.weights) == set(FEATURES)
    assert calibration.probability([], "", []) == 1.0  # an empty box read empty, no flag
    for reasons in SHIPPED_REASON_SETS[1:]:
        with_ink = [*reasons, ReviewReason.INK_LEFT_OVER]
        assert 0.0 < calibration.probability([], "", with_ink) <= EMPTY_WITH_INK_AT_MOST
    # A field read with doubts is less sure than the same digits read without.
    sure = calibration.probability([0.999, 0.999], "12", [])
    assert calibration.probability([0.999, 0.999], "12", [ReviewReason.SEGMENTATION]) < sure


def test_an_empty_reading_with_ink_is_never_sure_whatever_the_fit():
    overconfident = FieldCalibration(10.0, {})
    assert overconfident.probability([], "", [ReviewReason.NOT_DIGITS]) == EMPTY_WITH_INK_AT_MOST
    assert EMPTY_WITH_INK_AT_MOST < 0.99  # below the default review threshold
    assert overconfident.probability([0.9], "7", [ReviewReason.NOT_DIGITS]) > 0.99  # digits read
    assert overconfident.probability([], "", []) == 1.0  # an empty box


def test_without_a_calibration_file_the_confidence_is_raw(monkeypatch, tmp_path):
    monkeypatch.setattr(digitize.field_calibration, "CALIBRATION_FILE", tmp_path / "none.json")
    shipped_calibration.cache_clear()
    try:
        assert shipped_calibration() is None
        segmented = segment_page(form_page(("42", "7")), dpi=200)
        readings = decide_fields(segmented, one_hot(len(segmented.images), 0.9), 0.99)
        for reading in readings:
            assert reading.confidence == pytest.approx(0.9 ** len(reading.value))
    finally:
        shipped_calibration.cache_clear()


def test_a_calibration_file_of_another_version_warns_and_leaves_the_confidence_raw(
    monkeypatch, tmp_path
):
    old = tmp_path / "field_calibration.json"
    old.write_text('{"curves": {"unflagged": {"raw": [0.5], "probability": [0.9]}}}')
    monkeypatch.setattr(digitize.field_calibration, "CALIBRATION_FILE", old)
    shipped_calibration.cache_clear()
    try:
        with pytest.warns(UserWarning, match="confidences stay raw"):
            assert shipped_calibration() is None
    finally:
        shipped_calibration.cache_clear()


def one_hot(rows: int, confidence: float) -> np.ndarray:
    """Row r read as digit r % 10 with `confidence`."""
    probabilities = np.full((rows, 10), (1 - confidence) / 9, np.float32)
    probabilities[np.arange(rows), np.arange(rows) % 10] = confidence
    return probabilities


def test_calibration_changes_the_confidence_but_no_value_and_no_flag(monkeypatch):
    segmented = segment_page(form_page(("4207", "15", "", "36")), dpi=200)
    probabilities = one_hot(len(segmented.images), 0.999)
    probabilities[-1] = one_hot(1, 0.6)[0]  # an unsure last digit: low_confidence
    not_digit = np.zeros(len(segmented.images), bool)
    not_digit[list(segmented.fields[1].slots[0].options[0].rows)] = True  # "15": letters

    calibrated = decide_fields(segmented, probabilities, 0.99, not_digit)
    monkeypatch.setattr(digitize.decision, "shipped_calibration", lambda: None)
    raw = decide_fields(segmented, probabilities, 0.99, not_digit)

    assert [(r.value, r.doubts) for r in calibrated] == [(r.value, r.doubts) for r in raw]
    assert any(r.needs_review for r in raw) and any(not r.needs_review for r in raw)
    changed = [c.confidence != r.confidence for c, r in zip(calibrated, raw)]
    empty_box = [r.value == "" and not r.needs_review for r in raw]
    assert changed == [not empty for empty in empty_box]  # every field but the empty box


# --- the baseline the cross-validation compares with ------------------------------------------


def test_doubt_groups():
    assert doubt_group([]) == "unflagged"
    assert doubt_group([ReviewReason.LOW_CONFIDENCE]) == "low_confidence"
    assert doubt_group([ReviewReason.LOW_CONFIDENCE, ReviewReason.SEGMENTATION]) == "doubted"


def test_isotonic_curve_rises_and_matches_the_share_right_of_its_pools():
    rng = np.random.default_rng(0)
    raw = rng.uniform(0, 1, 2000)
    right = rng.uniform(0, 1, 2000) < raw**2  # truly right with probability raw²
    curve = isotonic(raw, right, min_pool=50)
    assert all(b >= a for a, b in pairwise(curve.probability))
    for x in (0.3, 0.6, 0.9):
        assert abs(curve(x) - x**2) < 0.1
