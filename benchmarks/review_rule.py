"""Flagging on the calibrated field confidence against flagging on the digits: at equal review
rates, how many wrong fields each rule leaves unflagged.

    python benchmarks/review_rule.py OUTCOMES.csv [...] [--name NAME]

OUTCOMES: what `benchmarks/zoo_accuracy.py --keep DIR` writes (DIR/outcomes.csv), development
seeds only (regressions are fitted on them, seed by seed). Writes
benchmarks/results/review_rule.md (review_rule_NAME.md with --name).

Today a digit field is flagged for any doubt (segmentation, ink left over ...) or when a digit
is below `--review-below` (reason low_confidence): the digit rule, "doubts ∪ digit < X". The
probability rule is "doubts ∪ p < T", p a calibrated field confidence. The shipped calibration
(digitize/field_calibration.py) takes `flagged` and `low_confidence` as inputs, which depend
on X: flagging on it would be circular. So p here is a reduced regression without them: log
raw confidence, nothing read, one term per doubt, `other_doubt` (a doubt with no term of its
own, e.g. no_box) and `log_least_doubt`, log(1 − the least digit's confidence), which carries
what low_confidence did without a threshold. It is fitted as the shipped one is
(`fit_logistic`, same penalty, same fields and rules as `FieldCalibration.probability`), each
seed's fields predicted by a fit on the other seeds; the full regression (the shipped
features) and the reduced one without `log_least_doubt` are fitted the same way for the
calibration comparison.

Both rules are applied afterwards to every digit field, found or not (on forms without a
template the value read does not depend on X); a field not found is wrong and never flagged.
They are compared at equal review rates: for each X, the T (0.5 to 0.995 by 0.001) whose
review rate is nearest; at today's X = 0.99, seeds are drawn with replacement for the
difference in wrong fields left unflagged.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from digitize.decision import DEFAULT_REVIEW_BELOW
from digitize.field_calibration import (
    EMPTY_WITH_INK_AT_MOST,
    FEATURES,
    INK_REASONS,
    REASON_FEATURES,
    FieldCalibration,
    field_features,
)
from digitize.records import ReviewReason
from field_calibration import SIMULATIONS, seed_bootstrap, sharpness_table
from model_training.field_calibration import (
    FIRST_HELD_OUT_SEED,
    digit_rows,
    fit_logistic,
    read_outcomes,
    seed_of,
)
from report import write_results

LOW_CONFIDENCE = str(ReviewReason.LOW_CONFIDENCE)
# The shipped calibration's one term per reason, less low_confidence (set by X itself).
DOUBT_TERMS = tuple(name for name in REASON_FEATURES if name != LOW_CONFIDENCE)
REDUCED_WITHOUT_LEAST = ("log_raw", "empty_reading", *DOUBT_TERMS, "other_doubt")
REDUCED = (*REDUCED_WITHOUT_LEAST, "log_least_doubt")
# The CSV writes digit confidences to 4 decimals: 1 − least is 0 or at least 1e-4.
LEAST_DOUBT_FLOOR = 1e-4
DIGIT_BELOW = [0.9, 0.95, 0.98, 0.985, 0.99, 0.995, 0.999]
PROBABILITY_BELOW = [0.5, 0.7, 0.8, 0.9, 0.93, 0.95, 0.96, 0.97, 0.98]
# For matching review rates: T from 0.5 to 0.995 by 0.001.
FINE_PROBABILITY_BELOW = np.round(np.arange(0.5, 0.9955, 0.001), 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outcomes", type=Path, nargs="+")
    parser.add_argument("--name", help="results/review_rule_NAME.md (default review_rule.md)")
    args = parser.parse_args()
    outcomes = pd.concat(map(read_outcomes, args.outcomes), ignore_index=True)
    for column in ("found", "flagged", "exact"):
        outcomes[column] = outcomes[column].astype(str).str.lower().eq("true")
    if (seed_of(outcomes["file"]) >= FIRST_HELD_OUT_SEED).any():
        parser.error(f"seeds from {FIRST_HELD_OUT_SEED} on are held out: not for fitting")

    rows = digit_rows(outcomes)  # the calibrated fields: found, not empty-and-unflagged
    rows["doubts"] = rows["reasons"].map(doubts)
    predicted = leave_one_seed_out(rows)
    right = rows["exact"].to_numpy()
    doubt_free = rows["doubts"].map(len).eq(0).to_numpy()
    seeds = " ".join(map(str, np.unique(seed_of(rows["file"]))))
    lines = [
        "## Calibration",
        "",
        f"{len(rows)} calibrated digit fields (found; an empty box read empty and unflagged is "
        f"not calibrated), {int((~right).sum())} wrong; seeds {seeds}. Each seed's fields "
        "predicted by a fit on the other seeds.",
        "",
        *sharpness_table(predicted, right),
        "",
        "Highest confidence of a field without doubts (which the probability rule can flag "
        "only below it): "
        + "; ".join(f"{label} {p[doubt_free].max():.4f}" for label, p in predicted.items())
        + ".",
        "",
        f"Among the {int(doubt_free.sum())} calibrated fields without doubts, rank "
        "correlation (Spearman) of the "
        "reduced regression with log_least_doubt and the least digit's confidence: "
        f"{least_digit_rank_correlation(rows[doubt_free], predicted['reduced, with log_least_doubt'][doubt_free]):.3f}.",
        "",
        "Reduced regression fitted on all these seeds (log-odds weights): "
        + ", ".join(
            f"{name} {weight:+.3f}" for name, weight in fitted(rows, "doubts", REDUCED).items()
        )
        + ".",
        "",
        *review_rules(outcomes, rows, predicted["reduced, with log_least_doubt"]),
    ]
    name = f"review_rule_{args.name}" if args.name else "review_rule"
    write_results(name, "Review rule: digits or calibrated field confidence", lines)


def least_digit_rank_correlation(rows: pd.DataFrame, p: np.ndarray) -> float:
    """How far p orders these fields as their least digit does (1: the same order): the
    correlation of their ranks, ties sharing the mean rank."""
    least = rows["digits"].map(lambda d: min(d, default=1.0)).to_numpy()
    ranks = [pd.Series(values).rank().to_numpy() for values in (p, least)]
    return float(np.corrcoef(*ranks)[0, 1])


def doubts(reasons: list[str]) -> list[str]:
    """The review reasons that do not depend on X."""
    return [reason for reason in reasons if reason != LOW_CONFIDENCE]


def features(digits: list[float], read: str, reasons: list[str]) -> dict[str, float]:
    """`field_features`, `other_doubt` (a doubt with no term of its own: no_box ...) and
    `log_least_doubt` (an empty reading has no digits: its least is 1)."""
    other = any(reason not in DOUBT_TERMS and reason != LOW_CONFIDENCE for reason in reasons)
    least = min(digits, default=1.0)
    return {
        **field_features(digits, read, reasons),
        "other_doubt": float(other),
        "log_least_doubt": math.log(max(1.0 - least, LEAST_DOUBT_FLOOR)),
    }


def feature_matrix(rows: pd.DataFrame, reasons: str, names: tuple[str, ...]) -> np.ndarray:
    table = [features(*field) for field in zip(rows["digits"], rows["read"], rows[reasons])]
    return np.array([[f[name] for name in names] for f in table], dtype=float).reshape(
        -1, len(names)
    )


def fitted(rows: pd.DataFrame, reasons: str, names: tuple[str, ...]) -> dict[str, float]:
    """The regression's weights by feature name, with "intercept"."""
    intercept, weights = fit_logistic(
        feature_matrix(rows, reasons, names), rows["exact"].to_numpy(float)
    )
    return {"intercept": intercept, **dict(zip(names, map(float, weights), strict=True))}


def probability(calibration: FieldCalibration, digits, read: str, reasons: list[str]) -> float:
    """`FieldCalibration.probability`'s rules, on `features`."""
    if not read and not reasons:
        return 1.0
    p = 1 / (1 + math.exp(-calibration.log_odds(features(digits, read, reasons))))
    return min(p, EMPTY_WITH_INK_AT_MOST) if not read and INK_REASONS & set(reasons) else p


def leave_one_seed_out(rows: pd.DataFrame) -> dict[str, np.ndarray]:
    """Each field's probability by each regression, fitted on the other seeds. The full one
    sees every reason (low_confidence at the scan's X), the reduced ones only the doubts."""
    models = {
        "full (shipped features)": ("reasons", FEATURES),
        "reduced, without log_least_doubt": ("doubts", REDUCED_WITHOUT_LEAST),
        "reduced, with log_least_doubt": ("doubts", REDUCED),
    }
    seeds = seed_of(rows["file"])
    predicted = {label: np.zeros(len(rows)) for label in models}
    for seed in np.unique(seeds):
        train, test = rows[seeds != seed], rows[seeds == seed]
        for label, (reasons, names) in models.items():
            weights = fitted(train, reasons, names)
            calibration = FieldCalibration(weights.pop("intercept"), weights)
            predicted[label][seeds == seed] = [
                probability(calibration, *field)
                for field in zip(test["digits"], test["read"], test[reasons])
            ]
    return predicted


def digit_fields(outcomes: pd.DataFrame, rows: pd.DataFrame, p_rows: np.ndarray) -> pd.DataFrame:
    """Every digit field, found or not, with its doubts, least digit and probability (1 for
    an empty box read empty and unflagged, and for a field not found: neither is flagged)."""
    fields = outcomes[outcomes["expect"] == "digits"].copy()
    reasons = fields["review_reasons"].astype(str).map(lambda t: [r for r in t.split(";") if r])
    digits = (
        fields["digit_confidences"]
        .astype(str)
        .map(lambda t: [float(x) for x in t.split(";") if x.strip()])
    )
    fields["wrong"] = ~(fields["exact"] & fields["found"])
    fields["doubted"] = (reasons.map(doubts).map(len) > 0) & fields["found"]
    fields["least"] = digits.map(lambda d: min(d, default=1.0))
    fields["p"] = 1.0
    fields.loc[rows.index, "p"] = p_rows
    return fields


def review_rules(outcomes: pd.DataFrame, rows: pd.DataFrame, p_rows: np.ndarray) -> list[str]:
    fields = digit_fields(outcomes, rows, p_rows)
    wrong, found, doubted = (fields[c].to_numpy() for c in ("wrong", "found", "doubted"))
    least, p = fields["least"].to_numpy(), fields["p"].to_numpy()

    def digit_rule(below: float) -> np.ndarray:
        return doubted | (found & (least < below))

    def probability_rule(below: float) -> np.ndarray:
        return doubted | (p < below)

    def unflagged_wrong(flagged: np.ndarray) -> int:
        return int((~flagged & wrong).sum())

    today = digit_rule(DEFAULT_REVIEW_BELOW)
    in_csv = fields["flagged"].to_numpy() & found
    rules = {"flagged in the CSV (scan at 0.99)": in_csv, "doubts only": doubted}
    rules |= {f"doubts ∪ digit < {x}": digit_rule(x) for x in DIGIT_BELOW}
    rules |= {f"doubts ∪ p < {t}": probability_rule(t) for t in PROBABILITY_BELOW}
    lines = [
        "## Review rules",
        "",
        f"{len(fields)} digit fields, {int(wrong.sum())} wrong, {int((~found).sum())} of them "
        "not found (wrong, never flagged); p: the reduced regression with log_least_doubt, "
        "left out by seed. Fields on which the CSV's flags and doubts ∪ digit < "
        f"{DEFAULT_REVIEW_BELOW} differ: {int((in_csv != today).sum())}.",
        "",
        "| rule | review rate | wrong fields flagged | unflagged wrong (of all fields) | right fields flagged |",
        "|---|---|---|---|---|",
        *(review_row(label, flagged, wrong) for label, flagged in rules.items()),
        "",
        "### At equal review rates",
        "",
        "For each X, the T whose review rate is nearest (T from 0.5 to 0.995 by 0.001); then "
        "the fields only one of the two rules flags, and the wrong ones among them.",
        "",
        "| X | reviewed | unflagged wrong | T | reviewed | unflagged wrong | fields flagged by one rule only | wrong, flagged by the digit rule only | wrong, by the probability rule only |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    fine_rates = np.array([probability_rule(t).mean() for t in FINE_PROBABILITY_BELOW])
    matched = {}
    for x in DIGIT_BELOW:
        by_digits = digit_rule(x)
        t = float(FINE_PROBABILITY_BELOW[np.argmin(np.abs(fine_rates - by_digits.mean()))])
        by_p = probability_rule(t)
        matched[x] = t
        lines.append(
            f"| {x} | {by_digits.mean():.1%} | {unflagged_wrong(by_digits)} | {t} | "
            f"{by_p.mean():.1%} | {unflagged_wrong(by_p)} | {int((by_digits != by_p).sum())} | "
            f"{int((by_digits & ~by_p & wrong).sum())} | {int((by_p & ~by_digits & wrong).sum())} |"
        )

    t_today = matched[DEFAULT_REVIEW_BELOW]
    by_p = probability_rule(t_today)
    field_seeds = seed_of(fields["file"])

    def more_unflagged(pick: np.ndarray) -> float:
        """Wrong fields the probability rule leaves unflagged, less those today's rule does."""
        return float((~by_p[pick] & wrong[pick]).sum() - (~today[pick] & wrong[pick]).sum())

    def more_reviewed(pick: np.ndarray) -> float:
        return float(by_p[pick].mean() - today[pick].mean())

    # One generator state per statistic: the same draws of seeds for each.
    mean, low, high, below = seed_bootstrap(more_unflagged, field_seeds, np.random.default_rng(0))
    *_, above = seed_bootstrap(
        lambda pick: -more_unflagged(pick), field_seeds, np.random.default_rng(0)
    )
    rate = seed_bootstrap(more_reviewed, field_seeds, np.random.default_rng(0))
    lines += [
        "",
        f"### At today's review rate: doubts ∪ p < {t_today} against doubts ∪ digit < "
        f"{DEFAULT_REVIEW_BELOW}",
        "",
        f"Seeds drawn with replacement ({SIMULATIONS} draws, T kept at {t_today}; mean, "
        "5th-95th percentile):",
        "",
        f"- wrong fields unflagged, probability rule minus digit rule: {mean:+.2f} "
        f"({low:+.0f} to {high:+.0f}); fewer in {below:.0%} of draws, more in {above:.0%}, "
        f"as many in {1 - below - above:.0%}",
        f"- review rate, probability rule minus digit rule: {rate[0]:+.2%} "
        f"({rate[1]:+.2%} to {rate[2]:+.2%})",
    ]
    return lines


def review_row(label: str, flagged: np.ndarray, wrong: np.ndarray) -> str:
    """Review rate; wrong fields flagged (of all wrong, those not found included); wrong and
    unflagged (of all digit fields); right fields flagged (of all right). Counts in brackets."""
    fields, wrong_count = len(wrong), int(wrong.sum())
    caught, missed, extra = (
        int(x.sum()) for x in (flagged & wrong, ~flagged & wrong, flagged & ~wrong)
    )
    return (
        f"| {label} | {flagged.mean():.1%} ({int(flagged.sum())}) | "
        f"{caught / wrong_count:.1%} ({caught}/{wrong_count}) | {missed / fields:.2%} ({missed}) | "
        f"{extra / (fields - wrong_count):.1%} ({extra}) |"
    )


if __name__ == "__main__":
    main()
