"""`digitize template make` and `digitize scan --template` end to end, with the fake classifier
(no TensorFlow): a template made from one page names the fields of another scan of the form
moved, scaled and turned on the scanner; a box the page lacks is a flagged row; boxes the
template lacks give none; a template's rules flag the values that break them."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from digitize.cli import app
from digitize.output import read_entries
from digitize.records import ReviewReason
from digitize.template import load_template, template_text
from synthetic_forms import PAGE_SIZE, write_image

# (x, y, width, height) in pixels at 200 DPI, and what is written in each.
BOXES = [
    ((300, 300, 500, 150), "42"),
    ((1000, 300, 400, 150), "7"),
    ((300, 700, 300, 150), "105"),
    ((900, 750, 600, 150), "3"),
    ((500, 1200, 700, 150), "88"),
]


def form(skip: tuple[int, ...] = (), extra: bool = False) -> np.ndarray:
    width, height = PAGE_SIZE
    page = np.full((height, width), 255, np.uint8)
    for k, ((x, y, w, h), value) in enumerate(BOXES):
        if k in skip:
            continue
        cv2.rectangle(page, (x, y), (x + w, y + h), 0, 3)
        cv2.putText(page, value, (x + 40, y + 120), cv2.FONT_HERSHEY_SIMPLEX, 4, 0, 14)
    if extra:  # a box the template does not have
        cv2.rectangle(page, (300, 1700), (600, 1850), 0, 3)
        cv2.putText(page, "5", (340, 1820), cv2.FONT_HERSHEY_SIMPLEX, 4, 0, 14)
    return page


def scanner(degrees: float, scale: float, shift: tuple[int, int]) -> np.ndarray:
    """The 2x3 matrix of a scan turned, scaled and fed off-centre."""
    width, height = PAGE_SIZE
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), degrees, scale)
    matrix[:, 2] += shift
    return matrix


def scanned(page: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    return cv2.warpAffine(page, matrix, PAGE_SIZE, borderValue=255)


def run(*arguments: str):
    result = CliRunner().invoke(app, [*arguments])
    return result


@pytest.fixture
def template_file(tmp_path, fake_classifier, monkeypatch):
    from fakes import FakeKerasModel

    monkeypatch.setattr("digitize.classifier.KerasModel", FakeKerasModel)
    source = write_image(tmp_path / "blank.png", form())
    path = tmp_path / "form.toml"
    made = run("template", "make", str(source), "--out", str(path))
    assert made.exit_code == 0, made.output
    return path


def test_template_make_writes_every_field(template_file):
    template = load_template(template_file)
    assert len(template.fields) == len(BOXES)
    assert {f.kind for f in template.fields} == {"box"}
    assert math.isclose(template.aspect, PAGE_SIZE[1] / PAGE_SIZE[0], abs_tol=1e-3)
    # In reading order, where the boxes are.
    first = template.fields[0].box
    assert first[0] == pytest.approx(300 / PAGE_SIZE[0], abs=0.01)
    assert first[1] == pytest.approx(300 / PAGE_SIZE[1], abs=0.01)


@pytest.mark.slow
def test_a_moved_scan_is_named_by_the_template(tmp_path, template_file):
    baseline = write_image(tmp_path / "straight.png", form())
    matrix = scanner(degrees=1.5, scale=0.98, shift=(40, -30))
    page = write_image(tmp_path / "moved.png", scanned(form(extra=True), matrix))
    out = tmp_path / "e.csv"
    result = run(
        "scan", str(baseline), str(page), "--out", str(out), "--template", str(template_file)
    )
    assert result.exit_code == 0, result.output
    entries = [e.result for e in read_entries(out).entries]
    names = [f.name for f in load_template(template_file).fields]
    by_file = {}
    for row in entries:
        by_file.setdefault(row.file, []).append(row)
    straight, moved = by_file[str(baseline)], by_file[str(page)]
    # One row per template field, in its order, named; the extra box gives none.
    assert [row.label for row in moved] == names == [row.label for row in straight]
    assert not any(ReviewReason.NOT_FOUND in row.reasons for row in moved)
    # Each template field took its own box: where the scanner put it, with its digits.
    width, height = PAGE_SIZE
    for row, ((x, y, w, h), value) in zip(moved, BOXES):
        centre = matrix @ [x + w / 2, y + h / 2, 1]
        found = ((row.box[0] + row.box[2]) / 2 * width, (row.box[1] + row.box[3]) / 2 * height)
        assert np.allclose(found, centre, atol=12), (row.label, found, centre)
        assert len(row.value) == len(value)
    assert [len(row.value) for row in straight] == [len(value) for _, value in BOXES]


def test_a_box_the_page_lacks_is_a_flagged_empty_row(tmp_path, template_file):
    page = write_image(tmp_path / "gap.png", form(skip=(3,)))
    out = tmp_path / "e.csv"
    result = run("scan", str(page), "--out", str(out), "--template", str(template_file))
    assert result.exit_code == 0, result.output
    rows = [e.result for e in read_entries(out).entries]
    assert len(rows) == len(BOXES)
    missing = rows[3]
    assert missing.value == "" and missing.needs_review
    assert missing.reasons == (ReviewReason.NOT_FOUND,)
    assert missing.box[0] == pytest.approx(900 / PAGE_SIZE[0], abs=0.01)
    assert all(ReviewReason.NOT_FOUND not in row.reasons for k, row in enumerate(rows) if k != 3)


def test_a_broken_rule_flags_the_field_in_words(tmp_path, template_file):
    template = load_template(template_file)
    first = template.fields[0].name
    text = template_text(template).replace(
        f'name = "{first}"', f'name = "{first}"\ndigits = 7\nrange = [0, 5]', 1
    )
    ruled = tmp_path / "ruled.toml"
    ruled.write_text(text, encoding="utf-8")
    page = write_image(tmp_path / "form.png", form())
    out = tmp_path / "e.csv"
    result = run("scan", str(page), "--out", str(out), "--template", str(ruled))
    assert result.exit_code == 0, result.output
    row = read_entries(out).entries[0].result
    assert ReviewReason.VALIDATION in row.reasons and row.needs_review
    assert "digits" in row.review_notes


def test_a_bad_template_is_one_line_before_anything_is_read(tmp_path, fake_classifier):
    bad = tmp_path / "bad.toml"
    bad.write_text("[[field]]\nname = 'a'\nbox = [0.5, 0.1, 0.2, 0.3]\n", encoding="utf-8")
    page = write_image(tmp_path / "form.png", form())
    out = tmp_path / "e.csv"
    result = run("scan", str(page), "--out", str(out), "--template", str(bad))
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0 and "bad.toml" in result.output
    assert not out.exists()


def test_the_review_page_says_the_name_and_the_rule(tmp_path, template_file):
    from digitize.review.store import ReviewStore

    template = load_template(template_file)
    first = template.fields[0].name
    ruled = tmp_path / "ruled.toml"
    ruled.write_text(
        template_text(template).replace(f'name = "{first}"', f'name = "{first}"\ndigits = 9', 1),
        encoding="utf-8",
    )
    page = write_image(tmp_path / "form.png", form())
    out = tmp_path / "e.csv"
    assert run("scan", str(page), "--out", str(out), "--template", str(ruled)).exit_code == 0
    read = read_entries(out)
    item = ReviewStore(out, read.entries, read.columns).item(0)
    assert item.label == first
    assert "breaks a rule" in item.why and "digits = 9" in item.why


@pytest.mark.slow
def test_without_tesseract_labels_are_empty_and_the_scan_says_why_once(
    tmp_path, fake_classifier, monkeypatch
):
    monkeypatch.setenv("TESSDATA_PREFIX", str(tmp_path))  # no English model there
    pages = [write_image(tmp_path / f"{k}.png", form()) for k in range(2)]
    out = tmp_path / "e.csv"
    result = run("scan", *map(str, pages), "--out", str(out), "--workers", "1")
    assert result.exit_code == 0, result.output
    assert result.output.count("English model is not installed") == 1
    rows = [e.result for e in read_entries(out).entries]
    assert len(rows) == 2 * len(BOXES) and all(row.label == "" for row in rows)


def test_a_page_of_another_form_is_not_named_but_flagged(tmp_path, template_file):
    width, height = PAGE_SIZE
    other = np.full((height, width), 255, np.uint8)
    for k, x in enumerate((300, 800)):  # two boxes, one where the template has one
        cv2.rectangle(other, (x, 300 + 900 * k), (x + 500, 450 + 900 * k), 0, 3)
        cv2.putText(other, "42", (x + 40, 420 + 900 * k), cv2.FONT_HERSHEY_SIMPLEX, 4, 0, 14)
    page = write_image(tmp_path / "other.png", other)
    out = tmp_path / "e.csv"
    assert (
        run("scan", str(page), "--out", str(out), "--template", str(template_file)).exit_code == 0
    )
    rows = [e.result for e in read_entries(out).entries]
    assert len(rows) == 2 and all(row.label == "" for row in rows)
    assert all(ReviewReason.TEMPLATE_MISMATCH in row.reasons for row in rows)
    assert "of the template's 5 fields: another form?" in rows[0].review_notes


@pytest.mark.parametrize(
    "form_given, out_given, message",
    [
        ("missing.png", "t.toml", "missing.png: no such file"),
        (".", "t.toml", "is a folder, not a scanned form"),
        ("form.png", "form.png", "is the form itself"),
        ("form.png", ".", "is a folder; give the .toml"),
        ("form.png", "form.png/t.toml", "cannot write"),
    ],
)
def test_template_make_mistakes_are_one_line(tmp_path, monkeypatch, form_given, out_given, message):
    monkeypatch.chdir(tmp_path)
    write_image(tmp_path / "form.png", form())
    before = (tmp_path / "form.png").read_bytes()
    result = run("template", "make", form_given, "--out", out_given)
    assert result.exit_code != 0
    assert message in result.output and result.output.strip().count("\n") == 0, result.output
    assert (tmp_path / "form.png").read_bytes() == before


def test_crops_under_a_template_are_the_rows_own(tmp_path, template_file):
    page = write_image(tmp_path / "gap.png", form(skip=(3,), extra=True))
    out, crops = tmp_path / "e.csv", tmp_path / "crops"
    result = run(
        "scan",
        str(page),
        "--out",
        str(out),
        "--template",
        str(template_file),
        "--crops",
        str(crops),
    )
    assert result.exit_code == 0, result.output
    rows = [e.result for e in read_entries(out).entries]
    # The missing box's crop is the page where it should be; the extra box leaves no file.
    assert sorted(p.name for p in crops.iterdir()) == sorted(Path(r.crop).name for r in rows)
    assert all(Path(row.crop).is_file() for row in rows)
