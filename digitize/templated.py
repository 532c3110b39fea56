"""A page's fields as a template names them: one row per template field, in its order.

The page's found fields are registered to the template (digitize.registration); a template
field matched to a found one takes its reading and the template's name as its `label`; one
not found gives a row with an empty value, flagged `not_found`, where its box should be;
found fields the template does not have give no row. A page on which fewer than half the
template's fields are found is taken for another form: its fields keep their own rows,
unnamed, flagged `template_mismatch`. Then the template's rules check the
values (digitize.rules): a value a rule repaired from its digits' runner-up readings says so,
one that still breaks a rule is flagged `validation` with the rule in words.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from digitize.records import Box, FieldResult, ReviewReason
from digitize.registration import register
from digitize.rules import RuleInput, RuleOutcome, check_page
from digitize.template import Template, TemplateField

# A page is the template's form when at least this share of the template's fields are found
# on it. Two printings of the 2015 election sheet share 24 of 32; a page of another form
# lines up a box or two by chance.
MIN_MATCHED_SHARE = 0.5


def apply_template(
    template: Template,
    blank: FieldResult,
    found: Sequence[FieldResult],
    probabilities: Sequence[np.ndarray],
    aspect: float,
) -> list[FieldResult]:
    """The page's rows under `template`: `found` are the page's fields as read, with their
    digits' softmax rows (`probabilities`, one (digits, 10) array a field); `blank` is an
    empty row of this page (file, page, review_below) for the fields not found; `aspect` is
    the page's height / width."""
    registration = register(
        template, [f.box for f in found], [f.kind for f in found], aspect=aspect
    )
    if registration.matched < math.ceil(MIN_MATCHED_SHARE * len(template.fields)):
        return [_another_form(row, registration.matched, len(template.fields)) for row in found]
    rows: list[FieldResult] = []
    digit_rows: dict[str, np.ndarray] = {}
    for number, (wanted, match) in enumerate(zip(template.fields, registration.matches), 1):
        if match is None:
            rows.append(_not_found(wanted, number, registration.boxes[number - 1], blank))
            continue
        rows.append(replace(found[match], label=wanted.name))
        digit_rows[wanted.name] = probabilities[match]
    return _checked(rows, digit_rows, template, blank.review_below)


def _another_form(row: FieldResult, matched: int, fields: int) -> FieldResult:
    """A field of a page that is not the template's form (another page of the PDF, another
    form in the batch): kept as read, unnamed and flagged, rather than named by the few boxes
    that happen to line up."""
    return replace(
        row,
        reasons=tuple(dict.fromkeys((*row.reasons, ReviewReason.TEMPLATE_MISMATCH))),
        review_notes=(
            f"the page has {matched} of the template's {fields} fields: another form? "
            "Its fields are not named"
        ),
    )


def _not_found(wanted: TemplateField, number: int, box: Box, blank: FieldResult) -> FieldResult:
    """A template field with no box found where it should be: an empty value a person must
    look at (the box may be there, unread, or the page may be another form)."""
    return replace(
        blank,
        field=f"missing_{number}",
        value="",
        confidence=0.0,
        digit_confidences=(),
        box=box,
        reasons=(ReviewReason.NOT_FOUND,),
        kind=wanted.kind,
        label=wanted.name,
        review_notes=f"no {wanted.kind} found where the template has {wanted.name!r}",
    )


def _checked(
    rows: list[FieldResult],
    digit_rows: dict[str, np.ndarray],
    template: Template,
    review_below: float,
) -> list[FieldResult]:
    rules = template.rules()
    inputs = [
        RuleInput(row.label, row.value, digit_rows[row.label], review_below, row.confidence)
        for row in rows
        if row.label in digit_rows and row.kind != "checkbox"
    ]
    outcomes = check_page(inputs, rules)
    return [
        _with_outcome(row, outcomes[row.label]) if row.label in outcomes else row for row in rows
    ]


def _with_outcome(row: FieldResult, outcome: RuleOutcome) -> FieldResult:
    notes = [note for note in (row.review_notes, outcome.repair, *outcome.failures) if note]
    reasons = list(row.reasons)
    if outcome.repair and not outcome.uncertain:
        # The rule settled the digits that were in doubt.
        reasons = [r for r in reasons if r is not ReviewReason.LOW_CONFIDENCE]
    if outcome.repair and outcome.uncertain and ReviewReason.LOW_CONFIDENCE not in reasons:
        reasons.append(ReviewReason.LOW_CONFIDENCE)
    if outcome.failures:
        reasons.append(ReviewReason.VALIDATION)
    return replace(
        row,
        value=outcome.value,
        confidence=outcome.confidence,
        digit_confidences=outcome.digit_confidences,
        reasons=tuple(dict.fromkeys(reasons)),
        review_notes="; ".join(notes),
    )
