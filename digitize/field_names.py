"""Names people read for fields: a field's label, else its id, never two alike.

A template's field names and the wide layout's columns are both made so: a printed label
(whitespace made single spaces, as a label may span lines), else the fallback (the field's
id); a name already taken gets " (2)", " (3)"...
"""

from __future__ import annotations

from collections.abc import Iterable


def unique_names(
    names: Iterable[str], fallbacks: Iterable[str], taken: Iterable[str] = ()
) -> list[str]:
    """Each name, else its fallback when empty, numbered where it was met before (or is in
    `taken`: names already in use beside them)."""
    seen = set(taken)
    result: list[str] = []
    for name, fallback in zip(names, fallbacks):
        base = " ".join(name.split()) or fallback
        candidate, number = base, 1
        while candidate in seen:
            number += 1
            candidate = f"{base} ({number})"
        seen.add(candidate)
        result.append(candidate)
    return result
