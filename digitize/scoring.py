"""Compare an entries CSV (what `digitize scan` wrote) with a ground-truth CSV.

Fields are matched per (file, page) by their boxes: greedy, best overlap first, one to one,
intersection over union at least 0.5; a row of ink outside every box found (kind `unboxed`,
its box the ink's own) by lying at least 80 % inside the truth box, after the boxes. A file is matched by its path as written, or else by its
file name, so an output made from another directory still lines up with the truth.

Digit accuracy is edit-distance based: a truth field of n digits read as `s` earns
max(0, n - levenshtein(s, truth)) correct digits, and the figure is the sum of those over the
sum of n. A missed field earns nothing; an empty truth field has no digits to count (whether
its box was read as empty shows in the exact-match figure).
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from digitize.errors import CsvError
from digitize.output import read_table

TRUTH_COLUMNS = ["file", "page", "field", "value", "x0", "y0", "x1", "y1"]
OUTPUT_COLUMNS = [*TRUTH_COLUMNS, "confidence", "needs_review"]
TEXT_COLUMNS = ["file", "field", "value"]
BOX_COLUMNS = ["x0", "y0", "x1", "y1"]
MIN_IOU = 0.5
# An unboxed row's box is its ink's: it matches the truth box holding this share of it (ink
# written over a missed box's border pokes out of it a little).
INK_INSIDE = 0.8
MISTAKE_COLUMNS = [
    "file",
    "page",
    "field",
    "truth_value",
    "output_value",
    "confidence",
    "needs_review",
    "problem",
]


@dataclass(frozen=True)
class Score:
    files: int
    pages: int
    fields: int  # truth fields
    matched: int  # truth fields with an output row matched to them
    exact: int  # matched fields read exactly right
    truth_digits: int
    correct_digits: int  # edit-distance credit, see the module docstring
    wrong: int  # matched fields read wrong
    wrong_flagged: int  # ... of which needs_review is true
    right_flagged: int  # right fields flagged anyway (false alarms)
    extra_rows: int  # output rows matched to no truth field
    mistakes: pd.DataFrame = field(compare=False, repr=False)  # wrong and missed fields

    @property
    def missed(self) -> int:
        return self.fields - self.matched

    @property
    def field_recall(self) -> float:
        return _share(self.matched, self.fields)

    @property
    def field_exact_match(self) -> float:
        return _share(self.exact, self.fields)

    @property
    def digit_accuracy(self) -> float:
        return _share(self.correct_digits, self.truth_digits)

    @property
    def flagged_share_of_wrong(self) -> float:
        return _share(self.wrong_flagged, self.wrong)

    @property
    def flagged_share_of_right(self) -> float:
        return self.right_flagged / self.exact if self.exact else 0.0

    def summary(self) -> str:
        return "\n".join(
            [
                f"fields:       {self.fields} in {self.pages} pages of {self.files} files",
                f"found:        {_percent(self.field_recall)} ({self.matched} matched by box, "
                f"{self.missed} missed)",
                f"exact:        {_percent(self.field_exact_match)} of fields read exactly right "
                f"({self.exact})",
                f"digits:       {_percent(self.digit_accuracy)} of {self.truth_digits} digits "
                f"(edit distance)",
                f"wrong:        {self.wrong} read wrong, {_percent(self.flagged_share_of_wrong)} "
                f"of them flagged for review ({self.wrong_flagged})",
                f"false alarms: {_percent(self.flagged_share_of_right)} of right fields flagged "
                f"({self.right_flagged})",
                f"extra rows:   {self.extra_rows} output rows match no truth field",
            ]
        )


def read_csv_for_scoring(path: Path | str, required: Iterable[str] = TRUTH_COLUMNS) -> pd.DataFrame:
    """A truth or entries CSV with `value` kept as text ("" when empty) and leading zeros
    intact; CsvError (one line) if it cannot be read or lacks a required column."""
    return _clean(read_table(Path(path)), str(path), list(required))


def score(output: pd.DataFrame, truth: pd.DataFrame) -> Score:
    """How well `output` (entries) reproduces `truth`; see the module docstring."""
    output = _clean(output, "output", OUTPUT_COLUMNS)
    truth = _clean(truth, "truth", TRUTH_COLUMNS)
    output = output.assign(truth_file=_truth_files(output["file"], truth["file"]))
    pairs = []  # (truth row label, output row label or None)
    for (file, page), truth_group in truth.groupby(["file", "page"], sort=False):
        candidates = output[(output["truth_file"] == file) & (output["page"] == page)]
        matches = match_boxes(
            truth_group[BOX_COLUMNS].to_numpy(),
            candidates[BOX_COLUMNS].to_numpy(),
            ink_boxes=unboxed_rows(candidates),
        )
        for t, label in enumerate(truth_group.index):
            o = matches.get(t)
            pairs.append((label, None if o is None else candidates.index[o]))
    return _tally(truth, output, pairs)


def match_boxes(
    truth: np.ndarray,
    output: np.ndarray,
    min_iou: float = MIN_IOU,
    ink_boxes: np.ndarray | None = None,
) -> dict[int, int]:
    """Truth index -> output index: greedy on IoU, best first, one to one, IoU >= min_iou.
    Output rows marked in `ink_boxes` (bools) bound ink, not a printed box (an `unboxed`
    field, `digitize.unboxed_ink`): each matches the truth box holding at least
    INK_INSIDE of it, ranked as a box at the least IoU: a row found by its box goes first."""
    if len(truth) == 0 or len(output) == 0:
        return {}
    overlaps = iou(truth, output)
    if ink_boxes is not None and ink_boxes.any():
        inside = share_inside(output[ink_boxes], truth).T
        overlaps[:, ink_boxes] = np.where(inside >= INK_INSIDE, min_iou, 0.0)
    candidates = np.argwhere(overlaps >= min_iou)
    # Stable sort on -IoU: ties keep reading order, so the result does not depend on chance.
    order = np.argsort(-overlaps[candidates[:, 0], candidates[:, 1]], kind="stable")
    matches: dict[int, int] = {}
    taken: set[int] = set()
    for t, o in candidates[order]:
        if t not in matches and o not in taken:
            matches[int(t)] = int(o)
            taken.add(int(o))
    return matches


def unboxed_rows(output: pd.DataFrame) -> np.ndarray:
    """Which output rows are `unboxed` fields (bools; none when the output has no kind)."""
    if "kind" not in output:
        return np.zeros(len(output), bool)
    return (output["kind"].astype(str) == "unboxed").to_numpy()


def share_inside(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The share of every box in `a` that lies inside every box in `b` (x0, y0, x1, y1)."""
    a, b = a[:, None, :].astype(float), b[None, :, :].astype(float)
    width = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    height = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    inter = width * height
    area_a = np.broadcast_to((a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1]), inter.shape)
    return np.divide(inter, area_a, out=np.zeros_like(inter), where=area_a > 0)


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union of every box in `a` with every box in `b` (x0, y0, x1, y1)."""
    a, b = a[:, None, :].astype(float), b[None, :, :].astype(float)
    width = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    height = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    inter = width * height
    area_a = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
    area_b = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    union = area_a + area_b - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def levenshtein(a: str, b: str) -> int:
    """Edits (insert, delete, substitute one character) that turn `a` into `b`."""
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i]
        for j, char_b in enumerate(b, start=1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b))
            )
        previous = current
    return previous[-1]


def _tally(truth: pd.DataFrame, output: pd.DataFrame, pairs: list) -> Score:
    exact = wrong = wrong_flagged = right_flagged = correct_digits = 0
    mistakes = []
    for truth_label, output_label in pairs:
        expected = str(truth.at[truth_label, "value"])
        if output_label is None:
            mistakes.append(_mistake(truth.loc[truth_label], None, "missed"))
            continue
        row = output.loc[output_label]
        correct_digits += max(0, len(expected) - levenshtein(row["value"], expected))
        if row["value"] == expected:
            exact += 1
            right_flagged += bool(row["needs_review"])
        else:
            wrong += 1
            wrong_flagged += bool(row["needs_review"])
            mistakes.append(_mistake(truth.loc[truth_label], row, "wrong"))
    matched_outputs = {o for _, o in pairs if o is not None}
    return Score(
        files=truth["file"].nunique(),
        pages=len(truth[["file", "page"]].drop_duplicates()),
        fields=len(truth),
        matched=len(matched_outputs),
        exact=exact,
        truth_digits=int(truth["value"].str.len().sum()),
        correct_digits=correct_digits,
        wrong=wrong,
        wrong_flagged=wrong_flagged,
        right_flagged=right_flagged,
        extra_rows=len(output) - len(matched_outputs),
        mistakes=pd.DataFrame(mistakes, columns=MISTAKE_COLUMNS),
    )


def _mistake(truth_row: pd.Series, output_row: pd.Series | None, problem: str) -> dict:
    found = (
        {
            "output_value": "",
            "confidence": np.nan,
            "needs_review": pd.NA,
        }
        if output_row is None
        else {
            "output_value": output_row["value"],
            "confidence": output_row["confidence"],
            "needs_review": bool(output_row["needs_review"]),
        }
    )
    return {
        "file": truth_row["file"],
        "page": truth_row["page"],
        "field": truth_row["field"],
        "truth_value": truth_row["value"],
        **found,
        "problem": problem,
    }


def _truth_files(output_files: pd.Series, truth_files: pd.Series) -> pd.Series:
    """The truth file each output row belongs to: same path, else the same file name when that
    name is unique in the truth; None when neither."""
    known = set(truth_files)
    by_name: dict[str, list[str]] = {}
    for path in known:
        by_name.setdefault(posixpath.basename(path), []).append(path)

    def find(path: str) -> str | None:
        if path in known:
            return path
        same_name = by_name.get(posixpath.basename(path), [])
        return same_name[0] if len(same_name) == 1 else None

    return output_files.map(find)


def _clean(frame: pd.DataFrame, where: str, required: list[str]) -> pd.DataFrame:
    """Check the columns and give them one type each: text, int page, float boxes, bool flag."""
    missing = [column for column in required if column not in frame.columns]
    if missing:
        raise CsvError(f"{where}: missing columns {', '.join(missing)}")
    frame = frame.copy()
    for column in TEXT_COLUMNS:
        if column in frame.columns:
            frame[column] = frame[column].map(_text)
    frame["file"] = frame["file"].map(_normal_path)
    for column in ["page", *BOX_COLUMNS, "confidence"]:
        if column in frame.columns:
            numbers = pd.to_numeric(frame[column].replace("", np.nan), errors="coerce")
            bad = numbers.isna() & frame[column].map(_text).ne("")
            if column in ["page", *BOX_COLUMNS]:
                bad |= numbers.isna()
            if bad.any():
                value = frame.loc[bad, column].iloc[0]
                raise CsvError(f"{where}: column {column} has a non-number ({value!r})")
            frame[column] = numbers
    frame["page"] = frame["page"].astype(int)
    if "needs_review" in frame.columns:
        frame["needs_review"] = frame["needs_review"].map(_flag)
    return frame


def _text(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return ""
    return str(value)  # read_table has undone the spreadsheet-safety apostrophes


def _normal_path(path: str) -> str:
    return posixpath.normpath(path.replace("\\", "/")) if path else path


def _flag(value: object) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    return _text(value).strip().lower() in ("true", "1", "yes")


def _share(part: int, whole: int) -> float:
    """part / whole; 1.0 when there is nothing to count (no mistakes possible)."""
    return part / whole if whole else 1.0


def _percent(share: float) -> str:
    return f"{100 * share:.1f} %"
