"""The style zoo (samples/zoo.py): deterministic, every axis value dealt, truth that lines up."""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "samples"))
import zoo

SEED = 5  # a test seed: neither a dev seed nor a held-out one


def read_truth(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def truth(tmp_path_factory) -> pd.DataFrame:
    """The truth of 14 forms, nothing drawn (layouts only: fast)."""
    out = tmp_path_factory.mktemp("zoo")
    zoo.generate_zoo(out, SEED, forms=14, images=False, file_prefix="forms")
    return read_truth(out / "truth.csv")


def test_every_axis_value_is_dealt_within_as_many_forms_as_it_has_values():
    styles = [form.style for form in zoo.make_forms(SEED, max(map(len, zoo.AXES.values())))]
    for axis, values in zoo.AXES.items():
        assert {style.axis(axis) for style in styles} == set(values), axis


def test_every_axis_value_and_special_field_occurs_in_the_truth(truth):
    assert truth.columns.tolist() == zoo.TRUTH_COLUMNS
    for axis, values in zoo.AXES.items():
        assert set(truth[axis]) - {""} == set(values), axis
    assert set(truth["special"]) == set(zoo.SPECIALS)
    assert set(truth["expect"]) == set(zoo.EXPECTS)


def test_generation_is_deterministic_and_forcing_an_axis_changes_only_that_axis():
    assert zoo.make_forms(SEED, 6) == zoo.make_forms(SEED, 6)
    assert zoo.make_forms(SEED, 6) != zoo.make_forms(SEED + 1, 6)
    plain = zoo.make_forms(SEED, 6)
    forced = zoo.make_forms(SEED, 6, {"ink": "pencil", "dpi": "150"})
    for a, b in zip(plain, forced):
        assert b.style.ink == "pencil" and b.style.dpi == "150"
        for axis in set(zoo.AXES) - {"ink", "dpi"}:
            assert a.style.axis(axis) == b.style.axis(axis)
        assert a.pages == b.pages  # neither ink nor DPI changes the layout


@pytest.mark.parametrize("item", ["ink=crayon", "colour=blue", "dpi"])
def test_a_wrong_only_is_refused_by_name(item):
    with pytest.raises(ValueError, match="no such"):
        zoo.parse_only([item])


def test_truth_boxes_lie_on_the_page_and_fields_never_overlap(truth):
    boxes = truth[["x0", "y0", "x1", "y1"]].astype(float)
    assert ((boxes >= 0) & (boxes <= 1)).all().all()
    assert ((boxes["x1"] > boxes["x0"]) & (boxes["y1"] > boxes["y0"])).all()
    for _, page in truth.groupby(["file", "page"]):
        rects = page[["x0", "y0", "x1", "y1"]].astype(float).to_numpy()
        for a, b in itertools.combinations(rects, 2):
            assert not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]), (a, b)


def test_layouts_stay_on_the_paper():
    for form in zoo.make_forms(SEED, 14):
        for page in form.pages:
            width, height = page.size
            for field in page.fields:
                box = field.box
                assert 10 <= box.x0 < box.x1 <= width - 10 and 20 <= box.y0 < box.y1 <= height - 20


def test_special_fields_say_what_to_expect(truth):
    letters = truth[truth["special"] == "letters"]
    assert (letters["expect"] == "not_digits").all()
    assert letters["value"].str.fullmatch(r"[A-Z ]+").all()
    boxes = truth[truth["special"] == "checkbox"]
    assert (boxes["expect"] == "checkbox").all() and (boxes["kind"] == "checkbox").all()
    assert set(boxes["value"]) == {"0", "1"}
    assert (boxes["box_style"] == "").all() and (boxes["comb_style"] == "").all()
    fillers = truth[truth["special"] == "x_filler"]
    assert (fillers["expect"] == "digits").all() and (fillers["kind"] == "comb").all()
    numbers = truth[truth["expect"] == "digits"]
    assert numbers["value"].str.fullmatch(r"\d*").all()
    assert (numbers[numbers["kind"] == "box"]["comb_style"] == "").all()
    assert (numbers[numbers["kind"] == "comb"]["box_style"] == "").all()


@pytest.mark.slow  # draws forms twice: 4 s
def test_the_cli_draws_the_forms_the_truth_names_the_same_each_time(
    tmp_path, mnist_dir, monkeypatch
):
    monkeypatch.setenv("DIGITIZE_MNIST_DIR", str(mnist_dir))

    def run(out: Path) -> pd.DataFrame:
        forced = ["--only", "dpi=150", "--only", "degradation=none"]
        zoo.main(["--seed", str(SEED), "--out", str(out), "--forms", "3", *forced])
        return read_truth(out / "truth.csv")

    first, second = run(tmp_path / "a"), run(tmp_path / "b")
    assert first.drop(columns="file").equals(second.drop(columns="file"))
    names = sorted({Path(file).name for file in first["file"]})
    assert len(names) == 3
    for name in names:
        path_a, path_b = tmp_path / "a" / "forms" / name, tmp_path / "b" / "forms" / name
        if path_a.suffix == ".pdf":  # the PDF's pages are JPEGs: compare the bytes
            assert path_a.read_bytes() == path_b.read_bytes()
            continue
        with Image.open(path_a) as a, Image.open(path_b) as b:
            assert a.size == (1240, 1754)  # A4 at 150 dpi
            assert np.array_equal(np.asarray(a), np.asarray(b))
    forms = read_truth(tmp_path / "a" / "forms.csv")
    assert forms.columns.tolist() == zoo.FORM_COLUMNS and (forms["dpi"] == "150").all()
