"""Label accuracy: the printed label `digitize.labels` reads for each field, against the truth.

Each seed's style zoo (samples/zoo.py, whose truth names every field's label) is generated and
every page read as a scan reads it — but its digits are not classified (labels do not depend on
them) — then its labels read; a truth field is matched to a field found by box (IoU >= 0.5,
digitize.scoring.match_boxes). The bundled samples are scored too: samples/generate.py knows
the label it printed beside each field (`label=`, a table's row labels and headers), read here
from its layouts without drawing anything; fields it printed no label for are left out.

A label is right when it equals the truth ignoring case and runs of spaces; *characters* is
the share of the truth's characters read (edit distance, as digit accuracy in
digitize.scoring). Fields are counted by where their label is: *left* of the field, *above*
it, a *table* cell's row and column, a *checkbox*'s question and answer.

    python benchmarks/label_accuracy.py [--seeds 101 102 103] [--forms 12] [--no-samples]

Seeds: the default, samples/zoo.py's dev seeds 101-103, were looked at while building the
labels; 104-106 were measured once unseen (96.7 % right), then their failures looked at too.
Seeds from 9000 are held-out series (samples/zoo.py): none has been read for labels, and this
script runs them only with --held-out, which keeps their results apart
(label_accuracy_held_out_FIRST-LAST.md). Writes benchmarks/results/label_accuracy.md.
"""

from __future__ import annotations

import argparse
import inspect
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import tesserocr

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "samples"))  # zoo, generate
import generate
import zoo

from digitize.labels import read_labels, tesseract_missing
from digitize.pages import load_page
from digitize.reading import read_page
from digitize.scoring import BOX_COLUMNS, levenshtein, match_boxes
from report import write_results

REPO = Path(__file__).resolve().parent.parent
DEV_SEEDS = (101, 102, 103)
HELD_OUT_FROM = 9000  # samples/zoo.py's held-out series start here
POSITIONS = ("left", "above", "table", "checkbox")
HEADER = "| set | fields | found | labels right | characters | read empty |"


class NoDigits:
    """A classifier that reads nothing: labels need the fields found, not their digits."""

    def probabilities(self, digits: np.ndarray) -> np.ndarray:
        return np.full((len(digits), 10), 0.1, np.float32)

    def not_digit(self, digits: np.ndarray) -> np.ndarray:
        return np.zeros(len(digits), bool)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="*", default=list(DEV_SEEDS))
    parser.add_argument("--forms", type=int, default=zoo.DEFAULT_FORMS, help="forms per seed")
    parser.add_argument("--mnist-dir", type=Path)
    parser.add_argument("--no-samples", action="store_true", help="the zoo only")
    parser.add_argument("--keep", type=Path, help="keep the forms and the outcomes here")
    parser.add_argument("--held-out", action="store_true", help="allow the held-out seeds")
    args = parser.parse_args()
    held_out = sorted(seed for seed in args.seeds if seed >= HELD_OUT_FROM)
    if held_out and not args.held_out:
        parser.error(f"seeds {held_out} are held out for the final measurement; add --held-out")
    missing = tesseract_missing()
    if missing is not None:
        parser.exit(1, f"label_accuracy.py: {missing}\n")

    started = time.perf_counter()
    seconds: list[float] = []
    sets: dict[str, pd.DataFrame] = {}
    with tempfile.TemporaryDirectory() as scratch:
        root = args.keep or Path(scratch)
        for seed in args.seeds:
            truth = zoo_truth(seed, root / f"seed{seed}", args.forms, args.mnist_dir)
            sets[f"zoo seed {seed}"] = read_and_match(truth, seconds)
    if not args.no_samples:
        sets["bundled samples"] = read_and_match(sample_truth(), seconds)
    outcomes = pd.concat(sets.values(), ignore_index=True)
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        outcomes.to_csv(args.keep / "label_outcomes.csv", index=False)
    zoo_outcomes = [frame for name, frame in sets.items() if name.startswith("zoo")]
    minutes = (time.perf_counter() - started) / 60

    write_results(
        f"label_accuracy_held_out_{held_out[0]}-{held_out[-1]}" if held_out else "label_accuracy",
        "Printed labels read, against the truth",
        [
            f"{tesserocr.tesseract_version().splitlines()[0]} through tesserocr "
            f"{tesserocr.__version__}, Debian's English model. Zoo seeds "
            f"{' '.join(map(str, args.seeds)) or 'none'}, {args.forms} forms each (samples/zoo.py"
            f"), and {'not ' if args.no_samples else ''}the bundled samples (samples/generate.py"
            f"'s labels); {minutes:.1f} min in all. Held-out seeds (never read for labels): "
            f"from {HELD_OUT_FROM}{' — this run includes them' if held_out else ', none in this run'}.",
            "",
            "A truth field is matched to a field found by box (IoU >= 0.5). *Labels right*: "
            "equal to the truth, case and runs of spaces aside, among the fields found; "
            "*characters*: the share of the truth's characters read (edit distance); *read "
            "empty*: fields found whose label came out empty. Label time: the median "
            f"{np.median(seconds):.3f} s a page (mean {np.mean(seconds):.3f}, max "
            f"{max(seconds):.3f}) over {len(seconds)} pages, segmentation not counted.",
            "",
            *table("by set", sets),
            *(
                table("zoo, by where the label is", by_position(pd.concat(zoo_outcomes)))
                if zoo_outcomes
                else []
            ),
            *(
                table("bundled samples, by where the label is", by_position(sets[name]))
                if (name := "bundled samples") in sets
                else []
            ),
            *table("all", {"all": outcomes}),
        ],
    )


# ----------------------------------------------------------------------------- truths


def zoo_truth(seed: int, out: Path, forms: int, mnist_dir: Path | None) -> pd.DataFrame:
    """The zoo's truth for one seed (its forms written under `out`), with each label's place."""
    rows = zoo.generate_zoo(out, seed, forms, mnist_dir=mnist_dir)
    truth = pd.DataFrame(rows)
    position = np.where(truth["distractor"] == "labels", "left", "above")
    position = np.where(truth["kind"] == "checkbox", "checkbox", position)
    return truth.assign(position=position)


def sample_truth() -> pd.DataFrame:
    """samples/truth.csv's fields that generate.py printed a label for, with the label and its
    place, from the forms' layouts (nothing is drawn; the same seed, so the same fields)."""
    rows = []
    with recorded_labels() as printed:
        for index, form in enumerate(generate.FORMS):
            file = f"{REPO / 'samples' / 'forms' / form.name}"
            pages = generate.render_form(form, index, None, generate.SEED, file, images=False)
            sheets = form.build(np.random.default_rng([generate.SEED, index, 0]))
            for page, sheet in zip(pages, sheets):
                boxes = [(f.box.x0, f.box.y0, f.box.x1, f.box.y1) for f in sheet.fields]
                order = generate.reading_order(boxes)  # as render_form numbers them
                for row, i in zip(page.truth, order):
                    if row["value"] != sheet.fields[i].value:
                        raise RuntimeError(f"{form.name}: generate.py's fields are not in order")
                    made, label, position = printed.get(id(sheet.fields[i]), (None, "", ""))
                    if made is sheet.fields[i] and label:
                        rows.append({**row, "label": label, "position": position})
    return pd.DataFrame(rows)


@contextmanager
def recorded_labels() -> Iterator[dict[int, tuple[object, str, str]]]:
    """While open, generate.Sheet's box, comb and table note each field's printed label and
    its place, by the field's id (generate.py itself keeps labels as text only); the field is
    kept with them, so that no other field takes its id."""
    printed: dict[int, tuple[object, str, str]] = {}
    originals = {name: getattr(generate.Sheet, name) for name in ("box", "comb", "table")}

    def recording(name: str) -> Callable:
        original = originals[name]
        signature = inspect.signature(original)

        def method(sheet: generate.Sheet, *args: object, **kwargs: object) -> None:
            before = len(sheet.fields)
            original(sheet, *args, **kwargs)
            given = signature.bind(sheet, *args, **kwargs)
            given.apply_defaults()
            named = given.arguments
            for k, made in enumerate(sheet.fields[before:]):
                if name == "table":
                    row, column = divmod(k, len(named["widths"]))
                    row_labels, headers = list(named["row_labels"]), list(named["headers"])
                    parts = [*row_labels[row : row + 1], headers[column]]
                    printed[id(made)] = (made, " / ".join(parts), "table")
                elif named["label"]:
                    place = "above" if named["above"] else "left"
                    printed[id(made)] = (made, str(named["label"]), place)

        return method

    try:
        for name in originals:
            setattr(generate.Sheet, name, recording(name))
        yield printed
    finally:
        for name, original in originals.items():
            setattr(generate.Sheet, name, original)


# ----------------------------------------------------------------------------- reading


def read_and_match(truth: pd.DataFrame, seconds: list[float]) -> pd.DataFrame:
    """The truth rows with the label read for each (`read`, `found`), page by page."""
    outcomes = []
    classifier = NoDigits()
    for (file, page), rows in truth.groupby(["file", "page"], sort=False):
        reading = read_page(load_page(str(file), int(page)), classifier)
        started = time.perf_counter()
        labels = read_labels(reading)
        seconds.append(time.perf_counter() - started)
        boxes = np.array([found.box for found in reading.fields]).reshape(-1, 4)
        matched = match_boxes(rows[BOX_COLUMNS].astype(float).to_numpy(), boxes)
        for k, row in enumerate(rows.to_dict("records")):
            read = labels[matched[k]] if k in matched else ""
            outcomes.append({**row, "found": k in matched, "read": read})
    frame = pd.DataFrame(outcomes)
    return frame.assign(right=[same(r, t) for r, t in zip(frame["read"], frame["label"])])


def same(read: str, truth: str) -> bool:
    return normal(read) == normal(truth)


def normal(label: str) -> str:
    return " ".join(label.lower().split())


# ----------------------------------------------------------------------------- tables


def by_position(outcomes: pd.DataFrame) -> dict[str, pd.DataFrame]:
    return {
        place: outcomes[outcomes["position"] == place]
        for place in POSITIONS
        if (outcomes["position"] == place).any()
    }


def table(title: str, groups: dict[str, pd.DataFrame]) -> list[str]:
    lines = [f"### {title}", "", HEADER, "|" + "---|" * (HEADER.count("|") - 1)]
    lines += [row(name, group) for name, group in groups.items()]
    return [*lines, ""]


def row(name: str, group: pd.DataFrame) -> str:
    found = group[group["found"]]
    truth_chars = sum(len(normal(t)) for t in found["label"])
    read_chars = sum(
        max(0, len(normal(t)) - levenshtein(normal(r), normal(t)))
        for r, t in zip(found["read"], found["label"])
    )
    cells = [
        name,
        str(len(group)),
        f"{len(found)}",
        f"**{share(found['right'])}** ({int(found['right'].sum())})",
        f"{100 * read_chars / truth_chars:.1f} %" if truth_chars else "–",
        str(int((found["read"] == "").sum())),
    ]
    return "| " + " | ".join(cells) + " |"


def share(flags: pd.Series) -> str:
    return f"{100 * flags.astype(bool).mean():.1f} %" if len(flags) else "–"


if __name__ == "__main__":
    main()
