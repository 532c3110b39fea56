"""Whether a field's confidence is a probability: a reliability table and the expected
calibration error (ECE, 15 equal bins) of field confidence against "read exactly right", on
generated forms, raw (the product of the digits' confidences) and calibrated (the regression
shipped in digitize/models/field_calibration.json).

    python benchmarks/field_calibration.py --seeds 9016 9017 9018 --held-out [--keep DIR]
    python benchmarks/field_calibration.py --outcomes DIR/outcomes.csv [--name NAME]
    python benchmarks/field_calibration.py --cross-validate --outcomes DEV/outcomes.csv

Seeds are scanned as benchmarks/zoo_accuracy.py scans them (and its held-out rule holds);
--outcomes reads a kept run instead. The digit fields that became rows are counted. Writes
benchmarks/results/field_calibration_SEEDS.md (or _NAME.md).

--cross-validate fits on development outcomes only, leaving one seed out at a time: the
baseline (one isotonic curve per doubt group) against the shipped method (the regression),
each field predicted by a fit that never saw its seed; with the noise floor, the ECE that a
perfectly calibrated confidence would show on as many fields (outcomes drawn right with the
probability it states). Writes benchmarks/results/field_calibration_dev_cv.md.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from digitize.field_calibration import FieldCalibration, shipped_calibration
from model_training.field_calibration import (
    FIRST_HELD_OUT_SEED,
    curve_probability,
    digit_rows,
    fit_curves,
    fit_rows,
    read_outcomes,
    seed_of,
)
from report import write_results
from samples import zoo
from zoo_accuracy import run_seed

BINS = 15
# The fresh measurement's size (results/field_calibration_fresh_9016-9018.md): the floor there.
FRESH_FIELDS = 537
SEEDS_PER_FRESH_SET = 3
SIMULATIONS = 2000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="*", default=[])
    parser.add_argument("--outcomes", type=Path, nargs="*", default=[])
    parser.add_argument("--forms", type=int, default=zoo.DEFAULT_FORMS)
    parser.add_argument("--mnist-dir", type=Path)
    parser.add_argument("--workers", type=int)
    parser.add_argument("--keep", type=Path)
    parser.add_argument("--held-out", action="store_true", help="allow the reserved held-out seeds")
    parser.add_argument("--name", help="results/field_calibration_NAME.md (default: the seeds)")
    parser.add_argument(
        "--cross-validate",
        action="store_true",
        help="leave-one-seed-out ECE of the baseline and the regression on --outcomes (dev seeds)",
    )
    args = parser.parse_args()
    if args.cross_validate:
        if args.seeds or not args.outcomes:
            parser.error("--cross-validate reads kept development --outcomes, scans no seeds")
        rows = digit_rows(pd.concat(map(read_outcomes, args.outcomes), ignore_index=True))
        seeds = seed_of(rows["file"])
        if (seeds >= FIRST_HELD_OUT_SEED).any():
            parser.error(f"seeds from {FIRST_HELD_OUT_SEED} on are held out: not for fitting")
        lines = cross_validate(rows, seeds)
        write_results(
            "field_calibration_dev_cv", "Field confidence calibration, cross-validated", lines
        )
        return
    reserved = sorted(set(args.seeds) & set(zoo.HELD_OUT_SEEDS))
    if reserved and not args.held_out:
        parser.error(f"seeds {reserved} are held out for the final measurement; add --held-out")
    frames = [read_outcomes(p) for p in args.outcomes]
    with tempfile.TemporaryDirectory() as scratch:
        for seed in args.seeds:
            out = (args.keep or Path(scratch)) / str(seed)
            frames.append(run_seed(seed, out, args)[0])
    rows = digit_rows(pd.concat(frames, ignore_index=True))
    calibration = shipped_calibration()
    right = rows["exact"].to_numpy()
    raw = rows["raw"].to_numpy()
    calibrated = raw if calibration is None else predict(calibration, rows)
    name = args.name or "_".join(map(str, args.seeds)) or "outcomes"
    lines = [
        f"{len(rows)} digit fields that became rows ({int(right.sum())} read exactly right); "
        f"seeds {' '.join(map(str, args.seeds)) or '(kept outcomes)'}; calibration: "
        f"{'digitize/models/field_calibration.json' if calibration else 'none shipped'}.",
        "",
        *sharpness_table({"raw": raw, "calibrated": calibrated}, right),
        "",
        floor_line(calibrated),
        "",
        "Reliability, calibrated:",
        "",
        "| confidence | fields | mean confidence | share right |",
        "|---|---|---|---|",
        *reliability(calibrated, right),
        "",
        "Reliability, raw:",
        "",
        "| confidence | fields | mean confidence | share right |",
        "|---|---|---|---|",
        *reliability(raw, right),
    ]
    write_results(f"field_calibration_{name}", "Field confidence calibration", lines)


def predict(calibration: FieldCalibration, rows: pd.DataFrame) -> np.ndarray:
    return np.array(
        [
            calibration.probability(digits, read, reasons)
            for digits, read, reasons in zip(rows["digits"], rows["read"], rows["reasons"])
        ]
    )


def sharpness_table(confidences: dict[str, np.ndarray], right: np.ndarray) -> list[str]:
    """ECE, and how far the confidence tells right fields from wrong ones."""
    lines = [
        f"| | ECE ({BINS} bins) | mean confidence | share right | right fields' mean | wrong fields' mean | wrong at >= 0.99 | right at >= 0.99 | log loss | Brier |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label, confidence in confidences.items():
        lines.append(
            f"| {label} | {ece(confidence, right):.2%} | {confidence.mean():.4f} | "
            f"{right.mean():.4f} | {confidence[right].mean():.4f} | "
            f"{confidence[~right].mean() if (~right).any() else float('nan'):.4f} | "
            f"{int(((confidence >= 0.99) & ~right).sum())} | "
            f"{int(((confidence >= 0.99) & right).sum())} | "
            f"{log_loss(confidence, right):.4f} | {np.mean((confidence - right) ** 2):.4f} |"
        )
    return lines


# --- cross-validation on development seeds ---------------------------------------------------


def leave_one_seed_out(rows: pd.DataFrame, seeds: np.ndarray) -> dict[str, np.ndarray]:
    """Each field's confidence by the baseline curves and by the regression, both fitted on
    the other seeds."""
    baseline = np.zeros(len(rows))
    regression = np.zeros(len(rows))
    for seed in np.unique(seeds):
        train, test = rows[seeds != seed], rows[seeds == seed]
        curves = fit_curves(train)
        baseline[seeds == seed] = [
            curve_probability(curves, raw, reasons)
            for raw, reasons in zip(test["raw"], test["reasons"])
        ]
        regression[seeds == seed] = predict(fit_rows(train)[0], test)
    return {"baseline (isotonic per doubt group)": baseline, "regression (shipped)": regression}


def cross_validate(rows: pd.DataFrame, seeds: np.ndarray) -> list[str]:
    right = rows["exact"].to_numpy()
    predicted = leave_one_seed_out(rows, seeds)
    baseline, regression = predicted.values()
    unique = np.unique(seeds)
    sets = [unique[k : k + SEEDS_PER_FRESH_SET] for k in range(0, len(unique), SEEDS_PER_FRESH_SET)]
    rng = np.random.default_rng(0)
    lines = [
        f"{len(rows)} digit fields that became rows ({int(right.sum())} read exactly right), "
        f"seeds {' '.join(map(str, unique))}; each seed's fields predicted by a fit on the "
        "other seeds.",
        "",
        *sharpness_table(predicted, right),
        "",
        f"ECE of sets of {SEEDS_PER_FRESH_SET} seeds (as a fresh measurement has), "
        f"{', '.join('-'.join(map(str, s[[0, -1]])) for s in sets)}:",
        "",
        "| | "
        + " | ".join(f"seeds {s[0]}-{s[-1]} ({int(np.isin(seeds, s).sum())})" for s in sets)
        + " | mean |",
        "|---|" + "---|" * (len(sets) + 1),
    ]
    for label, confidence in predicted.items():
        each = [ece(confidence[np.isin(seeds, s)], right[np.isin(seeds, s)]) for s in sets]
        lines.append(
            f"| {label} | " + " | ".join(f"{e:.2%}" for e in each) + f" | {np.mean(each):.2%} |"
        )
    ece_change = seed_bootstrap(
        lambda pick: ece(regression[pick], right[pick]) - ece(baseline[pick], right[pick]),
        seeds,
        rng,
    )
    loss_change = seed_bootstrap(
        lambda pick: (
            log_loss(regression[pick], right[pick]) - log_loss(baseline[pick], right[pick])
        ),
        seeds,
        rng,
    )
    lines += [
        "",
        "Regression minus baseline, seeds drawn with replacement "
        f"({SIMULATIONS} draws; mean, 5th-95th percentile, share of draws below 0):",
        "",
        f"- ECE: {ece_change[0]:+.2%} ({ece_change[1]:+.2%} to {ece_change[2]:+.2%}), {ece_change[3]:.0%} below 0",
        f"- log loss: {loss_change[0]:+.4f} ({loss_change[1]:+.4f} to {loss_change[2]:+.4f}), {loss_change[3]:.0%} below 0",
        "",
        "Noise floor: the ECE of a perfectly calibrated confidence with the same distribution "
        f"(fields drawn from these, each right with the probability it states; {SIMULATIONS} draws):",
        "",
        "| confidences like | fields | mean ECE | spread (sd) | 5th-95th percentile | share of draws at most 2 % |",
        "|---|---|---|---|---|---|",
    ]
    for label, confidence in predicted.items():
        for size in (len(rows), FRESH_FIELDS):
            floor = noise_floor(confidence, size, rng)
            lines.append(
                f"| {label} | {size} | {floor.mean():.2%} | {floor.std():.2%} | "
                f"{np.percentile(floor, 5):.2%}-{np.percentile(floor, 95):.2%} | "
                f"{np.mean(floor <= 0.02):.0%} |"
            )
    lines += ["", *seed_spread(regression, right, seeds)]
    return lines


def seed_bootstrap(
    statistic: Callable[[np.ndarray], float], seeds: np.ndarray, rng: np.random.Generator
) -> tuple[float, float, float, float]:
    """(mean, 5th and 95th percentile, share below 0) of `statistic` over sets of seeds drawn
    with replacement: fields of one seed share their forms, so they are drawn together."""
    unique = np.unique(seeds)
    members = {seed: np.flatnonzero(seeds == seed) for seed in unique}
    values = np.array(
        [
            statistic(np.concatenate([members[s] for s in rng.choice(unique, len(unique))]))
            for _ in range(SIMULATIONS)
        ]
    )
    return (
        float(values.mean()),
        float(np.percentile(values, 5)),
        float(np.percentile(values, 95)),
        float(np.mean(values < 0)),
    )


def floor_line(calibrated: np.ndarray) -> str:
    """What chance alone gives on this many fields: the ECE to compare the calibrated one with."""
    floor = noise_floor(calibrated, len(calibrated), np.random.default_rng(0))
    return (
        f"Noise floor: a perfectly calibrated confidence with the calibrated one's distribution "
        f"shows ECE {floor.mean():.2%} ± {floor.std():.2%} on {len(calibrated)} fields "
        f"(5th-95th percentile {np.percentile(floor, 5):.2%}-{np.percentile(floor, 95):.2%}; "
        f"at most 2 % in {np.mean(floor <= 0.02):.0%} of {SIMULATIONS} draws)."
    )


def noise_floor(confidence: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """ECEs of `size` fields drawn from `confidence`, each right with its own probability."""
    floors = np.empty(SIMULATIONS)
    for k in range(SIMULATIONS):
        drawn = rng.choice(confidence, size)
        floors[k] = ece(drawn, rng.uniform(size=size) < drawn)
    return floors


def seed_spread(confidence: np.ndarray, right: np.ndarray, seeds: np.ndarray) -> list[str]:
    """Whether seeds differ in their share right by more than their confidences say: a
    difference between sets of forms that no field's features can follow."""
    lines = ["Share right by seed against the regression's mean confidence (left out):", ""]
    lines += ["| seed | fields | share right | mean confidence | z |", "|---|---|---|---|---|"]
    chi_square = 0.0
    for seed in np.unique(seeds):
        mine = seeds == seed
        expected, variance = (
            confidence[mine].sum(),
            (confidence[mine] * (1 - confidence[mine])).sum(),
        )
        z = (right[mine].sum() - expected) / np.sqrt(variance)
        chi_square += z**2
        lines.append(
            f"| {seed} | {int(mine.sum())} | {right[mine].mean():.3f} | {confidence[mine].mean():.3f} | {z:+.2f} |"
        )
    lines += [
        "",
        f"Sum of z²: {chi_square:.1f} over {len(np.unique(seeds))} seeds (about {len(np.unique(seeds))} if seeds differed only by chance).",
    ]
    return lines


def log_loss(confidence: np.ndarray, right: np.ndarray) -> float:
    clipped = np.clip(confidence, 1e-6, 1 - 1e-6)
    return float(-np.mean(np.where(right, np.log(clipped), np.log(1 - clipped))))


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


if __name__ == "__main__":
    main()
