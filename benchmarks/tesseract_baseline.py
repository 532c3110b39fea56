"""The bar people have today: Debian's tesseract-ocr reading the same sample fields, given
each field's box from the truth (so it never has to find them), digits only.

    python benchmarks/tesseract_baseline.py [--truth samples/truth.csv]

Needs `tesseract` on the PATH (Debian: apt-get install tesseract-ocr); it is not a
dependency of digitize. Writes benchmarks/results/tesseract_baseline.md.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2

sys.path.insert(0, str(Path(__file__).parent))
from digitize.pages import load_page
from digitize.scoring import read_csv_for_scoring
from report import write_results

REPO = Path(__file__).resolve().parent.parent
INSET = 0.004  # of the page: crop inside the printed border, so tesseract sees no box lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--truth", type=Path, default=REPO / "samples" / "truth.csv")
    args = parser.parse_args()
    if shutil.which("tesseract") is None:
        sys.exit("tesseract not found (Debian: apt-get install tesseract-ocr)")
    truth = read_csv_for_scoring(args.truth)
    version = subprocess.run(
        ["tesseract", "--version"], capture_output=True, text=True
    ).stdout.split("\n")[0]

    right = filled_right = filled = 0
    with tempfile.TemporaryDirectory() as scratch:
        for (file, page), fields in truth.groupby(["file", "page"]):
            image = load_page(str(REPO / file), int(page)).image
            height, width = image.shape
            for field in fields.itertuples():
                x0, y0 = float(field.x0) + INSET, float(field.y0) + INSET
                x1, y1 = float(field.x1) - INSET, float(field.y1) - INSET
                crop = image[int(y0 * height) : int(y1 * height), int(x0 * width) : int(x1 * width)]
                path = Path(scratch) / "field.png"
                cv2.imwrite(str(path), crop)
                read = subprocess.run(
                    [
                        "tesseract",
                        str(path),
                        "-",
                        "--psm",
                        "7",
                        "-c",
                        "tessedit_char_whitelist=0123456789",
                    ],
                    capture_output=True,
                    text=True,
                ).stdout
                value = "".join(ch for ch in read if ch.isdigit())
                right += value == field.value
                if field.value:
                    filled += 1
                    filled_right += value == field.value
    write_results(
        "tesseract_baseline",
        "Baseline: tesseract on the same fields",
        [
            f"{version}, `--psm 7` (one line), digits whitelisted, each field cropped from its "
            f"truth box (inset {INSET:.1%} of the page, inside the border).",
            "",
            "| fields | read exactly | of the filled fields, read exactly |",
            "|---|---|---|",
            f"| {len(truth)} | {right / len(truth):.1%} ({right}) | {filled_right / filled:.1%} ({filled_right} of {filled}) |",
        ],
    )


if __name__ == "__main__":
    main()
