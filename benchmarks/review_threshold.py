"""Choosing `--review-below`: for each threshold, the share of wrong fields flagged and the
share of right fields flagged (work for the reviewer), on the bundled sample forms and on
fresh forms made the same way with other seeds (more mistakes to learn from).

    python benchmarks/review_threshold.py [--seeds 1 2 3 4 5 6] [--mnist-dir DIR]

Scans once with no confidence threshold (only doubtful segmentations flagged), then applies
each threshold to the digit confidences. Writes benchmarks/results/review_threshold.md.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from digitize.scan import ScanOptions, scan
from digitize.scoring import OUTPUT_COLUMNS, read_csv_for_scoring, score
from report import write_results
from sample_sets import as_given, sample_sets

THRESHOLDS = [0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="*", default=[1, 2, 3, 4, 5, 6])
    parser.add_argument("--mnist-dir", type=Path)
    args = parser.parse_args()

    scored = []  # (entries, truth) per set of forms
    with tempfile.TemporaryDirectory() as scratch:
        for _name, forms, truth in sample_sets(args.seeds, Path(scratch), args.mnist_dir):
            out = Path(scratch) / f"{forms.parent.name}.csv"
            scan(ScanOptions(inputs=[as_given(forms)], out=out, review_below=0.0))
            scored.append((read_csv_for_scoring(out, OUTPUT_COLUMNS), read_csv_for_scoring(truth)))

    rows = []
    for threshold in THRESHOLDS:
        results = [score(flag(entries, threshold), truth) for entries, truth in scored]
        fields = sum(r.fields for r in results)
        wrong = sum(r.wrong + r.missed for r in results)
        right = sum(r.exact for r in results)
        wrong_flagged = sum(r.wrong_flagged for r in results)
        right_flagged = sum(r.right_flagged for r in results)
        rows.append(
            f"| {threshold} | {wrong} of {fields} | {wrong_flagged / max(wrong, 1):.0%} | "
            f"{right_flagged / max(right, 1):.1%} |"
        )
    write_results(
        "review_threshold",
        "Review threshold",
        [
            f"{len(scored)} sets of ten forms (the bundled samples and seeds {args.seeds}), "
            "pooled. A field is flagged when its segmentation was doubtful or a digit's "
            "confidence is below the threshold.",
            "",
            "| --review-below | wrong fields | wrong fields flagged | right fields flagged |",
            "|---|---|---|---|",
            *rows,
        ],
    )


def flag(entries, threshold: float):
    """The entries with needs_review recomputed for `threshold` (doubts kept)."""
    doubtful = entries["needs_review"].astype(bool)  # the scoring reader parses true/false
    lowest = entries["digit_confidences"].map(
        lambda text: min((float(c) for c in text.split(";") if c), default=1.0)
    )
    return entries.assign(needs_review=doubtful | (lowest < threshold))


if __name__ == "__main__":
    main()
