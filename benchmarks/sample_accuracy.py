"""Accuracy on the bundled samples and on fresh forms made the same way with other seeds.

The bundled samples are what the README promises on; fresh seeds check that the figures (and
the review flags) hold on forms nobody looked at while building the tool.

    python benchmarks/sample_accuracy.py [--seeds 1 2 3] [--mnist-dir DIR]

Writes benchmarks/results/sample_accuracy.md.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from report import write_results  # noqa: E402

from digitize.scan import ScanOptions, scan  # noqa: E402
from digitize.scoring import OUTPUT_COLUMNS, Score, read_csv_for_scoring, score  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="*", default=[1, 2, 3])
    parser.add_argument("--mnist-dir", type=Path)
    args = parser.parse_args()

    rows = [row("bundled samples", scan_and_score(REPO / "samples" / "forms", REPO / "samples" / "truth.csv"))]
    with tempfile.TemporaryDirectory() as scratch:
        for seed in args.seeds:
            out = Path(scratch) / f"seed{seed}"
            command = [sys.executable, str(REPO / "samples" / "generate.py"), "--out", str(out),
                       "--seed", str(seed)]
            if args.mnist_dir:
                command += ["--mnist-dir", str(args.mnist_dir)]
            subprocess.run(command, check=True, capture_output=True, cwd=REPO)
            rows.append(row(f"fresh forms, seed {seed}", scan_and_score(out / "forms", out / "truth.csv")))

    write_results("sample_accuracy", "Accuracy on sample forms", [
        "Ten forms per set, made by samples/generate.py from MNIST test digits; scanned with the "
        "default settings and the installed model; scored with `digitize score`.",
        "",
        "| forms | fields | found | field exact-match | digit accuracy | wrong fields | wrong fields flagged | right fields flagged |",
        "|---|---|---|---|---|---|---|---|",
        *rows,
    ])


def scan_and_score(forms: Path, truth: Path) -> Score:
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "entries.csv"
        # Paths relative to the repository, as in truth.csv.
        inputs = [str(forms.relative_to(REPO))] if forms.is_relative_to(REPO) else [str(forms)]
        scan(ScanOptions(inputs=inputs, out=out))
        return score(read_csv_for_scoring(out, OUTPUT_COLUMNS), read_csv_for_scoring(truth))


def row(name: str, result: Score) -> str:
    return (f"| {name} | {result.fields} | {result.field_recall:.1%} | {result.field_exact_match:.1%} | "
            f"{result.digit_accuracy:.1%} | {result.wrong + result.missed} | "
            f"{result.flagged_share_of_wrong:.0%} | {result.flagged_share_of_right:.1%} |")


if __name__ == "__main__":
    main()
