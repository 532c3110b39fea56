"""Labelled digits from reviewed fields, for `digitize retrain --extra-digits DIR`.

A field a person confirmed (accepted as read, or corrected) is re-read from its source page;
when it still splits into as many digits as the confirmed value has, digit i is labelled with
character i of that value. Each digit is written once, as `<dir>/<label>/<hash>.png` named by
a hash of its pixels, so exporting again writes only what is new.

The value comes from a CSV anyone can edit: it is checked as `--apply` checks a correction
(`store.decision_for`), and a field whose value is not digits is refused, named in the
summary, so a label never becomes a path (`/7`, `..`, `x`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from digitize.output import write_png
from digitize.records import Entry
from digitize.review.source import SourcePages
from digitize.review.store import decision_for


@dataclass
class ExportResult:
    directory: Path
    written: int = 0  # new digit files
    duplicates: int = 0  # digits already in the directory
    fields: int = 0  # fields that gave digits
    skipped: int = 0  # fields whose page is gone or no longer segments into that many digits
    refused: list[str] = field(default_factory=list)  # a line for each field not digits

    def describe(self) -> str:
        text = f"Wrote {self.written} labelled digits to {self.directory}"
        details = []
        if self.duplicates:
            details.append(f"{self.duplicates} already there")
        if self.skipped:
            details.append(
                f"{self.skipped} fields skipped: source page missing or "
                "digits segmented differently"
            )
        return "\n".join([text + (f" ({'; '.join(details)})" if details else ""), *self.refused])


def default_digits_dir(csv_path: Path) -> Path:
    """`<csv stem>-digits/` beside the CSV."""
    csv_path = Path(csv_path)
    return csv_path.with_name(f"{csv_path.stem}-digits")


def export_digits(entries: Iterable[Entry], pages: SourcePages, directory: Path) -> ExportResult:
    """Write the digits of the entries whose decision labels digits into `directory`."""
    result = ExportResult(directory=Path(directory))
    for entry in entries:
        if entry.decision is None or not entry.decision.labels_digits:
            continue
        label = entry.decision.value
        try:
            decision_for(entry.result, label)
        except ValueError as error:
            where = f"{entry.result.file} page {entry.result.page} {entry.result.field}"
            result.refused.append(f"Not exported: {where}: reviewed_value {label!r}: {error}")
            continue
        found = pages.field(entry.result)
        if found is None or len(found.digit_images) != len(label):
            result.skipped += 1
            continue
        result.fields += 1
        for character, image in zip(label, found.digit_images):
            if write_digit(result.directory / character, image):
                result.written += 1
            else:
                result.duplicates += 1
    return result


def write_digit(folder: Path, image: np.ndarray) -> bool:
    """Save a 28x28 digit named by its pixels' hash; False when it is there already."""
    pixels = np.ascontiguousarray(image, dtype=np.uint8)
    path = folder / f"{hashlib.sha256(pixels.tobytes()).hexdigest()[:24]}.png"
    if path.exists():
        return False
    write_png(path, pixels)  # atomic: an interrupted export leaves no half PNG for retrain
    return True
