"""Form templates: a form's fields written down once, by name, with rules for their values.

A template is a TOML file a person can read and edit: one `[[field]]` table per field with
its `name` (what the wide layout's column and the `label` column say), its `kind`, its `box`
(fractions of the page, origin top-left, as the entries CSV's x0,y0,x1,y1), the number of
`cells` of a comb, and any rules (`digits`, `range`, `date`, `pattern`, `check`, `sum`:
digitize.rules). `digitize template make` writes one from a scanned page; `digitize scan
--template` names each page's fields by it (digitize.registration finds where they are).

    [form]
    source = "forms/invoice.pdf, page 1"
    aspect = 1.4142          # the page's height / width

    [[field]]
    name = "Invoice no."
    kind = "box"
    box = [0.2422, 0.1552, 0.4428, 0.1934]
    digits = "5-6"
"""

from __future__ import annotations

import json
import math
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from digitize.errors import UsageError
from digitize.messages import one_line
from digitize.output import atomic_write
from digitize.records import Box
from digitize.rules import RULE_KEYS, FieldRules, parse_rules

KINDS = ("box", "comb", "cell", "label", "checkbox")
FIELD_KEYS = frozenset({"name", "kind", "box", "cells"})
# The rule slots `template make` writes, commented out, for a person to fill in.
RULE_EXAMPLES = (
    'digits = "1-10"',
    "range = [0, 99999]",
    'date = "DDMMYYYY"',
    'pattern = "[0-9]+"',
    'check = "luhn"',
    'sum = ["a part", "another part"]',
)


@dataclass(frozen=True)
class TemplateField:
    name: str  # unique within its template
    kind: str  # one of KINDS
    box: Box  # fractions of the page, origin top-left
    cells: int = 1  # a comb's cells
    rules: FieldRules = field(default_factory=FieldRules)


@dataclass(frozen=True)
class Template:
    fields: tuple[TemplateField, ...]
    aspect: float  # page height / width, to measure boxes in one unit when registering
    source: str = ""  # the page it was made from, for people

    def rules(self) -> dict[str, FieldRules]:
        return {f.name: f.rules for f in self.fields}


# --- reading --------------------------------------------------------------------------------


def load_template(path: Path) -> Template:
    """A template file, checked whole: UsageError, one line naming the file and the field,
    for anything that cannot be used."""
    where = str(path)
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise UsageError(f"--template {where}: cannot read ({error.strerror or error})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise UsageError(f"--template {where}: not a TOML file ({one_line(error)})") from None
    form = data.get("form", {})
    if not isinstance(form, dict):
        raise UsageError(f"--template {where}: [form] must be a table")
    aspect = form.get("aspect", math.sqrt(2))
    if not isinstance(aspect, (int, float)) or not 0.1 <= aspect <= 10:
        raise UsageError(f"--template {where}: [form] aspect must be a page's height / width")
    tables = data.get("field", [])
    if not isinstance(tables, list) or not tables:
        raise UsageError(f"--template {where}: no [[field]] tables")
    fields = tuple(_field(table, f"{where}: field {k}") for k, table in enumerate(tables, 1))
    _check_names(fields, where)
    return Template(fields=fields, aspect=float(aspect), source=str(form.get("source", "")))


def _field(table: object, where: str) -> TemplateField:
    if not isinstance(table, dict):
        raise UsageError(f"--template {where}: must be a table")
    name = table.get("name")
    if not isinstance(name, str) or not name.strip():
        raise UsageError(f"--template {where}: needs a name")
    where = f"{where} ({name!r})"
    unknown = sorted(set(table) - FIELD_KEYS - RULE_KEYS)
    if unknown:
        known = ", ".join(sorted(FIELD_KEYS | RULE_KEYS))
        raise UsageError(f"--template {where}: unknown key {unknown[0]!r} (known: {known})")
    kind = table.get("kind", "box")
    if kind not in KINDS:
        raise UsageError(f"--template {where}: kind must be one of {', '.join(KINDS)}")
    rules = {k: v for k, v in table.items() if k in RULE_KEYS}
    if kind == "checkbox" and rules:
        raise UsageError(
            f"--template {where}: a checkbox holds no digits: rules are for number fields"
        )
    cells = table.get("cells", 1)
    if not isinstance(cells, int) or isinstance(cells, bool) or not 1 <= cells <= 100:
        raise UsageError(f"--template {where}: cells must be a whole number from 1 to 100")
    return TemplateField(
        name=name.strip(),
        kind=kind,
        box=_box(table.get("box"), where),
        cells=cells,
        rules=parse_rules(rules, where),
    )


def _box(value: object, where: str) -> Box:
    if (
        not isinstance(value, list)
        or len(value) != 4
        or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
    ):
        raise UsageError(f"--template {where}: box must be [x0, y0, x1, y1], fractions of the page")
    x0, y0, x1, y1 = (float(v) for v in value)
    if not (0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1):
        raise UsageError(
            f"--template {where}: box must be [x0, y0, x1, y1] with 0 <= x0 < x1 <= 1 "
            "and 0 <= y0 < y1 <= 1"
        )
    return (x0, y0, x1, y1)


def _check_names(fields: Sequence[TemplateField], where: str) -> None:
    kinds: dict[str, str] = {}
    for found in fields:
        if found.name in kinds:
            raise UsageError(f"--template {where}: two fields are named {found.name!r}")
        kinds[found.name] = found.kind
    for found in fields:
        for part in found.rules.sum:
            if part not in kinds:
                raise UsageError(
                    f"--template {where}: field {found.name!r}: sum names {part!r}, "
                    "which is no field of the template"
                )
            if kinds[part] == "checkbox":
                raise UsageError(
                    f"--template {where}: field {found.name!r}: sum names {part!r}, "
                    "a checkbox, which holds no number"
                )


# --- writing --------------------------------------------------------------------------------


def template_text(template: Template) -> str:
    """The TOML a person edits: every field, and the rule slots to fill in, commented out."""
    lines = [
        "# A digitize form template: `digitize scan FILES --template THIS.toml` names each",
        "# page's fields by it. Edit names freely; uncomment a rule to check a field's value",
        "# (README, 'Form templates'). Boxes are fractions of the page: x0, y0, x1, y1.",
        "",
        "[form]",
        f"source = {_string(template.source)}",
        f"aspect = {template.aspect:.4f}",
    ]
    for found in template.fields:
        lines += [
            "",
            "[[field]]",
            f"name = {_string(found.name)}",
            f"kind = {_string(found.kind)}",
            "box = [{}]".format(", ".join(f"{v:.4f}" for v in found.box)),
        ]
        if found.kind == "comb":
            lines.append(f"cells = {found.cells}")
        written = rule_lines(found.rules)
        lines += written.values()
        if found.kind != "checkbox":
            lines += [f"# {e}" for e in RULE_EXAMPLES if e.split(" ")[0] not in written]
    return "\n".join(lines) + "\n"


def rule_lines(rules: FieldRules) -> dict[str, str]:
    """Each rule that is set, as the TOML line that reads back as it, by key."""
    return {key: f"{key} = {_toml(value)}" for key, value in rules.as_table().items()}


def _toml(value: int | str | list) -> str:
    if isinstance(value, list):
        return "[{}]".format(", ".join(_toml(v) for v in value))
    return _string(value) if isinstance(value, str) else str(value)


def write_template(template: Template, path: Path) -> None:
    with atomic_write(path) as stream:
        stream.write(template_text(template))


def _string(text: str) -> str:
    """A TOML basic string: JSON's escapes (quote, backslash, control characters) are TOML's
    too; DEL, which TOML also wants escaped and JSON leaves, is escaped by hand."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007F")
