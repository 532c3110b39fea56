"""Accuracy on the style zoo (samples/zoo.py), per value of every style axis.

Each seed's zoo is generated, scanned with the installed model and matched to its truth by box
(digitize.scoring.match_boxes: greedy, one to one, IoU >= 0.5; a row of ink outside every box
found, kind `unboxed`, by lying inside the field's box). A table per axis then says,
for each of its values, how the fields made with it came out, so a failure shows up as the
value it belongs to (pencil, tick combs, 150 dpi ...) rather than as one overall figure.

    python benchmarks/zoo_accuracy.py [--seeds 101 102 103] [--forms 12] [--keep DIR]

Seeds: the default, samples/zoo.py's DEV_SEEDS (101-106), are for developing against.
HELD_OUT_SEEDS (9067 9068 9069) are reserved for the final measurement: do not generate or look
at them while developing; this script runs them only with --held-out.

Writes benchmarks/results/zoo_accuracy.md (zoo_accuracy_held_out_FIRST-LAST.md for held-out seeds).
"""

from __future__ import annotations

import argparse
import posixpath
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "samples"))  # zoo.py
import zoo

from digitize.scan import ScanOptions, scan
from digitize.scoring import (
    BOX_COLUMNS,
    OUTPUT_COLUMNS,
    match_boxes,
    read_csv_for_scoring,
    unboxed_rows,
)
from report import write_results

# Groupings besides the style axes: the special fields, and how the file was saved.
EXTRA_GROUPS: dict[str, tuple[str, ...]] = {
    "special": zoo.SPECIALS,
    "format": ("png", "jpg", "pdf", "tiff"),
}
HEADER = (
    "| value | digit fields | exact | unflagged wrong | review rate | missed "
    "| letter fields | flagged not_digits | checkboxes | checkbox exact | extra rows |"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(zoo.DEV_SEEDS))
    parser.add_argument("--forms", type=int, default=zoo.DEFAULT_FORMS, help="forms per seed")
    parser.add_argument("--mnist-dir", type=Path)
    parser.add_argument("--workers", type=int, help="scan processes [default: the cores]")
    parser.add_argument("--keep", type=Path, help="keep the forms, entries and outcomes here")
    parser.add_argument("--held-out", action="store_true", help="allow the reserved held-out seeds")
    args = parser.parse_args()
    reserved = sorted(set(args.seeds) & set(zoo.HELD_OUT_SEEDS))
    if reserved and not args.held_out:
        parser.error(f"seeds {reserved} are held out for the final measurement; add --held-out")

    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        root = args.keep or Path(scratch)
        results = [run_seed(seed, root / f"seed{seed}", args) for seed in args.seeds]
    outcomes = pd.concat([r[0] for r in results], ignore_index=True)
    extras = pd.concat([r[1] for r in results], ignore_index=True)
    if args.keep:
        outcomes.to_csv(args.keep / "outcomes.csv", index=False)
    minutes = (time.perf_counter() - started) / 60

    write_results(
        # The held-out measurement is kept apart: a dev run must not overwrite it.
        f"zoo_accuracy_held_out_{min(args.seeds)}-{max(args.seeds)}"
        if reserved
        else "zoo_accuracy",
        "Accuracy on the style zoo, per axis value",
        [
            f"Seeds {' '.join(map(str, args.seeds))}, {args.forms} forms each "
            f"({outcomes[['file', 'page']].drop_duplicates().shape[0]} pages, "
            f"{len(outcomes)} fields), made by samples/zoo.py from MNIST test digits; scanned "
            f"with the default settings and the installed model; {minutes:.1f} min in all. "
            f"Held-out seeds (not looked at while developing): "
            f"{' '.join(map(str, zoo.HELD_OUT_SEEDS))}"
            f"{' — this run includes them' if reserved else ', not in this run'}.",
            "",
            "A truth field is matched to an output row by box (IoU >= 0.5; an `unboxed` "
            "row, whose box is its ink's, by lying at least 80 % inside the field's box). "
            "Digit fields: "
            "*exact* is the share read exactly right (an empty box read empty counts as right); "
            "*unflagged wrong* the share read wrong, or not found at all, without "
            "`needs_review`; *review rate* the share flagged; *missed* the fields no row "
            "matched. Letter fields should be flagged `not_digits`; checkboxes read `1` "
            "(ticked or crossed) or `0`. *Extra rows* are output rows matching no field, on the "
            "forms with that value. A field's axis value is the one it was made with: "
            "`box_style` counts plain boxes only, `comb_style` combs only, and a field without "
            "a printed prefix on a prefix form counts as distractor `none`.",
            "",
            *table("all fields", {"all": outcomes}, {"all": extras}),
            *[
                line
                for axis, values in {**zoo.AXES, **EXTRA_GROUPS}.items()
                for line in axis_table(axis, values, outcomes, extras)
            ],
        ],
    )


def run_seed(seed: int, out: Path, args: argparse.Namespace) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(one row per truth field with how it came out, one row per unmatched output row)."""
    zoo.generate_zoo(out, seed, args.forms, mnist_dir=args.mnist_dir)
    entries = out / "entries.csv"
    scan(ScanOptions(inputs=[str(out / "forms")], out=entries, workers=args.workers))
    truth = read_csv_for_scoring(out / "truth.csv", zoo.TRUTH_COLUMNS)
    output = read_csv_for_scoring(entries, [*OUTPUT_COLUMNS, "digit_confidences"])
    forms = pd.read_csv(out / "forms.csv", dtype=str, keep_default_na=False)
    return match(truth, output), unmatched(truth, output, forms)


def page_key(frame: pd.DataFrame) -> pd.Series:
    """(file name, page): zoo file names are unique within a seed, so the name is enough."""
    return frame["file"].map(posixpath.basename) + "#" + frame["page"].astype(str)


def pairs(truth: pd.DataFrame, output: pd.DataFrame) -> dict[int, int]:
    """Truth row label -> output row label, matched by box within each page."""
    truth_keys, output_keys = page_key(truth), page_key(output)
    matched: dict[int, int] = {}
    for key, truth_page in truth.groupby(truth_keys, sort=False):
        candidates = output[output_keys == key]
        found = match_boxes(
            truth_page[BOX_COLUMNS].to_numpy(),
            candidates[BOX_COLUMNS].to_numpy(),
            ink_boxes=unboxed_rows(candidates),
        )
        for t, o in found.items():
            matched[int(truth_page.index[t])] = int(candidates.index[o])
    return matched


def match(truth: pd.DataFrame, output: pd.DataFrame) -> pd.DataFrame:
    """The truth rows with what was read: found, read, flagged, not_digits, exact."""
    truth, output = truth.reset_index(drop=True), output.reset_index(drop=True)
    matched = pairs(truth, output)  # row labels are now positions
    rows = []
    for position, field in enumerate(truth.to_dict("records")):
        row = output.loc[matched[position]] if position in matched else None
        reasons = "" if row is None else str(row.get("review_reasons", "") or "")
        read = "" if row is None else str(row["value"])
        rows.append(
            {
                **field,
                "found": row is not None,
                "read": read,
                "flagged": row is not None and bool(row["needs_review"]),
                "not_digits": "not_digits" in reasons.split(";"),
                "exact": row is not None and read == field["value"],
                # The row's field confidence (benchmarks/field_calibration.py reads it).
                "confidence": None if row is None else float(row["confidence"]),
                "digit_confidences": "" if row is None else str(row["digit_confidences"]),
                "review_reasons": reasons,
            }
        )
    return pd.DataFrame(rows)


def unmatched(truth: pd.DataFrame, output: pd.DataFrame, forms: pd.DataFrame) -> pd.DataFrame:
    """Output rows that match no truth field, with their form's axis values."""
    truth, output = truth.reset_index(drop=True), output.reset_index(drop=True)
    used = set(pairs(truth, output).values())
    extra = output.loc[[label for label in output.index if int(label) not in used]]
    styles = forms.assign(name=forms["file"].map(posixpath.basename)).drop(columns="file")
    named = pd.DataFrame({"name": extra["file"].map(posixpath.basename)})
    return named.merge(styles, on="name", how="left")


def axis_table(
    axis: str, values: tuple[str, ...], outcomes: pd.DataFrame, extras: pd.DataFrame
) -> list[str]:
    groups = {value: outcomes[outcomes[axis] == value] for value in values}
    extra_groups = {
        value: extras[extras[axis] == value] if axis in extras else extras.iloc[0:0]
        for value in values
    }
    return table(axis, groups, extra_groups)


def table(
    title: str, groups: dict[str, pd.DataFrame], extra_groups: dict[str, pd.DataFrame]
) -> list[str]:
    lines = [f"### {title}", "", HEADER, "|" + "---|" * (HEADER.count("|") - 1)]
    for value, group in groups.items():
        lines.append(table_row(value, group, len(extra_groups[value])))
    return [*lines, ""]


def table_row(value: str, group: pd.DataFrame, extra_rows: int) -> str:
    digits = group[group["expect"] == "digits"]
    letters = group[group["expect"] == "not_digits"]
    boxes = group[group["expect"] == "checkbox"]
    wrong_silent = ~digits["exact"] & ~digits["flagged"] if len(digits) else digits["exact"]
    cells = [
        value,
        str(len(digits)),
        share(digits["exact"]),
        share(wrong_silent),
        share(digits["flagged"]),
        str(int((~digits["found"]).sum())) if len(digits) else "–",
        str(len(letters)),
        share(letters["not_digits"]),
        str(len(boxes)),
        share(boxes["exact"]),
        str(extra_rows),
    ]
    return "| " + " | ".join(cells) + " |"


def share(flags: pd.Series) -> str:
    return f"{100 * flags.astype(bool).mean():.1f} %" if len(flags) else "–"


if __name__ == "__main__":
    main()
