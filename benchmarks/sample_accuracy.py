"""Accuracy on the bundled samples and on fresh forms made the same way with other seeds.

The bundled samples are what the README promises on; fresh seeds check that the figures (and
the review flags) hold on forms nobody looked at while building the tool.

    python benchmarks/sample_accuracy.py [--seeds 1 2 3 4 5 6] [--mnist-dir DIR]

Writes benchmarks/results/sample_accuracy.md.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from digitize.scan import ScanOptions, scan
from digitize.scoring import OUTPUT_COLUMNS, Score, read_csv_for_scoring, score
from report import write_results
from sample_sets import as_given, sample_sets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="*", default=[1, 2, 3, 4, 5, 6])
    parser.add_argument("--mnist-dir", type=Path)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        rows = [
            row(name, scan_and_score(forms, truth))
            for name, forms, truth in sample_sets(args.seeds, Path(scratch), args.mnist_dir)
        ]

    write_results(
        "sample_accuracy",
        "Accuracy on sample forms",
        [
            "Ten forms per set, made by samples/generate.py from MNIST test digits; scanned with the "
            "default settings and the installed model; scored with `digitize score`.",
            "",
            "| forms | fields | found | field exact-match | digit accuracy | wrong fields | wrong fields flagged | right fields flagged |",
            "|---|---|---|---|---|---|---|---|",
            *rows,
        ],
    )


def scan_and_score(forms: Path, truth: Path) -> Score:
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "entries.csv"
        scan(ScanOptions(inputs=[as_given(forms)], out=out))
        return score(read_csv_for_scoring(out, OUTPUT_COLUMNS), read_csv_for_scoring(truth))


def row(name: str, result: Score) -> str:
    return (
        f"| {name} | {result.fields} | {result.field_recall:.1%} | {result.field_exact_match:.1%} | "
        f"{result.digit_accuracy:.1%} | {result.wrong + result.missed} | "
        f"{result.flagged_share_of_wrong:.0%} | {result.flagged_share_of_right:.1%} |"
    )


if __name__ == "__main__":
    main()
