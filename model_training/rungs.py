"""Successive halving over grid searches: every point cheaply, then the best again, dearer.

    rung 0: GridSearch over the whole space, each point on a small subset for few epochs
    rung r: GridSearch over the best third of rung r-1, each point at 3x the budget
    winner: the best point of the last rung (retrain then trains it fully)

Each rung is its own Keras Tuner project, `<search dir>/<space>/rung-<r>`, so a search stopped
at any rung resumes there: finished rungs reload and run nothing, and the survivors of a rung
are recomputed from its trials on disk, deterministically. `rungs.json` beside them records
the schedule, so a rerun cannot silently mix two schedules; `search_results.csv` holds every
trial of every rung.
"""

from __future__ import annotations

import json
import math
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import keras_tuner as kt
import pandas as pd
from keras_tuner.src.distribute import utils as distribute

from digitize.errors import UsageError
from digitize.output import atomic_write
from model_training import search
from model_training.dataset import TrainingData, limit
from model_training.hypermodel import OBJECTIVE, DigitHyperModel, all_hyperparameters
from model_training.search_space import SearchSpace

# Keep the best third of each rung and give each survivor 3x the budget: a rung then costs
# about what the one before it did (a third of the points at three times the digit-epochs),
# so N rungs cost about N times the cheap first pass, and the winner has been trained at
# 3^(N-1) times the first budget. Three is also Keras Tuner's Hyperband default (`factor`):
# it thins the field fast without staking everything on one noisy cheap rung.
HALVING_RATE = 3
SCHEDULE_JSON = "rungs.json"
RESULTS_CSV = "search_results.csv"
# Below this many validation digits the ranking of close points is noise: at 97 % accuracy
# 2,000 digits measure it to about ±0.4 %.
MIN_VALIDATION = 2000
_STATUS = kt.engine.trial.TrialStatus
_FINISHED = {_STATUS.COMPLETED, _STATUS.FAILED}


class RungsError(UsageError):
    """Rungs asked for where they cannot run; one line for the user (exit 2)."""


@dataclass(frozen=True)
class Rung:
    index: int
    points: int  # grid points this rung runs
    train_limit: int | None  # training digits per trial (None: the full training split)
    epochs: int  # epochs per trial


def plan_rungs(
    grid_size: int, rung_count: int, train_limit: int | None, epochs: int, full_train: int
) -> list[Rung]:
    """Rung 0 runs every grid point at (train_limit, epochs); rung r the best
    ceil(grid / 3^r) at 3^r times rung 0's digit-epochs, as more digits while there are more
    to take and then as more epochs. Ends early where another rung would rerun one point."""
    base = full_train if train_limit is None else min(train_limit, full_train)
    rungs: list[Rung] = []
    for index in range(rung_count):
        if rungs and rungs[-1].points == 1:
            break
        growth = HALVING_RATE**index
        points = max(1, math.ceil(grid_size / growth))
        digits = min(base * growth, full_train)
        budget = base * epochs * growth  # digit-epochs per trial
        rungs.append(
            Rung(
                index=index,
                points=points,
                train_limit=None if digits >= full_train else digits,
                epochs=-(-budget // digits),  # integer ceil: no float rounding at 3^5
            )
        )
    return rungs


def survivors(results: pd.DataFrame, count: int) -> list[dict]:
    """The hyperparameter values of the `count` best rows, best first, as the oracle takes
    them: plain Python values of each entry's declared type (pandas hands back NumPy ones,
    and a column of ints with a gap comes back as floats)."""
    return [_point(row) for _, row in ranked(results).head(count).iterrows()]


def _point(row: pd.Series) -> dict:
    declared = {hp.name: hp.default for hp in all_hyperparameters().space}
    return {
        name: _plain(row[name], declared[name])
        for name in row.index
        if name in declared and not pd.isna(row[name])
    }


# A results table's first columns: which rung, at what budget (`labelled`).
BUDGET_COLUMNS = ("rung", "train_limit", "epochs_budget")
# What a trial reports (hypermodel.DigitHyperModel.fit), adopted with its point.
_METRICS = (OBJECTIVE, "epochs", "seconds")


def finished_elsewhere(known: pd.DataFrame, rung: Rung) -> list[tuple[dict, dict]]:
    """(values, metrics) of `known`'s trials of `rung` (a search_results.csv, e.g. from
    another machine), for the rung's oracle to adopt. Refused where the file ran that rung at
    another budget: its accuracies would not rank with this run's."""
    rows = known[known["rung"].astype(int) == rung.index]
    budget = (rung.train_limit, rung.epochs)
    for _, row in rows.iterrows():
        limit = None if pd.isna(row["train_limit"]) else int(row["train_limit"])
        if (limit, int(row["epochs_budget"])) != budget:
            raise RungsError(
                f"the results to resume from ran rung {rung.index} on {limit or 'all'} digits x "
                f"{int(row['epochs_budget'])} epochs, this search on {rung.train_limit or 'all'}"
                f" x {rung.epochs}: rerun with their --train-limit, --epochs and --rungs"
            )
    return _adoptable(rows)


def _adoptable(rows: pd.DataFrame) -> list[tuple[dict, dict]]:
    # In the order they were run: adopted trials are numbered in this order, and ties in
    # val accuracy go to the earlier trial (`ranked`), as they did where they were run.
    in_run_order = rows.assign(_trial=rows["trial"].astype(int)).sort_values("_trial")
    return [
        (_point(row), {name: float(row[name]) for name in _METRICS if not pd.isna(row[name])})
        for _, row in in_run_order.drop(columns="_trial").iterrows()
    ]


def read_known(path: Path) -> pd.DataFrame:
    """A search_results.csv to resume from; one line for the user where it is none."""
    try:
        table = pd.read_csv(path)
    except (OSError, ValueError) as error:  # missing, unreadable, not CSV, empty
        raise RungsError(f"{path}: cannot read results to resume from ({error})") from None
    missing = {*BUDGET_COLUMNS, "trial", *_METRICS} - set(table.columns)
    if missing:
        raise RungsError(
            f"{path}: not a search_results.csv (no {', '.join(sorted(missing))} column)"
        )
    return table


def ranked(results: pd.DataFrame) -> pd.DataFrame:
    """Best val accuracy first; ties to the earlier trial, so a resumed search ranks as the
    first run did. Trial ids are compared as numbers: their zero padding depends on
    --max-trials, which may differ between runs."""
    order = results.assign(
        _score=results[OBJECTIVE].astype(float), _trial=results["trial"].astype(int)
    )
    order = order.sort_values(["_score", "_trial"], ascending=[False, True], kind="stable")
    return order.drop(columns=["_score", "_trial"]).reset_index(drop=True)


def _plain(value: object, example: object) -> object:
    if isinstance(example, bool):  # before int: bool is an int
        if isinstance(value, str):
            return value.strip().lower() == "true"
        return bool(value)
    if isinstance(example, int):
        return int(float(value))  # type: ignore[arg-type]  # float first: "2.0", 2.0
    if isinstance(example, float):
        return float(value)  # type: ignore[arg-type]
    return str(value)


class SurvivorGridOracle(search.ResumableGridSearchOracle):
    """A grid search over an explicit list of points, in order: a later rung's survivors.

    A point is done once any trial holds it: Keras Tuner itself retries a trial killed
    mid-run (`Oracle.reload` queues the ongoing trials in `_retry_queue`, which
    `create_trial` serves before calling `populate_space`), so proposing its point again
    would run it twice.
    """

    def __init__(self, points: list[dict], **kwargs) -> None:
        super().__init__(**kwargs)
        self.points = [dict(point) for point in points]

    def populate_space(self, trial_id):
        for point in self.points:
            if not any(_holds(trial, point) for trial in self.trials.values()):
                return {"status": _STATUS.RUNNING, "values": dict(point)}
        if self.ongoing_trials:  # as GridSearchOracle: wait for the running ones
            return {"status": _STATUS.IDLE, "values": None}
        return {"status": _STATUS.STOPPED, "values": None}

    def adopt(self, finished: list[tuple[dict, dict]]) -> int:
        """As the grid's: only trials of this rung's points (a results file's others would
        compete for the next rung unasked)."""
        return super().adopt(
            [
                (values, metrics)
                for values, metrics in finished
                if any(search.holds(values, point) for point in self.points)
            ]
        )

    def reload(self):
        super().reload()
        # A kill between create_trial writing trial.json and oracle.json leaves a RUNNING
        # trial that is not among the ongoing ones, so Keras Tuner would never retry it, and
        # its point would count as held: queue it like the ongoing ones.
        for trial_id, trial in self.trials.items():
            if trial.status == _STATUS.RUNNING and trial_id not in self._retry_queue:
                self._retry_queue.append(trial_id)


def _holds(trial, point: dict) -> bool:
    return search.holds(trial.hyperparameters.values, point)


def run_rungs(
    space: SearchSpace,
    search_dir: Path,
    rungs: list[Rung],
    data: TrainingData,
    seed: int = 0,
    overwrite: bool = False,
    max_trials: int | None = None,
    known: pd.DataFrame | None = None,
) -> tuple[kt.HyperParameters, pd.DataFrame, Path]:
    """Run (or resume) every rung; (the winner's hyperparameters, every trial of every rung,
    the space's directory). `data` is the full training split; each rung takes its subset.

    `max_trials` caps the trials of all rungs together, those of earlier runs included (as
    `--max-trials` caps one grid search): the search stops where the cap is reached, and the
    winner is then the best of the last rung that finished a trial. `known` (a
    search_results.csv read by `read_known`) holds trials run elsewhere: each rung adopts
    its own before it runs the rest.
    """
    check_single_machine(len(rungs))
    space_dir = Path(search_dir) / space.name
    if overwrite:
        _wipe(space_dir)
    check_schedule(space_dir / SCHEDULE_JSON, rungs)

    tables: list[pd.DataFrame] = []
    combined = pd.DataFrame()
    last: tuple[kt.Tuner, pd.DataFrame] | None = None  # the last rung that finished a trial
    previous: pd.DataFrame | None = None  # the rung before this one's finished trials
    points: list[dict] | None = None  # None: rung 0, the whole grid
    spent = 0  # trials of the rungs before this one
    for rung in rungs:
        if previous is not None:
            if previous.empty:  # every trial of the rung before failed
                break
            points = survivors(previous, rung.points)
        project = space_dir / f"rung-{rung.index}"
        cap = None if max_trials is None else max_trials - spent
        if cap is not None and cap <= 0:
            on_disk = len(list(project.glob("trial_*/trial.json")))
            if not on_disk:
                break
            # Keras Tuner reads max_trials=0 as no cap; this many already stops new trials,
            # and still lets a killed one (already counted) finish.
            cap = on_disk
        expected = space.grid_size() if points is None else len(points)
        print(
            f"Rung {rung.index} (of 0-{len(rungs) - 1}): {expected} points, "
            f"{rung.train_limit or 'all'} training digits x {rung.epochs} epochs",
            flush=True,
        )

        def record(tuner: kt.Tuner, rung: Rung = rung) -> None:
            """Every trial so far to RESULTS_CSV: read while a search runs, and what a search
            moved to another machine resumes from."""
            table = search.results_table(tuner)
            current = [labelled(table, rung)] if not table.empty else []
            with atomic_write(space_dir / RESULTS_CSV) as stream:
                pd.concat(tables + current, ignore_index=True).to_csv(stream, index=False)

        tuner = _tuner(space, project, points, cap, seed, record)
        if known is not None:
            adopted = tuner.oracle.adopt(finished_elsewhere(known, rung))
            tuner.save()  # a rerun reloads a project only where the tuner's own file is
            print(f"Rung {rung.index}: {adopted} trials taken from the results file", flush=True)
        search.run_search(
            tuner,
            limit(data.train, rung.train_limit, seed),
            # Validating every epoch on all ~6,000 validation digits would cost more than
            # training on a few hundred: as many as the rung trains on (a forward pass each,
            # about a third of a training step), at least MIN_VALIDATION, keeps validation
            # from dominating the small rungs.
            limit(
                data.validation,
                max(MIN_VALIDATION, rung.train_limit) if rung.train_limit else None,
                seed,
            ),
            rung.epochs,
        )
        spent += len(tuner.oracle.trials)
        table = previous = search.results_table(tuner)
        if not table.empty:
            tables.append(labelled(table, rung))
            last = (tuner, table)
        combined = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()
        with atomic_write(space_dir / RESULTS_CSV) as stream:
            combined.to_csv(stream, index=False)
        finished = sum(trial.status in _FINISHED for trial in tuner.oracle.trials.values())
        if finished < expected:  # stopped by max_trials: the next rung has no survivors yet
            break
    if last is None:
        raise RuntimeError("no trial of the first rung finished")  # Keras Tuner raises first
    tuner, table = last
    best = tuner.oracle.get_trial(ranked(table)["trial"].iloc[0]).hyperparameters
    return best, combined, space_dir


def check_single_machine(rung_count: int) -> None:
    if rung_count > 1 and distribute.has_chief_oracle():
        raise RungsError(
            "--rungs runs on one machine for now: leave out KERASTUNER_* or use --rungs 1"
        )


def check_schedule(path: Path, rungs: list[Rung]) -> None:
    """Record the schedule on the first run; refuse a rerun that asks for another one, whose
    rungs would be mixed with these on disk."""
    planned = [asdict(rung) for rung in rungs]
    if path.is_file():
        recorded = json.loads(path.read_text())["rungs"]
        if recorded != planned:
            raise RungsError(
                f"{path.parent}: this search was started as {_describe(recorded)}, not "
                f"{_describe(planned)}: rerun with its --rungs, --train-limit and --epochs, "
                "or add --overwrite"
            )
        return
    with atomic_write(path) as stream:
        json.dump({"rungs": planned}, stream, indent=2)


def _describe(rungs: list[dict]) -> str:
    first = rungs[0]
    return (
        f"{len(rungs)} rungs from {first['train_limit'] or 'all'} digits x {first['epochs']} epochs"
    )


def _wipe(space_dir: Path) -> None:
    """--overwrite: every rung and what was recorded about them (a one-rung search in the
    same directory keeps its own project)."""
    for project in space_dir.glob("rung-*"):
        shutil.rmtree(project)
    for name in (SCHEDULE_JSON, RESULTS_CSV):
        (space_dir / name).unlink(missing_ok=True)


def _tuner(
    space: SearchSpace,
    project: Path,
    points: list[dict] | None,
    max_trials: int | None,
    seed: int,
    record: search.Recorder | None = None,
) -> kt.Tuner:
    """A rung's tuner: as `search.make_tuner`, over the whole grid or only `points`."""
    settings = search.oracle_settings(space, max_trials, seed)
    oracle = (
        search.ResumableGridSearchOracle(**settings)
        if points is None
        else SurvivorGridOracle(points, **settings)
    )
    return search.RecordingTuner(
        oracle=oracle,
        hypermodel=DigitHyperModel(),
        directory=str(project.parent),
        project_name=project.name,
        record=record,
    )


def labelled(table: pd.DataFrame, rung: Rung) -> pd.DataFrame:
    """A rung's results with its budget in front: rung, train_limit (empty: all), epochs."""
    out = table.copy()
    out.insert(0, "rung", rung.index)
    digits = pd.Series(rung.train_limit, index=table.index, dtype="Int64")  # None: empty
    out.insert(1, "train_limit", digits)
    out.insert(2, "epochs_budget", rung.epochs)
    return out
