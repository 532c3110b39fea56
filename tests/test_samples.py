"""The sample forms and samples/truth.csv: consistent with each other and with the generator."""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pdf2image import pdfinfo_from_path
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "samples"
TRUTH = SAMPLES / "truth.csv"
COLUMNS = ["file", "page", "field", "value", "x0", "y0", "x1", "y1"]
REDRAWN_FORM = "timesheet_hours.png"  # small and quick; redrawn to compare with the sample


def read_truth(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype={"value": str}, keep_default_na=False)


def page_count(path: Path) -> int:
    if path.suffix.lower() == ".pdf":
        return int(pdfinfo_from_path(str(path))["Pages"])
    with Image.open(path) as image:
        return getattr(image, "n_frames", 1)


def load_generator():
    # samples/ is not a package; load the script by its path.
    spec = importlib.util.spec_from_file_location("samples_generate", SAMPLES / "generate.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def truth() -> pd.DataFrame:
    return read_truth(TRUTH)


def test_truth_has_exactly_the_columns(truth):
    assert truth.columns.tolist() == COLUMNS


def test_every_file_exists_with_enough_pages(truth):
    for file, pages in truth.groupby("file")["page"]:
        path = REPO / file
        assert path.is_file(), file
        assert pages.min() >= 1 and pages.max() <= page_count(path), file


def test_boxes_lie_on_the_page(truth):
    boxes = truth[["x0", "y0", "x1", "y1"]]
    assert ((boxes >= 0) & (boxes <= 1)).all().all()
    assert (truth["x0"] < truth["x1"]).all() and (truth["y0"] < truth["y1"]).all()


def test_values_are_digits_or_empty(truth):
    assert truth["value"].map(lambda value: re.fullmatch(r"[0-9]*", value) is not None).all()
    assert (truth["value"].str.len() <= 10).all()


def test_fields_are_numbered_from_one_on_each_page(truth):
    for (file, page), fields in truth.groupby(["file", "page"], sort=False):
        expected = [f"field_{n}" for n in range(1, len(fields) + 1)]
        assert fields["field"].tolist() == expected, (file, page)


def test_regenerating_gives_the_same_truth_and_pages(tmp_path):
    mnist = Path(os.environ.get("DIGITIZE_MNIST_DIR") or REPO.parent / "shared" / "mnist")
    if not mnist.is_dir():
        pytest.skip(f"no MNIST at {mnist} (set DIGITIZE_MNIST_DIR)")
    generator = load_generator()
    # Truth for every form, but only one form drawn: drawing them all takes several seconds.
    generator.generate(mnist, tmp_path, only=[REDRAWN_FORM], file_prefix="samples/forms")
    assert (tmp_path / "truth.csv").read_text() == TRUTH.read_text()
    redrawn = np.asarray(Image.open(tmp_path / "forms" / REDRAWN_FORM), dtype=float)
    sample = np.asarray(Image.open(SAMPLES / "forms" / REDRAWN_FORM), dtype=float)
    # Not byte-for-byte: other OpenCV or Pillow versions may round a few pixels differently.
    assert redrawn.shape == sample.shape
    assert np.abs(redrawn - sample).mean() < 0.5
