"""Validation rules of template fields (digitize.rules): read from a field's table (refused in
one line when they cannot be used), checked on values, and repairing a failed value from its
uncertain digits' runner-up readings only when exactly one reading satisfies the rule."""

from __future__ import annotations

import numpy as np
import pytest

from digitize.errors import UsageError
from digitize.rules import (
    RULE_BROKEN_ON_PAPER,
    RULE_KEYS,
    FieldRules,
    RuleInput,
    check_page,
    field_failures,
    parse_rules,
)

WHERE = '--template form.toml ("total")'
REVIEW_BELOW = 0.99
SURE = 0.999  # a digit nobody doubts


def probabilities(value: str, doubts: dict[int, dict[int, float]] | None = None) -> np.ndarray:
    """Softmax rows for `value`: every digit SURE, but those in `doubts` (1-based position:
    {class: probability}); what a row leaves is spread over its other classes."""
    rows = np.zeros((len(value), 10))
    for k, digit in enumerate(value):
        given = (doubts or {}).get(k + 1, {int(digit): SURE})
        rest = [c for c in range(10) if c not in given]
        rows[k, rest] = (1.0 - sum(given.values())) / len(rest)
        for c, p in given.items():
            rows[k, c] = p
    return rows


def field(
    name: str,
    value: str,
    doubts: dict[int, dict[int, float]] | None = None,
    confidence: float | None = None,
) -> RuleInput:
    return RuleInput(name, value, probabilities(value, doubts), REVIEW_BELOW, confidence)


def rules(**table: object) -> FieldRules:
    return parse_rules(table, WHERE)


def failures(value: str, **table: object) -> tuple[str, ...]:
    return check_page([field("f", value)], {"f": rules(**table)})["f"].failures


# --- reading the rules -----------------------------------------------------------------------


def test_each_rule_key_is_read():
    read = rules(
        digits="6-8",
        range=[0, 99999],
        date="ddmmyyyy",
        pattern="[0-9]+",
        check="luhn",
        sum=["a", " b "],
    )
    assert read == FieldRules(
        digits=(6, 8),
        range=(0, 99999),
        date="DDMMYYYY",
        pattern="[0-9]+",
        check="luhn",
        sum=("a", "b"),
    )
    assert rules(digits=8).digits == (8, 8)
    assert rules(digits="0-4").digits == (0, 4)  # may be empty
    assert {"digits", "range", "date", "pattern", "check", "sum"} == RULE_KEYS


def test_keys_that_are_no_rules_are_left_to_the_template():
    assert parse_rules({"name": "total", "box": [0, 0, 1, 1], "kind": "box"}, WHERE) == FieldRules()


def test_rules_are_described_for_people():
    assert rules(digits=8, check="luhn").describe() == "digits = 8, check = luhn"
    assert rules(digits="6-8", sum=["a", "b"]).describe() == "digits = 6-8, sum = a + b"
    assert FieldRules().describe() == ""


@pytest.mark.parametrize(
    "name", ["luhn", "verhoeff", "damm", "iso7064 mod 11,10", "isbn", "isin", "iban", "ean"]
)
def test_check_names_of_stdnum_are_known(name):
    assert rules(check=name).check == name


@pytest.mark.parametrize(
    "name", ["imei", "us_rtn", "us.rtn", "nl.bsn", "de.idnr", "in.pan", "LUHN"]
)
def test_check_names_resolve_to_stdnum_modules(name):
    assert rules(check=name).check == name.lower()


@pytest.mark.parametrize(
    ("key", "value", "says"),
    [
        ("digits", "8-6", "digits must be"),
        ("digits", "eight", "digits must be"),
        ("digits", 0, "digits must be"),
        ("digits", True, "digits must be"),
        ("digits", 8.0, "digits must be"),
        ("range", [0], "range must be [low, high] of integers"),
        ("range", [0, 9.5], "range must be [low, high] of integers"),
        ("range", "0-9", "range must be [low, high] of integers"),
        ("range", [9, 0], "low <= high"),
        ("date", "DDMM", "date must be a layout"),
        ("date", "DDMMYYYYYY", "date must be a layout"),
        ("date", "DD.MM.YYYY", "date must be a layout"),
        ("date", 20240101, "date must be a layout"),
        ("pattern", "[0-9", "is no regular expression"),
        ("pattern", 5, "pattern must be"),
        ("check", "mod10", "is no check of python-stdnum"),
        ("check", "util", "is no check of python-stdnum"),
        ("check", "../luhn", "is no check of python-stdnum"),
        ("check", 10, "is no check of python-stdnum"),
        ("sum", [], "sum must be a list of field names"),
        ("sum", "a", "sum must be a list of field names"),
        ("sum", ["a", 2], "sum must be a list of field names"),
        ("sum", ["a", "a"], "twice"),
    ],
)
def test_a_rule_that_cannot_be_used_is_refused_in_one_line(key, value, says):
    with pytest.raises(UsageError) as raised:
        parse_rules({key: value}, WHERE)
    message = str(raised.value)
    assert message.startswith(f"{WHERE}: ")
    assert says in message
    assert "\n" not in message


# --- checking values -------------------------------------------------------------------------


def test_digits():
    assert failures("12345678", digits=8) == ()
    assert failures("1234567", digits=8) == ("digits = 8: 7 digits read",)
    assert failures("123456", digits="6-8") == ()
    assert failures("123456789", digits="6-8") == ("digits = 6-8: 9 digits read",)


def test_range():
    assert failures("99999", range=[0, 99999]) == ()
    assert failures("00042", range=[42, 42]) == ()
    assert failures("100000", range=[0, 99999]) == ("range = [0, 99999]: 100000 is outside",)


@pytest.mark.parametrize(
    ("value", "layout", "valid"),
    [
        ("29022024", "DDMMYYYY", True),
        ("31022024", "DDMMYYYY", False),
        ("29022023", "DDMMYYYY", False),
        ("20241231", "YYYYMMDD", True),
        ("20241331", "YYYYMMDD", False),
        ("12312024", "MMDDYYYY", True),
        ("31122024", "MMDDYYYY", False),
        ("311224", "DDMMYY", True),
        ("000229", "YYMMDD", True),  # 29 Feb 2000
        ("010229", "YYMMDD", False),  # no 29 Feb in 1901 or 2001
        ("3112202", "DDMMYYYY", False),
        ("00012024", "DDMMYYYY", False),
    ],
)
def test_date(value, layout, valid):
    failed = failures(value, date=layout)
    assert failed == (() if valid else (f"date = {layout}: {value} is no date",))


def test_pattern_matches_the_whole_value():
    assert failures("1234", pattern="[0-9]{4}") == ()
    assert failures("12345", pattern="[0-9]{4}") == ('pattern = "[0-9]{4}": 12345 does not match',)


def test_luhn():
    assert failures("79927398713", check="luhn") == ()
    assert failures("79927398710", check="luhn") == (
        "check = luhn: 79927398710 has a wrong check digit",
    )


@pytest.mark.parametrize(
    ("check", "valid", "invalid"),
    [
        ("us_rtn", "111000025", "111000026"),
        ("isbn", "9780306406157", "9780306406158"),
        ("nl.bsn", "111222333", "111222334"),
    ],
)
def test_checks_through_stdnum(check, valid, invalid):
    assert failures(valid, check=check) == ()
    (failed,) = failures(invalid, check=check)
    assert failed.startswith(f"check = {check}: {invalid} is no valid {check}")


def test_iban():
    iban = rules(check="iban")
    assert field_failures(iban, "GB82WEST12345698765432") == []  # a value typed by a person
    assert field_failures(iban, "GB82WEST12345698765433") != []
    assert failures("12345678", check="iban") == (  # digits read are never an IBAN
        "check = iban: 12345678 is no valid iban (a wrong check digit or form)",
    )


def test_an_empty_value_fails_only_digits():
    every = {"range": [1, 9], "date": "DDMMYY", "pattern": "[0-9]+", "check": "luhn"}
    assert failures("", **every) == ()
    assert failures("", digits=8, **every) == ("digits = 8: empty read",)
    assert failures("", digits="0-8") == ()


def test_outcomes_only_for_fields_with_rules_or_in_a_sum():
    page = [field("total", "5"), field("a", "5"), field("note", "7"), field("plain", "1")]
    outcomes = check_page(page, {"total": rules(sum=["a"]), "note": FieldRules()})
    assert set(outcomes) == {"total", "a"}


def test_a_passing_field_keeps_the_confidence_it_was_read_with():
    outcome = check_page([field("f", "", confidence=0.0)], {"f": rules(range=[0, 9])})["f"]
    assert outcome.value == "" and outcome.confidence == 0.0 and outcome.failures == ()
    outcome = check_page([field("f", "12")], {"f": rules(range=[0, 99])})["f"]
    assert outcome.confidence == pytest.approx(SURE**2)
    assert outcome.repair == "" and not outcome.uncertain


def test_probabilities_must_match_the_value():
    with pytest.raises(ValueError, match="probabilities"):
        check_page([RuleInput("f", "12", np.zeros((3, 10)), 0.99)], {"f": rules(digits=2)})


# --- repair by a field's rules ---------------------------------------------------------------


def posterior(taken: float, left_out: float, breaking: float) -> float:
    """A repair's confidence: the reading taken against the readings never tried and, should
    the writer have broken the rule on paper, the readings tried that break it."""
    kept = taken * (1 - RULE_BROKEN_ON_PAPER)
    return kept / (kept + left_out + RULE_BROKEN_ON_PAPER * breaking)


def test_luhn_repair_takes_the_one_runner_up_that_satisfies():
    # 79927398713 is valid; its check digit was read 0 (62 %), runner-up 3 (37.99 %).
    read = field("card", "79927398710", {11: {0: 0.62, 3: 0.3799}})
    outcome = check_page([read], {"card": rules(check="luhn")})["card"]
    assert outcome.value == "79927398713"
    assert outcome.failures == ()
    assert outcome.repair.startswith(
        "repaired by check = luhn: digit 11 read 0 (62%), taken as 3 (38%); "
    )
    # The readings below the floor (0.01 % in all) and the reading as read (the writer may have
    # miscopied the number) count against it: sure, but not 1.0.
    assert outcome.digit_confidences[10] == pytest.approx(posterior(0.3799, 0.0001, 0.62))
    assert REVIEW_BELOW < outcome.digit_confidences[10] < 1.0
    assert outcome.confidence == pytest.approx(SURE**10 * outcome.digit_confidences[10])
    assert not outcome.uncertain


def test_a_repair_among_few_readings_tried_stays_uncertain():
    # 3 % of the check digit's probability lies in readings too unlikely to try: the repair
    # is taken, but at about 0.35 / (0.35 + 0.03) it is still below review_below.
    read = field("card", "79927398710", {11: {0: 0.62, 3: 0.35}})
    outcome = check_page([read], {"card": rules(check="luhn")})["card"]
    assert outcome.value == "79927398713"
    assert outcome.digit_confidences[10] == pytest.approx(posterior(0.35, 0.03, 0.62))
    assert outcome.uncertain


def test_a_repair_of_a_far_likelier_reading_stays_uncertain():
    # The check picks the runner-up at 10 % over the reading at 90 %: the writer may as well
    # have miscopied the number, so the repair is taken but left for a person to see.
    read = field("card", "79927398710", {11: {0: 0.8999, 3: 0.1}})
    outcome = check_page([read], {"card": rules(check="luhn")})["card"]
    assert outcome.value == "79927398713"
    assert outcome.digit_confidences[10] == pytest.approx(posterior(0.1, 0.0001, 0.8999))
    assert outcome.uncertain


def test_a_repair_settles_the_digits_it_kept_too():
    # Digit 3 was doubted too, but only keeping it satisfies the check: confirmed with digit 11.
    doubts = {3: {9: 0.9, 4: 0.0999}, 11: {0: 0.62, 3: 0.3799}}
    outcome = check_page([field("card", "79927398710", doubts)], {"card": rules(check="luhn")})
    repaired = outcome["card"]
    assert repaired.value == "79927398713"
    assert "digit 3 read 9 (90%), kept, digit 11 read 0 (62%), taken as 3 (38%)" in repaired.repair
    # One posterior for the two: the reading as read (0.9 x 0.62) is what the writer's slip
    # would look like.
    assert repaired.digit_confidences[2] == repaired.digit_confidences[10]
    left_out = 1 - (0.9 + 0.0999) * (0.62 + 0.3799)
    expected = posterior(0.9 * 0.3799, left_out, 1 - left_out - 0.9 * 0.3799)
    assert repaired.digit_confidences[2] == pytest.approx(expected)


def test_an_ambiguous_repair_is_not_taken():
    # Both 79927398713 (digit 11 -> 3) and 79927398770 (digit 10 -> 7) pass the check.
    read = field("card", "79927398710", {10: {1: 0.6, 7: 0.3999}, 11: {0: 0.6, 3: 0.3999}})
    outcome = check_page([read], {"card": rules(check="luhn")})["card"]
    assert outcome.value == "79927398710"
    assert outcome.repair == ""
    assert outcome.failures == (
        "check = luhn: 79927398710 has a wrong check digit "
        "(2 readings of its uncertain digits would satisfy it)",
    )
    assert outcome.uncertain


def test_sure_digits_are_never_changed():
    # The check digit is as sure as review_below asks, though its runner-up would be tried.
    read = field("card", "79927398710", {11: {0: 0.992, 3: 0.0079}})
    outcome = check_page([read], {"card": rules(check="luhn")})["card"]
    assert outcome.value == "79927398710" and outcome.repair == ""
    assert outcome.failures == ("check = luhn: 79927398710 has a wrong check digit",)


def test_a_value_of_the_wrong_length_is_not_repaired():
    read = field("card", "7992739871", {10: {1: 0.6, 3: 0.3999}})
    outcome = check_page([read], {"card": rules(digits=11, check="luhn")})["card"]
    assert outcome.value == "7992739871" and outcome.repair == ""
    assert "digits = 11: 10 digits read" in outcome.failures


def test_date_repair():
    # 31022024 is no date; its month digit read 2 (55 %) could be 1 (44.99 %): 31 Jan.
    read = field("born", "31022024", {4: {2: 0.55, 1: 0.4499}})
    outcome = check_page([read], {"born": rules(date="DDMMYYYY")})["born"]
    assert outcome.value == "31012024"
    assert outcome.repair.startswith("repaired by date = DDMMYYYY: digit 4 read 2 (55%)")


def test_a_pattern_repair_names_the_pattern():
    read = field("code", "1213", {4: {3: 0.6, 2: 0.3999}})
    outcome = check_page([read], {"code": rules(pattern="(?:12)+")})["code"]
    assert outcome.value == "1212"
    assert outcome.repair.startswith('repaired by pattern = "(?:12)+": digit 4 read 3 (60%)')


def test_repair_is_bounded_when_every_digit_is_in_doubt():
    # 16 digits, each any of ten readings: a bounded search finds many that satisfy the
    # check (not 10**16 combinations), so nothing is taken.
    value = "1234567890123456"
    doubts = {k: {int(d): 0.2} for k, d in enumerate(value, start=1)}
    outcome = check_page([field("card", value, doubts)], {"card": rules(check="luhn")})["card"]
    assert outcome.value == value and outcome.repair == ""
    assert "readings of its uncertain digits would satisfy it" in outcome.failures[0]


# --- sums ------------------------------------------------------------------------------------

SUM = {"total": rules(sum=["a", "b"])}


def test_a_sum_that_adds_up_passes_and_one_that_does_not_fails():
    outcomes = check_page([field("total", "1234"), field("a", "1000"), field("b", "234")], SUM)
    assert outcomes["total"].failures == ()
    outcomes = check_page([field("total", "1284"), field("a", "1000"), field("b", "234")], SUM)
    assert outcomes["total"].failures == ("sum = a + b: 1284 is not 1000 + 234 = 1234",)
    assert outcomes["a"].failures == outcomes["b"].failures == ()


def test_empty_parts_count_zero_and_an_empty_total_needs_empty_parts():
    assert (
        check_page([field("total", "7"), field("a", ""), field("b", "7")], SUM)["total"].failures
        == ()
    )
    assert (
        check_page([field("total", ""), field("a", ""), field("b", "")], SUM)["total"].failures
        == ()
    )
    assert check_page([field("total", ""), field("a", ""), field("b", "7")], SUM)[
        "total"
    ].failures == ("sum = a + b: empty, but the parts add up to 7",)


def test_a_sum_with_a_part_not_read_fails():
    (failed,) = check_page([field("total", "7"), field("a", "7")], SUM)["total"].failures
    assert failed == "sum = a + b: 'b' was not read on this page, so the sum is unchecked"


def test_sum_repair_of_the_total():
    # 1234 = 1000 + 234, the total's 3 read 8 (60 %) with runner-up 3 (38 %).
    page = [field("total", "1284", {3: {8: 0.6, 3: 0.38}}), field("a", "1000"), field("b", "234")]
    outcomes = check_page(page, SUM)
    total = outcomes["total"]
    assert total.value == "1234"
    assert total.failures == ()
    assert total.repair.startswith(
        "repaired by the sum of 'total' (sum = a + b): digit 3 read 8 (60%), taken as 3 (38%)"
    )
    assert total.digit_confidences[2] == pytest.approx(posterior(0.38, 0.02, 0.6))
    assert total.uncertain
    assert outcomes["b"].value == "234" and outcomes["b"].repair == ""


def test_sum_repair_of_a_part():
    page = [field("total", "1234"), field("a", "1000"), field("b", "284", {2: {8: 0.6, 3: 0.3999}})]
    outcomes = check_page(page, SUM)
    assert outcomes["b"].value == "234"
    assert outcomes["b"].repair.startswith("repaired by the sum of 'total'")
    assert outcomes["b"].digit_confidences[1] == pytest.approx(posterior(0.3999, 0.0001, 0.6))
    assert not outcomes["b"].uncertain
    assert outcomes["total"].failures == () and outcomes["total"].repair == ""


def test_sum_repair_keeps_the_parts_within_their_own_rules():
    page = [field("total", "1234"), field("a", "1000"), field("b", "284", {2: {8: 0.6, 3: 0.3999}})]
    outcomes = check_page(page, {**SUM, "b": rules(range=[0, 200])})
    assert outcomes["b"].value == "284" and outcomes["b"].repair == ""
    assert outcomes["total"].failures == ("sum = a + b: 1234 is not 1000 + 284 = 1284",)


def test_an_ambiguous_sum_repair_is_not_taken():
    # Either the total's 8 is a 3, or b's 3 is an 8: both add up.
    page = [
        field("total", "1284", {3: {8: 0.6, 3: 0.3999}}),
        field("a", "1000"),
        field("b", "234", {2: {3: 0.6, 8: 0.3999}}),
    ]
    outcomes = check_page(page, SUM)
    assert outcomes["total"].value == "1284" and outcomes["b"].value == "234"
    assert outcomes["total"].failures == (
        "sum = a + b: 1284 is not 1000 + 234 = 1234 "
        "(2 readings of the uncertain digits would satisfy it)",
    )


def test_a_part_repaired_by_its_own_rule_is_added_repaired():
    # b's check digit is repaired by Luhn first (18 -> 18 is valid: 1,8 -> 2+8 = 10); then the
    # sum holds without touching the total.
    page = [
        field("total", "1018"),
        field("a", "1000"),
        field("b", "10", {2: {0: 0.6, 8: 0.3999}}),
    ]
    outcomes = check_page(page, {**SUM, "b": rules(check="luhn")})
    assert outcomes["b"].value == "18"
    assert outcomes["b"].repair.startswith("repaired by check = luhn")
    assert outcomes["total"].failures == ()
