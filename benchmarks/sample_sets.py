"""Sets of sample forms to measure on: the bundled samples, and fresh ones made the same way
(samples/generate.py) with other seeds, which nobody looked at while building the tool."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def sample_sets(
    seeds: list[int], scratch: Path, mnist_dir: Path | None = None
) -> list[tuple[str, Path, Path]]:
    """(name, forms directory, truth CSV) for the bundled samples and each seed."""
    sets = [("bundled samples", REPO / "samples" / "forms", REPO / "samples" / "truth.csv")]
    for seed in seeds:
        out = Path(scratch) / f"seed{seed}"
        command = [
            sys.executable,
            str(REPO / "samples" / "generate.py"),
            "--out",
            str(out),
            "--seed",
            str(seed),
        ]
        if mnist_dir:
            command += ["--mnist-dir", str(mnist_dir)]
        subprocess.run(command, check=True, capture_output=True, cwd=REPO)
        sets.append((f"fresh forms, seed {seed}", out / "forms", out / "truth.csv"))
    return sets


def as_given(forms: Path) -> str:
    """The forms directory as truth.csv names its files: relative to the repository if inside."""
    return str(forms.relative_to(REPO)) if forms.is_relative_to(REPO) else str(forms)
