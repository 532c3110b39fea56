"""Explain a grid search: what each hyperparameter does, the best points of each rung, and how
well a cheap rung ranked the points that the next, dearer rung ran again.

    python benchmarks/search_report.py SEARCH_DIR/SPACE/search_results.csv [--out FILE.md] [--figure FILE.png]
    python benchmarks/search_report.py --trials-dir SEARCH_DIR/SPACE/rung-0 [--rung 0] [...]

The CSV is model_training/rungs.py's (rung, train_limit, epochs_budget, trial, the
hyperparameters, val_accuracy, epochs, seconds) or a single grid search's, without the first
three columns (read as rung 0). `--trials-dir` reads the COMPLETED trials of a Keras Tuner
project instead, so that a rung still running can be looked at; its budget comes from the
`rungs.json` beside it, if there is one. The report is printed as Markdown, and written to
`--out` too; `--figure` draws rung 0's val accuracy per value of each hyperparameter.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

RUNG_COLUMNS = ["rung", "train_limit", "epochs_budget"]
RESULT_COLUMNS = ["trial", "val_accuracy", "epochs", "seconds"]
METRICS = ["val_accuracy", "epochs", "seconds"]
TOP = 5


@dataclass(frozen=True)
class Agreement:
    """How rung `rung`'s val accuracy ranked the points that rung `rung + 1` ran again."""

    rung: int
    survivors: int  # points of rung + 1 found in rung
    spearman: float  # NaN below two survivors, or where one rung's accuracies are all equal
    best_was: int | None  # rung `rung`'s rank (1: its best) of rung + 1's best point


@dataclass(frozen=True)
class ValueStats:
    """Rung 0's trials that hold one value of one hyperparameter."""

    value: object
    trials: int
    mean: float  # val accuracy, 0-1
    best: float
    median_seconds: float


def read_results(path: Path) -> pd.DataFrame:
    """A search_results.csv, rung columns added where a single grid search has none."""
    table = pd.read_csv(path)
    if "rung" not in table.columns:
        table.insert(0, "rung", 0)
        table.insert(1, "train_limit", pd.Series(pd.NA, index=table.index, dtype="Int64"))
        table.insert(2, "epochs_budget", pd.Series(pd.NA, index=table.index, dtype="Int64"))
    return in_grid_order(table)


def read_trials(directory: Path, rung: int = 0) -> pd.DataFrame:
    """The COMPLETED trials of a Keras Tuner project directory, as read_results' rows."""
    rows = [
        row for path in sorted(directory.glob("trial_*/trial.json")) if (row := _trial_row(path))
    ]
    table = pd.DataFrame(rows)
    train_limit, epochs = rung_budget(directory.parent / "rungs.json", rung)
    table.insert(0, "rung", rung)
    table.insert(1, "train_limit", pd.Series(train_limit, index=table.index, dtype="Int64"))
    table.insert(2, "epochs_budget", pd.Series(epochs, index=table.index, dtype="Int64"))
    return in_grid_order(table)


def _trial_row(path: Path) -> dict | None:
    """One trial.json as a row (trial, hyperparameters, metrics); None unless COMPLETED."""
    try:
        trial = json.loads(path.read_text())
    except json.JSONDecodeError:  # being rewritten by the running search
        print(f"{path}: unreadable, skipped", file=sys.stderr)
        return None
    if trial.get("status") != "COMPLETED":
        return None
    metrics = trial["metrics"]["metrics"]
    row = {"trial": int(trial["trial_id"]), **trial["hyperparameters"]["values"]}
    for name in METRICS:
        observations = metrics.get(name, {}).get("observations", [])
        row[name] = observations[0]["value"][0] if observations else None
    row["seconds"] = round(row["seconds"], 1) if row["seconds"] is not None else None
    return row


def rung_budget(schedule: Path, rung: int) -> tuple[int | None, int | None]:
    """(training digits, epochs) of `rung` in a rungs.json; (None, None) where not recorded."""
    if not schedule.is_file():
        return None, None
    for planned in json.loads(schedule.read_text())["rungs"]:
        if planned["index"] == rung:
            return planned["train_limit"], planned["epochs"]
    return None, None


def in_grid_order(table: pd.DataFrame) -> pd.DataFrame:
    """Rows by rung, then trial: the order the grid ran them (the CSV is ranked by accuracy)."""
    if table.empty:
        return table
    return table.sort_values(["rung", "trial"], kind="stable").reset_index(drop=True)


def hyperparameter_columns(table: pd.DataFrame) -> list[str]:
    return [c for c in table.columns if c not in RUNG_COLUMNS and c not in RESULT_COLUMNS]


def first_rung(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of the cheapest rung present: rung 0, unless --trials-dir read a later one."""
    return table[table["rung"] == table["rung"].min()]


def varying_columns(table: pd.DataFrame) -> list[str]:
    """The hyperparameters that take more than one value at rung 0."""
    first = first_rung(table)
    return [c for c in hyperparameter_columns(table) if first[c].nunique(dropna=False) > 1]


def value_order(values: pd.Series) -> list[object]:
    """Distinct values, numbers ascending, others as they first appear (unset last)."""
    distinct = list(pd.unique(values))
    unset = [value for value in distinct if _is_unset(value)]
    present = [value for value in distinct if not _is_unset(value)]
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        present = sorted(present)  # numbers, checked above
    return present + unset


def _is_unset(value: object) -> bool:
    return value is None or (isinstance(value, float) and value != value)  # NaN


def holding(table: pd.DataFrame, column: str, value: object) -> pd.DataFrame:
    """The rows whose `column` is `value` (NaN matching NaN: a conditional hyperparameter)."""
    mask = table[column].isna() if _is_unset(value) else table[column] == value
    return table[mask]


def value_summary(table: pd.DataFrame, column: str) -> list[ValueStats]:
    """Rung 0 per value of `column`: trials, mean and best val accuracy, median seconds."""
    first = first_rung(table)
    stats = []
    for value in value_order(first[column]):
        rows = holding(first, column, value)
        stats.append(
            ValueStats(
                value=value,
                trials=len(rows),
                mean=float(rows["val_accuracy"].mean()),
                best=float(rows["val_accuracy"].max()),
                median_seconds=float(rows["seconds"].median()),
            )
        )
    return stats


def top_points(table: pd.DataFrame, rung: int, count: int = TOP) -> pd.DataFrame:
    """The `count` best trials of `rung`, ties to the earlier trial."""
    rows = table[table["rung"] == rung]
    order = rows.sort_values(["val_accuracy", "trial"], ascending=[False, True], kind="stable")
    return order.head(count)


def point_keys(table: pd.DataFrame, columns: list[str]) -> pd.Series:
    """One string per row naming its point, comparable across rungs (NaN as 'nan')."""
    return table[columns].astype(str).agg("|".join, axis=1)


def rank_agreement(table: pd.DataFrame, rung: int) -> Agreement:
    """Spearman's rho between rung and rung + 1's val accuracy on the points both ran."""
    columns = hyperparameter_columns(table)
    cheap, dear = (table[table["rung"] == r] for r in (rung, rung + 1))
    cheap = cheap.assign(point=point_keys(cheap, columns), cheap_rank=_ranks(cheap))
    dear = dear.assign(point=point_keys(dear, columns))
    both = dear.merge(
        cheap[["point", "val_accuracy", "cheap_rank"]], on="point", suffixes=("", "_cheap")
    )
    # Ranks, then Pearson: Spearman's rho without scipy, ties given their mean rank.
    rho = both["val_accuracy_cheap"].rank().corr(both["val_accuracy"].rank())
    best_was = None
    if not both.empty:
        best_was = int(both.sort_values("val_accuracy", ascending=False).iloc[0]["cheap_rank"])
    return Agreement(rung=rung, survivors=len(both), spearman=float(rho), best_was=best_was)


def _ranks(rows: pd.DataFrame) -> pd.Series:
    """1 for the best val accuracy of `rows`, ties to the earlier trial."""
    order = rows.sort_values(["val_accuracy", "trial"], ascending=[False, True], kind="stable")
    return pd.Series(range(1, len(order) + 1), index=order.index).reindex(rows.index)


def percent(fraction: float) -> str:
    return f"{fraction * 100:.1f} %"


def show(value: object) -> str:
    if _is_unset(value):
        return "unset"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def budget(rows: pd.DataFrame) -> str:
    """'1,000 digits × 1 epoch' from a rung's rows; the training split where train_limit is empty."""
    epochs = rows["epochs_budget"].iloc[0]
    if pd.isna(epochs):
        return "budget not recorded"
    digits = rows["train_limit"].iloc[0]
    shown = "all" if pd.isna(digits) else f"{int(digits):,}"
    return f"{shown} digits × {int(epochs)} epoch{'' if int(epochs) == 1 else 's'}"


def header_lines(table: pd.DataFrame) -> list[str]:
    parts = []
    for rung, rows in table.groupby("rung", sort=True):
        hours = rows["seconds"].sum() / 3600
        parts.append(f"rung {rung}: {len(rows)} trials ({budget(rows)}, {hours:.2f} h)")
    return [f"Trials per rung: {'; '.join(parts)}.", ""]


def effect_lines(table: pd.DataFrame, columns: list[str]) -> list[str]:
    lines = [f"## What each hyperparameter does (rung {table['rung'].min()})", ""]
    if not columns:
        return [*lines, "No hyperparameter takes more than one value here.", ""]
    lines += [
        "| hyperparameter | value | trials | mean val accuracy | best val accuracy | median s/trial |",
        "|---|---|---|---|---|---|",
    ]
    for column in columns:
        for row in value_summary(table, column):
            lines.append(
                f"| {column} | {show(row.value)} | {row.trials} | {percent(row.mean)} "
                f"| {percent(row.best)} | {row.median_seconds:.1f} |"
            )
    return [*lines, ""]


def top_lines(table: pd.DataFrame, columns: list[str]) -> list[str]:
    heads = ["#", *columns, "val accuracy", "seconds"]
    lines = []
    for rung in sorted(table["rung"].unique()):
        lines += [
            f"## Best {TOP} of rung {rung}",
            "",
            table_row(heads),
            table_row(["---"] * len(heads)),
        ]
        for place, (_, row) in enumerate(top_points(table, rung).iterrows(), start=1):
            cells = [str(place), *(show(row[c]) for c in columns)]
            lines.append(table_row([*cells, percent(row["val_accuracy"]), f"{row['seconds']:.1f}"]))
        lines.append("")
    return lines


def table_row(cells: list[str]) -> str:
    return f"| {' | '.join(cells)} |"


def reading(rho: float) -> str:
    if rho != rho:  # NaN
        return "cannot tell"
    if rho >= 0.7:
        return "well"
    if rho >= 0.4:
        return "moderately"
    return "weakly" if rho >= 0.1 else "not at all"


def agreement_lines(table: pd.DataFrame) -> list[str]:
    rungs = sorted(table["rung"].unique())
    if len(rungs) < 2:
        return []
    lines = [
        "## How well each rung predicted the next",
        "",
        "Among the survivors only (a rung's best third: a narrow range, which lowers rho).",
        "",
        "| rungs | survivors | Spearman rho | predicted | next rung's best was this rung's # |",
        "|---|---|---|---|---|",
    ]
    for rung in rungs[:-1]:
        found = rank_agreement(table, rung)
        rho = "–" if found.spearman != found.spearman else f"{found.spearman:.2f}"
        best = "–" if found.best_was is None else str(found.best_was)
        lines.append(
            f"| {rung} → {rung + 1} | {found.survivors} | {rho} | {reading(found.spearman)} | {best} |"
        )
    return [*lines, ""]


def report_lines(table: pd.DataFrame) -> list[str]:
    columns = varying_columns(table)
    return [
        *header_lines(table),
        *effect_lines(table, columns),
        *top_lines(table, columns),
        *agreement_lines(table),
    ]


def render(source: str, table: pd.DataFrame) -> str:
    """The whole report, as benchmarks/report.py's write_results lays a result out."""
    command = " ".join(["python", "benchmarks/search_report.py", *sys.argv[1:]])
    return "\n".join(
        [f"# Grid search: {source}", "", f"Command: `{command}`", "", *report_lines(table)]
    )


def draw_figure(table: pd.DataFrame, path: Path) -> None:
    """One panel per varying hyperparameter: rung 0's val accuracy per value, as box plots
    with every trial drawn over them."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = varying_columns(table) or hyperparameter_columns(table)[:1]
    across = min(4, len(columns))
    down = -(-len(columns) // across)
    figure, axes = plt.subplots(down, across, figsize=(3 * across, 2.6 * down), squeeze=False)
    first = first_rung(table)
    for axis, column in zip(axes.flat, columns):
        values = value_order(first[column])
        groups = [holding(first, column, v)["val_accuracy"] * 100 for v in values]
        axis.boxplot(groups, showfliers=False)
        for place, group in enumerate(groups, start=1):
            axis.plot([place] * len(group), group, ".", alpha=0.4, color="tab:blue")
        axis.set_xticks(range(1, len(values) + 1), [show(v) for v in values])
        axis.set_title(column, fontsize=9)
        axis.tick_params(labelsize=8)
    for axis in list(axes.flat)[len(columns) :]:
        axis.set_visible(False)
    figure.supylabel(f"rung {table['rung'].min()} val accuracy (%)", fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("results", nargs="?", type=Path, help="search_results.csv")
    parser.add_argument("--trials-dir", type=Path, help="a rung's Keras Tuner project instead")
    parser.add_argument("--rung", type=int, default=0, help="the rung --trials-dir holds")
    parser.add_argument("--out", type=Path, help="also write the Markdown here")
    parser.add_argument("--figure", type=Path, help="draw rung 0 per hyperparameter (PNG)")
    args = parser.parse_args(argv)
    if (args.results is None) == (args.trials_dir is None):
        parser.error("give either a search_results.csv or --trials-dir")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    source = args.trials_dir if args.trials_dir else args.results
    table = read_trials(source, args.rung) if args.trials_dir else read_results(source)
    if table.empty:
        raise SystemExit(f"{source}: no finished trial yet")
    text = render(str(source), table)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    if args.figure:
        draw_figure(table, args.figure)


if __name__ == "__main__":
    main()
