"""Fit the regression that makes a field's confidence a probability (digitize/field_calibration.py).

    python -m model_training.field_calibration OUTCOMES.csv [...] [--out FILE]

OUTCOMES: what `benchmarks/zoo_accuracy.py --keep DIR` writes (DIR/outcomes.csv): one row
per truth field of generated forms with how it was read. Fit on development seeds only
(never the held-out seeds, 9000 and up); `benchmarks/field_calibration.py --cross-validate`
measures the fit seed by seed, a fresh seed set measures the shipped one.

The fit is a logistic regression of "read exactly right" on the features of
`digitize.field_calibration.field_features`, by Newton's method with an L2 penalty on the
standardized weights (not the intercept). It replaced one isotonic curve per doubt group
(`fit_curves`, kept as the baseline the cross-validation compares with): left out seed by
seed on dev seeds 101-118 and 122-129 (4,213 fields), the regression's ECE is 1.18 % and the
curves' 1.39 % (noise floor 0.95 +- 0.20 %), and the regression is the sharper (wrong fields
0.51 against 0.60) with the lower log loss in every draw of seeds
(benchmarks/results/field_calibration_dev_cv.md).
"""

from __future__ import annotations

import argparse
import datetime
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from digitize.field_calibration import (
    CALIBRATION_FILE,
    FEATURES,
    FieldCalibration,
    field_features,
    raw_confidence,
)
from digitize.records import ReviewReason

# On standardized features. Left out seed by seed (zoo dev seeds 101-112), the log loss is
# flat from 0.1 to 10 (within 0.002); above 1 the shrinkage pulls the unflagged fields down
# (at 10: 0.989 against 0.993 right), at 1 they are 0.992.
L2 = 1.0
NEWTON_STEPS = 50
# The baseline curves' least pool: fewer make a step that is noise (1 in 20 is 5 points).
MIN_POOL = 20
# Zoo seeds from here on are held out (samples/zoo.py): never fitted on, not even left out.
FIRST_HELD_OUT_SEED = 9000


def digit_rows(outcomes: pd.DataFrame) -> pd.DataFrame:
    """The digit fields that became a row, with their digits' confidences, reasons, raw
    confidence and doubt group; not the empty boxes read empty without a flag, which keep
    their confidence of 1."""
    rows = outcomes[(outcomes["expect"] == "digits") & outcomes["found"].astype(bool)].copy()
    rows["reasons"] = rows["review_reasons"].fillna("").astype(str).map(_reasons)
    rows["read"] = rows["read"].fillna("").astype(str)
    if "digit_confidences" not in rows:
        raise ValueError("outcomes without digit_confidences: rerun benchmarks/zoo_accuracy.py")
    rows["digits"] = rows["digit_confidences"].fillna("").astype(str).map(_numbers)
    rows["raw"] = [
        raw_confidence(d, value, r)
        for d, value, r in zip(rows["digits"], rows["read"], rows["reasons"], strict=True)
    ]
    rows["group"] = rows["reasons"].map(doubt_group)
    # An empty box read empty and unflagged is not calibrated (FieldCalibration.probability).
    rows = rows[(rows["read"] != "") | (rows["reasons"].map(len) > 0)]
    rows["exact"] = rows["exact"].astype(bool)
    return rows


def feature_matrix(rows: pd.DataFrame) -> np.ndarray:
    """(fields, FEATURES): the same features the reader computes (one function for both)."""
    features = [
        field_features(d, value, r)
        for d, value, r in zip(rows["digits"], rows["read"], rows["reasons"], strict=True)
    ]
    return np.array([[f[name] for name in FEATURES] for f in features], dtype=float).reshape(
        -1, len(FEATURES)
    )


def fit_logistic(
    features: np.ndarray, right: np.ndarray, l2: float = L2
) -> tuple[float, np.ndarray]:
    """(intercept, weights) maximizing the penalized likelihood. Standardized so one penalty
    suits features of any scale; a feature constant in the data gets no weight."""
    mean = features.mean(axis=0)
    spread = features.std(axis=0)
    varies = spread > 0
    scaled = np.where(varies, (features - mean) / np.where(varies, spread, 1.0), 0.0)
    design = np.column_stack([np.ones(len(scaled)), scaled])
    penalty = np.diag([0.0, *np.full(features.shape[1], l2)])
    coefficients = np.zeros(design.shape[1])
    for _ in range(NEWTON_STEPS):
        p = 1.0 / (1.0 + np.exp(-design @ coefficients))
        gradient = design.T @ (p - right) + penalty @ coefficients
        hessian = (design * (p * (1 - p))[:, None]).T @ design + penalty
        step = np.linalg.solve(hessian, gradient)
        coefficients -= step
        if np.abs(step).max() < 1e-10:
            break
    weights = np.where(varies, coefficients[1:] / np.where(varies, spread, 1.0), 0.0)
    return float(coefficients[0] - weights @ mean), weights


def fit(outcomes: pd.DataFrame, l2: float = L2) -> tuple[FieldCalibration, dict]:
    return fit_rows(digit_rows(outcomes), l2)


def fit_rows(rows: pd.DataFrame, l2: float = L2) -> tuple[FieldCalibration, dict]:
    """The regression on `digit_rows`, and what it was fitted on."""
    intercept, weights = fit_logistic(feature_matrix(rows), rows["exact"].to_numpy(float), l2)
    if weights[FEATURES.index("log_raw")] <= 0:  # then a surer digit would lower the field's
        raise ValueError("the fit's weight of log raw confidence is not positive: check the data")
    calibration = FieldCalibration(
        intercept, {name: float(w) for name, w in zip(FEATURES, weights, strict=True)}
    )
    return calibration, {"fields": len(rows), "right": int(rows["exact"].sum()), "l2": l2}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outcomes", type=Path, nargs="+")
    parser.add_argument("--out", type=Path, default=CALIBRATION_FILE)
    args = parser.parse_args(argv)
    outcomes = pd.concat([read_outcomes(p) for p in args.outcomes], ignore_index=True)
    if (seed_of(outcomes["file"]) >= FIRST_HELD_OUT_SEED).any():
        parser.error(f"zoo seeds from {FIRST_HELD_OUT_SEED} on are held out: not for fitting")
    calibration, counts = fit(outcomes)
    details = {
        "model": "logistic regression: log-odds = intercept + sum of weight x feature "
        "(digitize/field_calibration.py)",
        "fitted_on": [str(p) for p in args.outcomes],
        **counts,
        "created": datetime.date.today().isoformat(),
        "how": "python -m model_training.field_calibration OUTCOMES.csv ...",
    }
    args.out.write_text(calibration.to_json(details))
    print(f"{args.out}: {counts}")


def read_outcomes(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype={"read": str, "value": str}, keep_default_na=False)


def seed_of(files: pd.Series) -> np.ndarray:
    """Each field's zoo seed, from its form's name (zooSSS_NN.pdf)."""
    found = files.astype(str).map(lambda name: re.search(r"zoo(\d+)_", name))
    if found.map(lambda match: match is None).any():
        raise ValueError("outcomes whose forms are not named zooSEED_NN: no seed to tell")
    return np.array([int(match.group(1)) for match in found])


# --- the baseline: one isotonic curve per doubt group (shipped before the regression) -------


def doubt_group(reasons: Iterable[str]) -> str:
    """Which curve a field's confidence went through: unflagged, flagged only because a digit
    is unsure, or doubted for anything else (segmentation, ink, letters, a border)."""
    found = set(reasons)
    if not found:
        return "unflagged"
    if found == {ReviewReason.LOW_CONFIDENCE}:
        return "low_confidence"
    return "doubted"


@dataclass(frozen=True)
class Curve:
    """A non-decreasing map from raw confidence to probability, by its knots."""

    raw: tuple[float, ...]
    probability: tuple[float, ...]

    def __call__(self, raw: float) -> float:
        return float(np.interp(raw, self.raw, self.probability))


def isotonic(raw: np.ndarray, right: np.ndarray, min_pool: int = MIN_POOL) -> Curve:
    """Pool adjacent violators over the fields sorted by raw confidence; a knot at each
    pool's mean raw confidence. Pools of fewer than `min_pool` merge with a neighbour."""
    order = np.argsort(raw, kind="stable")
    pools: list[list[float]] = []  # [sum of raw, sum of right, count]
    for x, y in zip(raw[order], right[order].astype(float), strict=True):
        pools.append([x, y, 1.0])
        while len(pools) > 1 and (
            pools[-2][1] / pools[-2][2] >= pools[-1][1] / pools[-1][2] or pools[-2][2] < min_pool
        ):
            _merge_last(pools)
    if len(pools) > 1 and pools[-1][2] < min_pool:  # the top pool small: into its neighbour
        _merge_last(pools)
    knots = [pool[0] / pool[2] for pool in pools]
    values = [pool[1] / pool[2] for pool in pools]
    return Curve(tuple(float(k) for k in knots), tuple(float(v) for v in values))


def fit_curves(rows: pd.DataFrame) -> dict[str, Curve]:
    """The baseline's curves, one per doubt group, from `digit_rows`."""
    return {
        str(group): isotonic(members["raw"].to_numpy(), members["exact"].to_numpy())
        for group, members in rows.groupby("group")
    }


def curve_probability(curves: dict[str, Curve], raw: float, reasons: list[str]) -> float:
    curve = curves.get(doubt_group(reasons))
    return raw if curve is None else curve(raw)


def _merge_last(pools: list[list[float]]) -> None:
    last = pools.pop()
    for k in range(3):
        pools[-1][k] += last[k]


def _reasons(text: str) -> list[str]:
    return [part for part in text.split(";") if part]


def _numbers(text: str) -> list[float]:
    return [float(part) for part in text.split(";") if part.strip()]


if __name__ == "__main__":
    main()
