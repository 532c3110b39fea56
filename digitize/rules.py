"""Validation rules of a form template's fields: read from a field's table, checked on the
values a page gave, and used to repair a failed value from its digits' runner-up readings.

A field's `[[field]]` table (digitize.template) may hold these rule keys (`RULE_KEYS`), each
optional:

    digits = 8 | "6-8"          how many digits the value has ("0-8": it may also be empty)
    range = [0, 99999]          the value as a whole number lies within, both ends included
    date = "DDMMYYYY"           a calendar date in this layout of DD, MM and YYYY or YY
    pattern = "[0-9]{4}"        a Python regular expression the whole value matches
    check = "luhn"              a check-digit algorithm of python-stdnum: luhn, verhoeff, damm,
                                "iso7064 mod 11,10", isbn, isin, iban, ean, imei, us_rtn, or
                                any stdnum module by its dotted name ("nl.bsn", "de.idnr")
    sum = ["a", "b"]            this field (a total) is the sum of the named fields of its page

`parse_rules` reads them into a `FieldRules`, refusing anything it cannot use with a
`UsageError` of one line naming the field. `check_page` checks one page's named fields
(`RuleInput`) and gives each field that has rules, or is part of a sum, a `RuleOutcome`.
`field_failures` checks a value alone (a person's correction) against all rules but `sum`.

Empty values: an empty box is an optional field left blank, so only `digits` fails it (unless
its low end is 0); the other field rules pass it. In a sum an empty part counts 0; an empty
total passes only while every part is empty too.

Repair: a person fills a check digit or a total so that a slip shows; the same redundancy
tells which reading of an uncertain digit was meant. When a value breaks a rule, the readings
its uncertain digits could also have (`_varied`) are tried: if exactly one combination other
than the one read satisfies the field's rules (for a sum: the sum, and the total's and the
parts' own rules), it is taken, and the outcome says so in `repair`. Zero or several: the value
is kept and the failure says how many readings would satisfy it. A value of the wrong length
is never repaired: changing digits cannot fix it.
"""

from __future__ import annotations

import datetime
import importlib
import inspect
import itertools
import keyword
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import TypeGuard

import numpy as np

from digitize.errors import UsageError
from digitize.messages import one_line

RULE_KEYS = frozenset({"digits", "range", "date", "pattern", "check", "sum"})

# Repair tries at most this many uncertain digits at once (of a field, or of a sum's fields
# together), the least confident first. A check digit or a sum is satisfied by about one in
# ten random readings, so with more digits in doubt several readings satisfy it and nothing
# would be taken anyway; such a reading is for a person to look at.
MAX_VARIED = 4
# ...and at most this many combinations of their readings: ~0.2 s on one core for a field
# that fails with every digit in doubt (1000 combinations: 45 ms), nothing for one that holds.
MAX_COMBINATIONS = 4096
# A digit's reading is tried when the classifier gives it at least this probability: rarer
# ones would only add combinations that satisfy a rule by chance; their mass still counts
# against the reading taken (see `_take`).
READING_FLOOR = 0.005

# Names for check algorithms whose stdnum module path differs from the name people use.
# How often a writer's own value breaks its rule (a sum added wrong, a check digit miscopied):
# assumed, not measured. With it a repair is sure (>= 0.99) only where the runner-up taken was
# nearly as likely as the reading it replaces (38 % against 62 %: 99.1 %; 27 % against 73 %:
# 98.6 %, still flagged), and a page whose writer added wrong is not made to add up unflagged.
RULE_BROKEN_ON_PAPER = 0.005
CHECK_ALIASES = {"us_rtn": "us.rtn"}
# Algorithms that are a check digit only: a failure is a wrong check digit, not a wrong form.
CHECK_DIGIT_ONLY = frozenset({"luhn", "verhoeff", "damm"})
_DATE_TOKEN = re.compile(r"DD|MM|YYYY|YY")


@dataclass(frozen=True)
class FieldRules:
    """The rules of one field; the defaults check nothing."""

    digits: tuple[int, int] | None = None  # fewest and most digits
    range: tuple[int, int] | None = None  # lowest and highest value, both allowed
    date: str | None = None  # layout, e.g. "DDMMYYYY"
    pattern: str | None = None  # a regular expression the whole value matches
    check: str | None = None  # a stdnum algorithm's name as written (lower case)
    sum: tuple[str, ...] = ()  # the fields this one is the total of

    def describe(self) -> str:
        """The rules in words, for people: "digits = 8, check = luhn"; "" for none."""
        return ", ".join(rule for rule in self._described().values())

    def _described(self) -> dict[str, str]:
        """Each rule that is set, by key, as its key = value."""
        said: dict[str, str] = {}
        for key, value in self.as_table().items():
            if key == "sum":
                said[key] = f"sum = {' + '.join(self.sum)}"
            elif key == "pattern":
                said[key] = f'pattern = "{value}"'
            else:
                text = f"[{value[0]}, {value[1]}]" if isinstance(value, list) else str(value)
                said[key] = f"{key} = {text}"
        return said

    def as_table(self) -> dict[str, int | str | list]:
        """The rules that are set, as a template's field table holds them (parse_rules reads
        them back): digits a number or "low-high", range and sum lists, the rest text."""
        table: dict[str, int | str | list] = {}
        if self.digits is not None:
            low, high = self.digits
            table["digits"] = low if low == high else f"{low}-{high}"
        if self.range is not None:
            table["range"] = list(self.range)
        for key, text in (("date", self.date), ("pattern", self.pattern), ("check", self.check)):
            if text is not None:
                table[key] = text
        if self.sum:
            table["sum"] = list(self.sum)
        return table

    @property
    def has_field_rules(self) -> bool:
        """Whether any rule looks at the value alone (every one but `sum`)."""
        return any(v is not None for v in (self.digits, self.range, self.date)) or any(
            v is not None for v in (self.pattern, self.check)
        )


# --- reading the rules -----------------------------------------------------------------------


def parse_rules(table: Mapping[str, object], where: str) -> FieldRules:
    """The rules in a field's table (keys outside RULE_KEYS are the template's, left alone).
    `where` names the field in errors: UsageError "<where>: <what is wrong>", one line."""
    return FieldRules(
        digits=_digits(table["digits"], where) if "digits" in table else None,
        range=_range(table["range"], where) if "range" in table else None,
        date=_date(table["date"], where) if "date" in table else None,
        pattern=_pattern(table["pattern"], where) if "pattern" in table else None,
        check=_check(table["check"], where) if "check" in table else None,
        sum=_sum(table["sum"], where) if "sum" in table else (),
    )


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _digits(value: object, where: str) -> tuple[int, int]:
    wrong = f'{where}: digits must be a number of digits (8) or a span of them ("6-8")'
    if _is_int(value):
        low = high = value
    elif isinstance(value, str) and (found := re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", value)):
        low = int(found[1])
        high = int(found[2]) if found[2] is not None else low
    else:
        raise UsageError(wrong)
    if low < 0 or high < 1 or low > high:
        raise UsageError(f"{wrong}, the fewest first, at least 1 digit")
    return low, high


def _range(value: object, where: str) -> tuple[int, int]:
    if not isinstance(value, list) or len(value) != 2 or not all(_is_int(v) for v in value):
        raise UsageError(f"{where}: range must be [low, high] of integers")
    low, high = value
    if low > high:
        raise UsageError(f"{where}: range must be [low, high] with low <= high, not {value}")
    return low, high


def _date(value: object, where: str) -> str:
    layout = value.strip().upper() if isinstance(value, str) else ""
    tokens = _DATE_TOKEN.findall(layout)
    if "".join(tokens) != layout or sorted(t[0] for t in tokens) != ["D", "M", "Y"]:
        raise UsageError(
            f'{where}: date must be a layout of DD, MM and YYYY or YY, like "DDMMYYYY" '
            f'or "YYMMDD", not {value!r}'
        )
    return layout


def _pattern(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise UsageError(f"{where}: pattern must be a regular expression in quotes")
    try:
        re.compile(value)
    except re.error as error:
        raise UsageError(
            f"{where}: pattern {value!r} is no regular expression ({one_line(error)})"
        ) from None
    return value


def _check(value: object, where: str) -> str:
    name = value.strip().lower() if isinstance(value, str) else ""
    if not name or _validator(name) is None:
        raise UsageError(
            f"{where}: check {value!r} is no check of python-stdnum (e.g. luhn, verhoeff, "
            'damm, "iso7064 mod 11,10", isbn, iban, ean, imei, us_rtn, nl.bsn)'
        )
    return name


def _sum(value: object, where: str) -> tuple[str, ...]:
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(v, str) and v.strip() for v in value)
    ):
        raise UsageError(f'{where}: sum must be a list of field names, like ["a", "b"]')
    names = tuple(v.strip() for v in value)
    twice = [name for name in names if names.count(name) > 1]
    if twice:
        raise UsageError(f"{where}: sum names {twice[0]!r} twice")
    return names


@cache
def _validator(name: str) -> Callable[[str], object] | None:
    """stdnum's `is_valid` of the algorithm named `name`, or None when there is none."""
    iso7064 = re.fullmatch(r"iso\s*7064\s+mod\s*(\d+)\s*,\s*(\d+)", name)
    if iso7064:
        name = f"iso7064.mod_{iso7064[1]}_{iso7064[2]}"
    name = CHECK_ALIASES.get(name, name)
    if not re.fullmatch(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*", name):
        return None  # no module name: never handed to importlib
    # Country modules whose code is a Python keyword are stored with a "_": in_, is_.
    path = ".".join(f"{part}_" if keyword.iskeyword(part) else part for part in name.split("."))
    try:
        module = importlib.import_module(f"stdnum.{path}")
    except ImportError:
        return None
    is_valid = getattr(module, "is_valid", None)
    if not callable(is_valid):
        return None
    try:
        inspect.signature(is_valid).bind("0")  # takes the number alone
    except (TypeError, ValueError):
        return None
    return is_valid


# --- checking a value ------------------------------------------------------------------------


def _number(value: str) -> int | None:
    """The value as a whole number; None when it is not all ASCII digits."""
    return int(value) if value.isascii() and value.isdigit() else None


def field_failures(rules: FieldRules, value: str) -> list[str]:
    """The rules but `sum` that `value` breaks, each as a sentence naming the rule."""
    return list(_broken(rules, value).values())


def _broken(rules: FieldRules, value: str) -> dict[str, str]:
    """The rules but `sum` that `value` breaks: by key, how."""
    said = rules._described()
    broken: dict[str, str] = {}
    if not _length_holds(rules, value):
        broken["digits"] = f"{said['digits']}: {_count(value)} read"
    if not value:  # an optional field left blank
        return broken
    number = _number(value)
    if rules.range is not None and (
        number is None or not rules.range[0] <= number <= rules.range[1]
    ):
        broken["range"] = f"{said['range']}: {value} is outside"
    if rules.date is not None and not _is_date(value, rules.date):
        broken["date"] = f"{said['date']}: {value} is no date"
    if rules.pattern is not None and re.fullmatch(rules.pattern, value) is None:
        broken["pattern"] = f"{said['pattern']}: {value} does not match"
    if rules.check is not None and not _passes_check(rules.check, value):
        wrong = (
            "has a wrong check digit"
            if rules.check in CHECK_DIGIT_ONLY
            else f"is no valid {rules.check} (a wrong check digit or form)"
        )
        broken["check"] = f"{said['check']}: {value} {wrong}"
    return broken


def _length_holds(rules: FieldRules, value: str) -> bool:
    return rules.digits is None or rules.digits[0] <= len(value) <= rules.digits[1]


def _count(value: str) -> str:
    return "empty" if not value else f"{len(value)} digit{'s' if len(value) != 1 else ''}"


def _is_date(value: str, layout: str) -> bool:
    if len(value) != len(layout) or _number(value) is None:
        return False
    parts: dict[str, int] = {}
    start = 0
    for token in _DATE_TOKEN.findall(layout):
        parts[token] = int(value[start : start + len(token)])
        start += len(token)
    # Two-digit years: a date valid in either century is a date (29 Feb 00 is, of 2000).
    years = [parts["YYYY"]] if "YYYY" in parts else [1900 + parts["YY"], 2000 + parts["YY"]]
    for year in years:
        try:
            datetime.date(year, parts["MM"], parts["DD"])
        except ValueError:
            continue
        return True
    return False


def _passes_check(name: str, value: str) -> bool:
    is_valid = _validator(name)
    if is_valid is None:  # parse_rules refused it; FieldRules made by hand may not have
        raise ValueError(f"check {name!r} is no check of python-stdnum")
    try:
        return bool(is_valid(value))
    except (ValueError, KeyError, IndexError, TypeError):
        # stdnum's is_valid answers False for what it cannot read; should a module raise
        # on digits it did not expect, the value is no valid number of it either.
        return False


def _sum_failure(rules: FieldRules, total: str, values: Mapping[str, str]) -> str:
    """How `total` breaks its field's sum of `values` (the page's values by name); "" if not."""
    said = rules._described()["sum"]
    missing = [part for part in rules.sum if part not in values]
    if missing:
        return f"{said}: {missing[0]!r} was not read on this page, so the sum is unchecked"
    parts = [values[part] for part in rules.sum]
    numbers = [_number(part) if part else 0 for part in parts]
    if any(n is None for n in numbers):
        return f"{said}: a part is not a number"
    expected = sum(n for n in numbers if n is not None)
    if not total:
        return "" if not any(parts) else f"{said}: empty, but the parts add up to {expected}"
    if _number(total) != expected:
        added = " + ".join(part or "0" for part in parts)
        return f"{said}: {total} is not {added} = {expected}"
    return ""


# --- a page --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleInput:
    """One named field of one page as read."""

    name: str
    value: str  # the digits read; "" empty
    probabilities: np.ndarray  # (len(value), 10) softmax rows, row i for value[i]
    review_below: float  # digits below this confidence are uncertain
    # The field's confidence as read, kept while no rule changes it (an empty box holding
    # ink is 0, digitize.decision); None: the product of its digits' confidences.
    confidence: float | None = None


@dataclass(frozen=True)
class RuleOutcome:
    """A field after its rules: its value (repaired or as read) and what the rules say."""

    value: str
    digit_confidences: tuple[float, ...]
    # Probability that the field is right: the product of its digits' confidences, but a
    # repair's posterior counts once for all the digits it settled together (they are right
    # or wrong together), not once per digit. Unrepaired: RuleInput.confidence when given.
    confidence: float
    failures: tuple[str, ...]  # the rules it still breaks, in words
    repair: str  # "" or how a rule repaired (or confirmed) its uncertain digits
    uncertain: bool  # a digit is still below review_below after any repair


@dataclass
class _Reading:
    """A field while its page's rules work on it."""

    source: RuleInput
    value: str
    confidences: list[float]
    settled: set[int] = field(default_factory=set)  # positions a repair settled
    posteriors: list[float] = field(default_factory=list)  # one per repair that settled some
    repairs: list[str] = field(default_factory=list)
    note: str = ""  # why its field rules were not repaired: several readings satisfy them


@dataclass(frozen=True)
class _Varied:
    name: str  # the field
    position: int  # 0-based digit
    classes: tuple[int, ...]  # the readings tried, the one read first


@dataclass(frozen=True)
class _Found:
    satisfying: list[tuple[tuple[int, ...], float]]  # combinations (one class each) and prior
    left_out: float  # probability mass of the varied digits' readings not tried


def check_page(
    fields: Sequence[RuleInput], rules: Mapping[str, FieldRules]
) -> dict[str, RuleOutcome]:
    """Every field of `fields` that has rules or is a part of a sum, after its rules: the field
    rules first (so a sum adds repaired parts), then the sums in the order of their totals."""
    readings = {f.name: _reading(f) for f in fields}
    if len(readings) != len(fields):
        raise ValueError("two fields of one page have the same name")
    ruled = {name: rules.get(name, FieldRules()) for name in readings}
    sum_notes: dict[str, str] = {}
    for name, reading in readings.items():
        if ruled[name].has_field_rules:
            _repair_field(reading, ruled[name])
    for name in readings:
        if ruled[name].sum:
            sum_notes[name] = _repair_sum(name, readings, ruled)
    parts = {part for name in readings for part in ruled[name].sum}
    wanted = [name for name in readings if ruled[name] != FieldRules() or name in parts]
    values = {name: r.value for name, r in readings.items()}
    return {
        name: _outcome(readings[name], ruled[name], values, sum_notes.get(name, ""))
        for name in wanted
    }


def _reading(source: RuleInput) -> _Reading:
    if source.probabilities.shape != (len(source.value), 10):
        raise ValueError(
            f"{source.name!r}: {source.probabilities.shape} probabilities for {len(source.value)} digits"
        )
    if source.value and _number(source.value) is None:
        raise ValueError(f"{source.name!r}: {source.value!r} is not digits")
    # A digit's confidence is its reading's probability, as digitize.decision has it.
    confidences = [float(row[int(d)]) for row, d in zip(source.probabilities, source.value)]
    return _Reading(source, source.value, confidences)


def _repair_field(reading: _Reading, rules: FieldRules) -> None:
    """Take the one other reading of its uncertain digits that satisfies its field rules."""
    broken = _broken(rules, reading.value)
    if not broken or "digits" in broken:
        return  # it holds, or has the wrong length: no change of digits can fix that
    name = reading.source.name
    varied = _varied([reading])
    found = _search(varied, {name: reading}, lambda values: not field_failures(rules, values[name]))
    if len(found.satisfying) == 1:
        said = rules._described()
        _take(varied, found, {name: reading}, "by " + ", ".join(said[key] for key in broken))
    elif found.satisfying:
        reading.note = f"{len(found.satisfying)} readings of its uncertain digits would satisfy it"


def _repair_sum(
    total: str, readings: Mapping[str, _Reading], ruled: Mapping[str, FieldRules]
) -> str:
    """Take the one other reading of the uncertain digits of `total` and its parts that adds
    up and keeps every one of them within its own rules; "" or why none was taken."""
    rules = ruled[total]
    values = {name: r.value for name, r in readings.items()}
    if not _sum_failure(rules, values[total], values) or any(p not in readings for p in rules.sum):
        return ""
    involved = {name: readings[name] for name in dict.fromkeys((total, *rules.sum))}

    def satisfied(tried: Mapping[str, str]) -> bool:
        return not _sum_failure(rules, tried[total], tried) and not any(
            field_failures(ruled[name], tried[name]) for name in involved
        )

    varied = _varied(list(involved.values()))
    found = _search(varied, involved, satisfied)
    if len(found.satisfying) == 1:
        _take(varied, found, involved, f"by the sum of {total!r} ({rules._described()['sum']})")
    elif found.satisfying:
        return f"{len(found.satisfying)} readings of the uncertain digits would satisfy it"
    return ""


def _varied(readings: Sequence[_Reading]) -> list[_Varied]:
    """The uncertain digits to try other readings of, the least confident first, with every
    reading of at least READING_FLOOR: at most MAX_VARIED, MAX_COMBINATIONS combinations."""
    candidates = []
    for reading in readings:
        rows = reading.source.probabilities
        for position, confidence in enumerate(reading.confidences):
            if confidence >= reading.source.review_below or position in reading.settled:
                continue
            read = int(reading.value[position])
            others = [int(c) for c in np.argsort(-rows[position]) if c != read]
            classes = (read, *[c for c in others if rows[position, c] >= READING_FLOOR])
            if len(classes) > 1:  # a digit with no other likely reading has nothing to try
                candidates.append((confidence, _Varied(reading.source.name, position, classes)))
    chosen: list[_Varied] = []
    combinations = 1
    for _, varied in sorted(candidates, key=lambda pair: pair[0]):
        if len(chosen) == MAX_VARIED or combinations * len(varied.classes) > MAX_COMBINATIONS:
            break
        chosen.append(varied)
        combinations *= len(varied.classes)
    return chosen


def _search(
    varied: Sequence[_Varied],
    readings: Mapping[str, _Reading],
    satisfied: Callable[[Mapping[str, str]], bool],
) -> _Found:
    """The combinations of readings of the `varied` digits, other than the one read, that
    satisfy the rule, each with its prior: the product of its digits' probabilities."""
    rows = [readings[v.name].source.probabilities[v.position] for v in varied]
    satisfying = []
    for combination in itertools.product(*(v.classes for v in varied)):
        if all(c == v.classes[0] for c, v in zip(combination, varied)):
            continue  # the reading as read, which breaks the rule
        values = {name: list(r.value) for name, r in readings.items()}
        for v, c in zip(varied, combination):
            values[v.name][v.position] = str(c)
        if satisfied({name: "".join(digits) for name, digits in values.items()}):
            prior = math.prod(float(row[c]) for row, c in zip(rows, combination))
            satisfying.append((combination, prior))
    tried = math.prod(float(sum(row[c] for c in v.classes)) for row, v in zip(rows, varied))
    return _Found(satisfying, max(0.0, 1.0 - tried))


def _take(
    varied: Sequence[_Varied], found: _Found, readings: Mapping[str, _Reading], rule: str
) -> None:
    """Put the one satisfying combination into the readings, settling the varied digits.

    Their confidence is the combination's posterior, the rule holding on paper but for
    RULE_BROKEN_ON_PAPER of the time:
        prior(taken) (1 - e) / (prior(taken) (1 - e) + mass not tried + e mass tried breaking it)
    where the readings below READING_FLOOR, never tried, are counted as if they all satisfied
    the rule too. So a rule that could only be checked among few readings does not make the
    repair sure, and neither does a rule that took a runner-up far less likely than the reading
    (the writer may have added wrong: the value read is then what is on paper)."""
    ((combination, prior),) = found.satisfying
    broken = RULE_BROKEN_ON_PAPER * max(0.0, 1.0 - found.left_out - prior)
    kept = prior * (1 - RULE_BROKEN_ON_PAPER)
    posterior = kept / (kept + found.left_out + broken)
    said: dict[str, list[str]] = {}
    changed: set[str] = set()
    order = list(readings)  # the page's order of fields, then digits left to right
    chosen = sorted(zip(varied, combination), key=lambda p: (order.index(p[0].name), p[0].position))
    for v, taken in chosen:
        reading = readings[v.name]
        row = reading.source.probabilities[v.position]
        read = v.classes[0]
        change = f"taken as {taken} ({_percent(row[taken])})" if taken != read else "kept"
        if taken != read:
            changed.add(v.name)
        said.setdefault(v.name, []).append(
            f"digit {v.position + 1} read {read} ({_percent(row[read])}), {change}"
        )
        digits = list(reading.value)
        digits[v.position] = str(taken)
        reading.value = "".join(digits)
        reading.confidences[v.position] = posterior
        reading.settled.add(v.position)
    for name, digits in said.items():
        verb = "repaired" if name in changed else "confirmed"
        readings[name].posteriors.append(posterior)
        readings[name].repairs.append(
            f"{verb} {rule}: {', '.join(digits)}; {_percent(posterior, 1)} sure given the rule"
        )


def _percent(p: float, decimals: int = 0) -> str:
    return f"{float(p):.{decimals}%}"


def _outcome(
    reading: _Reading, rules: FieldRules, values: Mapping[str, str], sum_note: str
) -> RuleOutcome:
    failures = field_failures(rules, reading.value)
    if failures and reading.note:
        failures[-1] += f" ({reading.note})"
    if rules.sum:
        failure = _sum_failure(rules, reading.value, values)
        if failure:
            failures.append(f"{failure} ({sum_note})" if sum_note else failure)
    free = [c for k, c in enumerate(reading.confidences) if k not in reading.settled]
    if reading.posteriors:
        confidence = math.prod(reading.posteriors) * math.prod(free)
    elif reading.source.confidence is not None:
        confidence = reading.source.confidence
    else:
        confidence = math.prod(free)
    return RuleOutcome(
        value=reading.value,
        digit_confidences=tuple(reading.confidences),
        confidence=float(confidence),
        failures=tuple(failures),
        repair="; ".join(reading.repairs),
        uncertain=any(c < reading.source.review_below for c in reading.confidences),
    )
