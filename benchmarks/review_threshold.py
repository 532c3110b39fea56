"""Choosing `--review-below`: for each threshold, the share of wrong fields flagged and the
share of right fields flagged (work for the reviewer), on the sample forms.

    python benchmarks/review_threshold.py [INPUTS ...] [--truth samples/truth.csv]

Scans once with no confidence threshold (only doubtful segmentations flagged), then applies
each threshold to the digit confidences. Writes benchmarks/results/review_threshold.md.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from report import write_results  # noqa: E402

from digitize.scan import ScanOptions, scan  # noqa: E402
from digitize.scoring import OUTPUT_COLUMNS, read_csv_for_scoring, score  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
THRESHOLDS = [0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("inputs", nargs="*", default=["samples/forms"])
    parser.add_argument("--truth", type=Path, default=Path("samples/truth.csv"))
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "entries.csv"
        scan(ScanOptions(inputs=args.inputs, out=out, review_below=0.0))
        entries = read_csv_for_scoring(out, OUTPUT_COLUMNS)
    truth = read_csv_for_scoring(args.truth)
    doubtful = entries["needs_review"].astype(bool)  # the scoring reader parses true/false
    lowest = entries["digit_confidences"].map(
        lambda text: min((float(c) for c in text.split(";") if c), default=1.0))

    rows = []
    for threshold in THRESHOLDS:
        flagged = entries.assign(needs_review=doubtful | (lowest < threshold))
        result = score(flagged, truth)
        rows.append(f"| {threshold} | {result.field_exact_match:.1%} | {result.wrong} | "
                    f"{result.flagged_share_of_wrong:.0%} | {result.flagged_share_of_right:.0%} | "
                    f"{flagged['needs_review'].mean():.0%} |")
    write_results("review_threshold", "Review threshold", [
        f"{len(entries)} fields read from {', '.join(args.inputs)}; truth {args.truth}. A field is "
        "flagged when its segmentation was doubtful or a digit's confidence is below the threshold.",
        "",
        "| --review-below | field exact-match | wrong fields | wrong fields flagged | right fields flagged | all fields flagged |",
        "|---|---|---|---|---|---|",
        *rows,
    ])


if __name__ == "__main__":
    main()
