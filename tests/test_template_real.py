"""Templates on real forms, with the shipped model: one made from one election result sheet
names the fields of another province's printing of the same form, its sum rule holding; one
made from a bundled sample reads that form back, one row a page (`--layout wide`)."""

from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from digitize.cli import app
from digitize.output import read_entries
from digitize.records import ReviewReason
from digitize.rules import FieldRules
from digitize.template import load_template, write_template

pytestmark = [pytest.mark.model, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[1]
REAL = REPO.parent / "shared" / "real-scans"
VOTES = ["Candidate 1", "Candidate 2", "Valid votes", "Invalid votes"]


def run(*arguments: str) -> None:
    result = CliRunner().invoke(app, list(arguments))
    assert result.exit_code == 0, result.output


def truth(name: str) -> list[dict[str, str]]:
    with open(REPO / "tests" / "real_scans" / f"{name}.csv", encoding="utf-8") as stream:
        return list(csv.DictReader(stream))


def name_votes(path: Path) -> None:
    """Name the sheet's four vote fields (the 3-cell combs, top to bottom) and give the valid
    votes their sum, as a person editing the template would."""
    template = load_template(path)
    combs = iter(VOTES)
    fields = [replace(f, name=next(combs)) if f.kind == "comb" else f for f in template.fields]
    assert next(combs, None) is None, "not four combs"
    fields = [
        replace(f, rules=FieldRules(sum=("Candidate 1", "Candidate 2")))
        if f.name == "Valid votes"
        else f
        for f in fields
    ]
    write_template(replace(template, fields=tuple(fields)), path)


@pytest.mark.skipif(not REAL.is_dir(), reason="../shared/real-scans is not beside the checkout")
def test_one_template_for_two_printings_of_an_election_sheet(tmp_path):
    template = tmp_path / "sheet.toml"
    run("template", "make", str(REAL / "kawalc1_c1kwk2015_bengkulu.png"), "--out", str(template))
    name_votes(template)
    out = tmp_path / "e.csv"
    other = "kawalc1_c1kwk2015_kalimantan_utara"
    run("scan", str(REAL / f"{other}.png"), "--template", str(template), "--out", str(out))
    rows = {e.result.label: e.result for e in read_entries(out).entries}
    assert all(ReviewReason.NOT_FOUND not in rows[name].reasons for name in VOTES)
    expected = [row["value"] for row in truth(other)]
    # Candidates and valid votes are read right; their sum holds, so no rule flags them.
    assert [rows[name].value for name in VOTES[:3]] == expected[:3]
    assert ReviewReason.VALIDATION not in rows["Valid votes"].reasons
    # Where each field is on this printing (its rows are shorter than the template's).
    for name, row in zip(VOTES, truth(other)):
        box = [float(row[c]) for c in ("x0", "y0", "x1", "y1")]
        assert rows[name].box == pytest.approx(box, abs=0.02)


def test_a_sample_form_read_back_by_its_template_one_row_a_page(tmp_path):
    form = REPO / "samples" / "forms" / "timesheet_hours.png"
    template = tmp_path / "timesheet.toml"
    run("template", "make", str(form), "--out", str(template))
    out = tmp_path / "wide.csv"
    run("scan", str(form), "--template", str(template), "--layout", "wide", "--out", str(out))
    with open(out, encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    names = [f.name for f in load_template(template).fields]
    assert len(rows) == 1 and list(rows[0])[2:-2] == names
    with open(REPO / "samples" / "truth.csv", encoding="utf-8") as stream:
        expected = [r["value"] for r in csv.DictReader(stream) if r["file"].endswith(form.name)]
    read = [rows[0][name] for name in names]
    assert len(read) == len(expected)
    assert sum(a == b for a, b in zip(read, expected)) >= len(expected) - 1
