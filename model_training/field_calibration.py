"""Fit the curves that make a field's confidence a probability (digitize/field_calibration.py).

    python -m model_training.field_calibration OUTCOMES.csv [...] [--out FILE]

OUTCOMES: what `benchmarks/zoo_accuracy.py --keep DIR` writes (DIR/outcomes.csv): one row
per truth field of generated forms with how it was read. Fit on development seeds only; the
fresh seeds measure the curves (benchmarks/field_calibration.py).

Each curve is an isotonic regression (pool adjacent violators) of "read exactly right" on
the raw confidence, within one doubt group: the probability never falls as the raw
confidence rises, and is otherwise what the forms say. A group's pools of fewer than
MIN_POOL fields are merged with a neighbour, so one field cannot make a step of its own.
"""

from __future__ import annotations

import argparse
import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from digitize.field_calibration import (
    CALIBRATION_FILE,
    Curve,
    FieldCalibration,
    doubt_group,
    raw_confidence,
)

MIN_POOL = 20  # fields: fewer make a step that is noise (1 in 20 is 5 points)


def digit_rows(outcomes: pd.DataFrame) -> pd.DataFrame:
    """The digit fields that became a row, with their raw confidence and doubt group; not
    the empty boxes read empty without a flag, which keep their confidence of 1."""
    rows = outcomes[(outcomes["expect"] == "digits") & outcomes["found"].astype(bool)].copy()
    reasons = rows["review_reasons"].fillna("").astype(str).map(_reasons)
    read = rows["read"].fillna("").astype(str)
    if "digit_confidences" in rows:
        digits = rows["digit_confidences"].fillna("").astype(str).map(_numbers)
        rows["raw"] = [
            raw_confidence(d, value, r) for d, value, r in zip(digits, read, reasons, strict=True)
        ]
    else:  # outcomes of a scan without calibration: its confidence is the raw one
        rows["raw"] = rows["confidence"].astype(float)
    rows["group"] = reasons.map(doubt_group)
    # An empty box read empty and unflagged is not calibrated (FieldCalibration.probability).
    rows = rows[(read != "") | (reasons.map(len) > 0)]
    rows["exact"] = rows["exact"].astype(bool)
    return rows


def isotonic(raw: np.ndarray, right: np.ndarray, min_pool: int = MIN_POOL) -> Curve:
    """Pool adjacent violators over the fields sorted by raw confidence; a knot at each
    pool's mean raw confidence."""
    order = np.argsort(raw, kind="stable")
    pools: list[list[float]] = []  # [sum of raw, sum of right, count]
    for x, y in zip(raw[order], right[order].astype(float), strict=True):
        pools.append([x, y, 1.0])
        while len(pools) > 1 and (
            pools[-2][1] / pools[-2][2] >= pools[-1][1] / pools[-1][2] or pools[-2][2] < min_pool
        ):
            last = pools.pop()
            for k in range(3):
                pools[-1][k] += last[k]
    if len(pools) > 1 and pools[-1][2] < min_pool:  # the top pool small: into its neighbour
        last = pools.pop()
        for k in range(3):
            pools[-1][k] += last[k]
    knots = [pool[0] / pool[2] for pool in pools]
    values = [pool[1] / pool[2] for pool in pools]
    return Curve(tuple(float(k) for k in knots), tuple(float(v) for v in values))


def fit(outcomes: pd.DataFrame) -> tuple[FieldCalibration, dict]:
    rows = digit_rows(outcomes)
    curves = {}
    counts = {}
    for group, members in rows.groupby("group"):
        curves[str(group)] = isotonic(members["raw"].to_numpy(), members["exact"].to_numpy())
        counts[str(group)] = {"fields": len(members), "right": int(members["exact"].sum())}
    return FieldCalibration(curves), counts


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outcomes", type=Path, nargs="+")
    parser.add_argument("--out", type=Path, default=CALIBRATION_FILE)
    args = parser.parse_args(argv)
    outcomes = pd.concat(
        [
            pd.read_csv(p, dtype={"read": str, "value": str}, keep_default_na=False)
            for p in args.outcomes
        ],
        ignore_index=True,
    )
    calibration, counts = fit(outcomes)
    details = {
        "fitted_on": [str(p) for p in args.outcomes],
        "fields": counts,
        "created": datetime.date.today().isoformat(),
        "how": "python -m model_training.field_calibration OUTCOMES.csv ...",
    }
    args.out.write_text(calibration.to_json(details))
    print(f"{args.out}: {counts}")


def _reasons(text: str) -> list[str]:
    return [part for part in text.split(";") if part]


def _numbers(text: str) -> list[float]:
    return [float(part) for part in text.split(";") if part.strip()]


if __name__ == "__main__":
    main()
