"""Whether a field's confidence is a probability: a reliability table and the expected
calibration error (ECE, 15 equal bins) of field confidence against "read exactly right", on
generated forms, raw (the product of the digits' confidences) and calibrated (the curves
shipped in digitize/models/field_calibration.json).

    python benchmarks/field_calibration.py --seeds 9016 9017 9018 --held-out [--keep DIR]
    python benchmarks/field_calibration.py --outcomes DIR/outcomes.csv

Seeds are scanned as benchmarks/zoo_accuracy.py scans them (and its held-out rule holds);
--outcomes reads a kept run instead. The digit fields that became rows are counted. Writes
benchmarks/results/field_calibration_SEEDS.md.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from digitize.field_calibration import shipped_calibration
from model_training.field_calibration import digit_rows
from report import write_results
from samples import zoo
from zoo_accuracy import run_seed

BINS = 15


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="*", default=[])
    parser.add_argument("--outcomes", type=Path, nargs="*", default=[])
    parser.add_argument("--forms", type=int, default=zoo.DEFAULT_FORMS)
    parser.add_argument("--mnist-dir", type=Path)
    parser.add_argument("--workers", type=int)
    parser.add_argument("--keep", type=Path)
    parser.add_argument("--held-out", action="store_true", help="allow the reserved held-out seeds")
    args = parser.parse_args()
    reserved = sorted(set(args.seeds) & set(zoo.HELD_OUT_SEEDS))
    if reserved and not args.held_out:
        parser.error(f"seeds {reserved} are held out for the final measurement; add --held-out")
    frames = [
        pd.read_csv(p, dtype={"read": str, "value": str}, keep_default_na=False)
        for p in args.outcomes
    ]
    with tempfile.TemporaryDirectory() as scratch:
        for seed in args.seeds:
            out = (args.keep or Path(scratch)) / str(seed)
            frames.append(run_seed(seed, out, args)[0])
    rows = digit_rows(pd.concat(frames, ignore_index=True))
    calibration = shipped_calibration()
    right = rows["exact"].to_numpy()
    raw = rows["raw"].to_numpy()
    calibrated = np.array(
        [
            raw_value if calibration is None else calibration.probability(raw_value, read, reasons)
            for raw_value, read, reasons in zip(
                raw, rows["read"].astype(str), rows["review_reasons"].map(_reasons), strict=True
            )
        ]
    )
    name = "_".join(map(str, args.seeds)) or "outcomes"
    lines = [
        f"Command: `python benchmarks/field_calibration.py {' '.join(sys.argv[1:])}`  ",
        "",
        f"{len(rows)} digit fields that became rows ({int(right.sum())} read exactly right); "
        f"seeds {' '.join(map(str, args.seeds)) or '(kept outcomes)'}; curves: "
        f"{'digitize/models/field_calibration.json' if calibration else 'none shipped'}.",
        "",
        f"| | ECE ({BINS} bins) | mean confidence | share right | right fields' mean | wrong fields' mean | wrong at >= 0.99 |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, confidence in (("raw", raw), ("calibrated", calibrated)):
        lines.append(
            f"| {label} | {ece(confidence, right):.2%} | {confidence.mean():.4f} | "
            f"{right.mean():.4f} | {confidence[right].mean():.4f} | "
            f"{confidence[~right].mean() if (~right).any() else float('nan'):.4f} | "
            f"{int(((confidence >= 0.99) & ~right).sum())} |"
        )
    lines += [
        "",
        "Reliability, calibrated:",
        "",
        "| confidence | fields | mean confidence | share right |",
        "|---|---|---|---|",
    ]
    lines += reliability(calibrated, right)
    lines += [
        "",
        "Reliability, raw:",
        "",
        "| confidence | fields | mean confidence | share right |",
        "|---|---|---|---|",
    ]
    lines += reliability(raw, right)
    path = write_results(f"field_calibration_{name}", "Field confidence calibration", lines)
    print("\n".join(lines))
    print(f"-> {path}")


def ece(confidence: np.ndarray, right: np.ndarray, bins: int = BINS) -> float:
    """Expected calibration error: the bins' |share right - mean confidence|, weighted by
    their share of the fields."""
    index = np.minimum((confidence * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        members = index == b
        if members.any():
            total += members.mean() * abs(right[members].mean() - confidence[members].mean())
    return total


def reliability(confidence: np.ndarray, right: np.ndarray, bins: int = BINS) -> list[str]:
    index = np.minimum((confidence * bins).astype(int), bins - 1)
    lines = []
    for b in range(bins):
        members = index == b
        if members.any():
            lines.append(
                f"| {b / bins:.2f}-{(b + 1) / bins:.2f} | {int(members.sum())} | "
                f"{confidence[members].mean():.3f} | {right[members].mean():.3f} |"
            )
    return lines


def _reasons(text: str) -> list[str]:
    return [part for part in str(text).split(";") if part]


if __name__ == "__main__":
    main()
