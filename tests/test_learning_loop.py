"""The review loop end to end: a style the shipped model misreads, corrected by a person,
exported as labelled digits, retrained on, and read right afterwards on pages it never saw.

The retrain here runs on a test budget (the `quick` space, a few thousand MNIST digits); the
loop is the same with the full budget (README, "Learning from corrections").
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from digitize.output import read_table
from unseen_style import random_values, style_page

pytestmark = pytest.mark.slow
FIELDS_PER_PAGE = 20


def digitize(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "digitize", *arguments], capture_output=True, text=True, timeout=900
    )


def write_pages(directory, pages: list[list[str]], rng) -> None:
    directory.mkdir(parents=True)
    for number, values in enumerate(pages):
        Image.fromarray(style_page(values, rng)).save(
            directory / f"page_{number}.png", dpi=(200, 200)
        )


def digit_accuracy(entries_csv, pages: list[list[str]]) -> float:
    """Share of written digits read right, field by field (a field read with the wrong number
    of digits counts all its digits wrong)."""
    rows = read_table(entries_csv)
    right = total = 0
    for number, values in enumerate(pages):
        read = rows[rows["file"].str.endswith(f"page_{number}.png")].set_index("field")["value"]
        for index, value in enumerate(values):
            got = read.get(f"field_{index + 1}", "")
            total += len(value)
            if len(got) == len(value):
                right += sum(a == b for a, b in zip(got, value))
    return right / total


def test_corrections_teach_an_unseen_style(tmp_path, mnist_dir):
    rng = np.random.default_rng(7)
    learn = [random_values(FIELDS_PER_PAGE, rng) for _ in range(5)]
    held_out = [random_values(FIELDS_PER_PAGE, rng) for _ in range(2)]
    write_pages(tmp_path / "learn", learn, rng)
    write_pages(tmp_path / "held_out", held_out, rng)

    # The shipped model on the held-out pages: this style is new to it.
    before = digitize("scan", str(tmp_path / "held_out"), "--out", str(tmp_path / "before.csv"))
    assert before.returncode == 0, before.stderr
    accuracy_before = digit_accuracy(tmp_path / "before.csv", held_out)

    # Scan the pages to learn from; a person corrects every field (here: a corrections CSV).
    entries = tmp_path / "entries.csv"
    assert digitize("scan", str(tmp_path / "learn"), "--out", str(entries)).returncode == 0
    corrections = pd.DataFrame(
        [
            {
                "file": str(tmp_path / "learn" / f"page_{number}.png"),
                "page": 1,
                "field": f"field_{index + 1}",
                "reviewed_value": value,
            }
            for number, values in enumerate(learn)
            for index, value in enumerate(values)
        ]
    )
    corrections.to_csv(tmp_path / "corrections.csv", index=False)
    digits_dir = tmp_path / "digits"
    review = digitize(
        "review",
        str(entries),
        "--all",
        "--apply",
        str(tmp_path / "corrections.csv"),
        "--export-digits",
        str(digits_dir),
    )
    assert review.returncode == 0, review.stderr
    exported = len(list(digits_dir.glob("*/*.png")))
    assert exported >= 0.9 * sum(len(v) for values in learn for v in values)

    # Retrain with the corrections added to MNIST, then read the held-out pages again.
    models = tmp_path / "models"
    retrain = digitize(
        "retrain",
        "--space",
        "quick",
        "--mnist-dir",
        str(mnist_dir),
        "--train-limit",
        "1000",
        "--epochs",
        "3",
        "--final-train-limit",
        "6000",
        "--final-epochs",
        "8",
        "--extra-digits",
        str(digits_dir),
        "--search-dir",
        str(tmp_path / "search"),
        "--model-dir",
        str(models),
        "--force",
    )
    assert retrain.returncode == 0, retrain.stdout + retrain.stderr
    assert "Held-out extra digits, after" in retrain.stdout
    after = digitize(
        "scan",
        str(tmp_path / "held_out"),
        "--out",
        str(tmp_path / "after.csv"),
        "--model-dir",
        str(models),
    )
    assert after.returncode == 0, after.stderr
    accuracy_after = digit_accuracy(tmp_path / "after.csv", held_out)

    print(
        f"seven-segment digits on held-out pages: {accuracy_before:.1%} before, "
        f"{accuracy_after:.1%} after learning from {exported} corrected digits"
    )
    assert accuracy_before < 0.8, f"the style is not new to the model ({accuracy_before:.0%})"
    assert accuracy_after >= 0.95, f"{accuracy_before:.0%} -> {accuracy_after:.0%}"
