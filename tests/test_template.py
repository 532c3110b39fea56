"""Form templates: the TOML format (written, read back, refused in one line when it cannot be
used) and registration (a page's found boxes matched to a template's however the scan moved,
scaled or turned the page)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from digitize.errors import UsageError
from digitize.field_names import unique_names
from digitize.registration import register
from digitize.rules import FieldRules
from digitize.template import (
    Template,
    TemplateField,
    load_template,
    template_text,
    write_template,
)

A4 = math.sqrt(2)  # height / width


def form(*boxes: tuple[float, float, float, float], kinds: tuple[str, ...] = ()) -> Template:
    return Template(
        fields=tuple(
            TemplateField(name=f"f{k}", kind=kinds[k] if kinds else "box", box=box)
            for k, box in enumerate(boxes)
        ),
        aspect=A4,
    )


# An invoice-like page: boxes of different sizes, a comb, a 3x3 grid of table cells.
LAYOUT = form(
    (0.10, 0.10, 0.35, 0.14),
    (0.55, 0.10, 0.90, 0.14),
    (0.10, 0.20, 0.60, 0.24),
    (0.70, 0.20, 0.78, 0.25),
    *[
        (0.20 + 0.15 * c, 0.40 + 0.05 * r, 0.33 + 0.15 * c, 0.44 + 0.05 * r)
        for r in range(3)
        for c in range(3)
    ],
    (0.10, 0.80, 0.50, 0.84),
    (0.60, 0.80, 0.65, 0.83),
)


def moved(template: Template, shift=(0.0, 0.0), scale=1.0, degrees=0.0, aspect=A4) -> list:
    """The template's boxes as a scan would show them: turned about the page's centre,
    scaled, shifted (page widths), as fractions of a page of `aspect`."""
    angle = math.radians(degrees)
    rotation = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    centre = np.array([0.5, 0.5 * template.aspect])
    boxes = []
    for found in template.fields:
        x0, y0, x1, y1 = found.box
        a = np.array([x0, y0 * template.aspect])
        b = np.array([x1, y1 * template.aspect])
        mid = rotation @ ((a + b) / 2 - centre) * scale + centre + shift
        half = (b - a) * scale / 2
        low, high = mid - half, mid + half
        boxes.append((low[0], low[1] / aspect, high[0], high[1] / aspect))
    return boxes


@pytest.mark.parametrize(
    "shift, scale, degrees",
    [
        ((0, 0), 1.0, 0),
        ((0.03, -0.02), 1.0, 0),
        ((0.01, 0.02), 1.03, 0),
        ((-0.02, 0.01), 0.98, 2.0),
    ],
)
def test_every_field_is_matched_however_the_page_moved(shift, scale, degrees):
    boxes = moved(LAYOUT, shift, scale, degrees)
    found = register(LAYOUT, boxes, ["box"] * len(boxes), A4)
    assert found.matches == tuple(range(len(boxes)))
    for placed, box in zip(found.boxes, boxes):
        assert np.allclose(placed, box, atol=0.006)


def test_a_grid_shifted_by_most_of_a_cell_is_not_taken_for_its_neighbour():
    # A shift close to a table's pitch lines most cells up with the neighbouring cell; the
    # boxes around the table decide.
    boxes = moved(LAYOUT, shift=(0.05, 0.0))
    found = register(LAYOUT, boxes, ["box"] * len(boxes), A4)
    assert found.matches == tuple(range(len(boxes)))


def test_missing_boxes_are_none_and_extra_boxes_ignored():
    boxes = moved(LAYOUT, shift=(0.02, 0.01))
    kept = [box for k, box in enumerate(boxes) if k not in (1, 5)]
    kept.insert(0, (0.40, 0.60, 0.45, 0.62))  # a box the template does not have
    found = register(LAYOUT, kept, ["box"] * len(kept), A4)
    expected = [k + 1 - sum(k > gone for gone in (1, 5)) for k in range(len(boxes))]
    assert [found.matches[k] for k in range(len(boxes)) if k not in (1, 5)] == [
        expected[k] for k in range(len(boxes)) if k not in (1, 5)
    ]
    assert found.matches[1] is None and found.matches[5] is None
    # Where the missing boxes should be, for the rows that say they were not found.
    assert np.allclose(found.boxes[1], boxes[1], atol=0.006)


def test_a_checkbox_is_never_matched_to_a_box():
    template = form((0.1, 0.1, 0.13, 0.12), (0.5, 0.5, 0.9, 0.55), kinds=("checkbox", "box"))
    found = register(template, [(0.1, 0.1, 0.13, 0.12), (0.5, 0.5, 0.9, 0.55)], ["box", "box"], A4)
    assert found.matches == (None, 1)


def test_a_page_with_no_fields_matches_nothing():
    found = register(LAYOUT, [], [], A4)
    assert found.matches == (None,) * len(LAYOUT.fields) and found.matched == 0


# --- the file format ------------------------------------------------------------------------


def test_a_template_reads_back_as_written(tmp_path):
    template = Template(
        fields=(
            TemplateField("Invoice no.", "box", (0.1, 0.1, 0.3, 0.14)),
            TemplateField('Name "quoted" \\ ü', "comb", (0.1, 0.2, 0.6, 0.24), cells=8),
            TemplateField("Paid", "checkbox", (0.7, 0.2, 0.72, 0.215)),
            TemplateField(
                "Account",
                "box",
                (0.1, 0.3, 0.5, 0.34),
                rules=FieldRules(
                    digits=(6, 8),
                    range=(0, 99999999),
                    date="DDMMYYYY",
                    pattern=r"\d+\\",
                    check="luhn",
                ),
            ),
            TemplateField(
                "Total",
                "box",
                (0.1, 0.4, 0.5, 0.44),
                rules=FieldRules(sum=("Account", 'Name "quoted" \\ ü')),
            ),
        ),
        aspect=1.2941,
        source="forms/a.pdf, page 2",
    )
    path = tmp_path / "form.toml"
    write_template(template, path)
    assert load_template(path) == template
    text = path.read_text(encoding="utf-8")
    assert '# check = "luhn"' in text  # rule slots for a person to fill in


def test_rules_are_read_from_the_field(tmp_path):
    path = tmp_path / "form.toml"
    text = template_text(form((0.1, 0.1, 0.3, 0.14), (0.1, 0.2, 0.3, 0.24)))
    text = text.replace('name = "f0"', 'name = "f0"\ndigits = 8\ncheck = "luhn"', 1)
    text = text.replace('name = "f1"', 'name = "f1"\nsum = ["f0"]', 1)
    path.write_text(text, encoding="utf-8")
    rules = load_template(path).rules()
    assert rules["f0"] != FieldRules() and rules["f0"].check == "luhn"
    assert rules["f1"].sum == ("f0",)


@pytest.mark.parametrize(
    "change, message",
    [
        (("[form]", "[form"), "not a TOML file"),
        (('name = "f1"', 'name = "f0"'), "two fields are named 'f0'"),
        (('kind = "box"', 'kind = "circle"'), "kind must be one of"),
        (("box = [0.1000, 0.1000", "box = [0.5000, 0.1000"), "0 <= x0 < x1 <= 1"),
        (('name = "f1"', 'name = "f1"\ncolour = "red"'), "unknown key 'colour'"),
        (('name = "f1"', 'name = "f1"\nsum = ["f9"]'), "sum names 'f9'"),
        (('name = "f1"', 'name = "f1"\ncheck = "no-such-check"'), "f1"),
        (("[[field]]", "[[fields]]"), "no [[field]] tables"),
        (('kind = "box"', 'kind = "checkbox"\nrange = [0, 1]'), "a checkbox holds no digits"),
    ],
)
def test_a_template_that_cannot_be_used_is_one_line(tmp_path, change, message):
    path = tmp_path / "form.toml"
    text = template_text(form((0.1, 0.1, 0.3, 0.14), (0.1, 0.2, 0.3, 0.24)))
    path.write_text(text.replace(*change), encoding="utf-8")
    with pytest.raises(UsageError) as raised:
        load_template(path)
    assert message in str(raised.value) and "\n" not in str(raised.value)
    assert str(path) in str(raised.value)


def test_a_sum_of_a_checkbox_is_refused(tmp_path):
    path = tmp_path / "form.toml"
    text = template_text(
        form((0.1, 0.1, 0.3, 0.14), (0.1, 0.2, 0.3, 0.24), kinds=("checkbox", "box"))
    )
    path.write_text(text.replace('name = "f1"', 'name = "f1"\nsum = ["f0"]'), encoding="utf-8")
    with pytest.raises(UsageError, match="'f0', a checkbox, which holds no number"):
        load_template(path)


def test_a_missing_template_is_one_line(tmp_path):
    with pytest.raises(UsageError, match="cannot read"):
        load_template(tmp_path / "nothing.toml")


def test_names_are_unique_and_never_empty():
    names = unique_names(["Total", "", "Total", "Total"], ["field_1", "field_2", "field_3", "x"])
    assert names == ["Total", "field_2", "Total (2)", "Total (3)"]
