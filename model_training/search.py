"""The grid search: Keras Tuner's GridSearch over a SearchSpace, resumable, optionally distributed.

Distributed runs use Keras Tuner's own mode: the process whose KERASTUNER_TUNER_ID starts with
"chief" serves the oracle on KERASTUNER_ORACLE_IP:KERASTUNER_ORACLE_PORT and runs no trials;
every other process is a worker that asks it for trials (README, "Searching on several
machines").
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

import keras_tuner as kt
import numpy as np
import pandas as pd
from keras_tuner.src.distribute import utils as distribute
from keras_tuner.src.tuners.gridsearch import LinkedList

from digitize.errors import UsageError
from model_training.batch_norm import PreciseBatchNormBeforeValidation
from model_training.hypermodel import OBJECTIVE, DigitHyperModel
from model_training.mnist import Split
from model_training.search_space import SearchSpace


class ResumableGridSearchOracle(kt.oracles.GridSearchOracle):
    """GridSearchOracle whose search can be resumed from its project directory.

    Keras Tuner 1.4.8 does not persist the two structures GridSearchOracle walks the grid with
    (keras-team/keras-tuner#1055, fix unreleased): after a reload a cleanly stopped search
    finds nothing to do and stops silently, and one killed mid-trial crashes with a KeyError
    when its retried trial ends. Both can be rebuilt from the trials on disk, so we do that.
    """

    def reload(self):
        super().reload()
        # A kill in the middle of `adopt` leaves COMPLETED trials on disk that oracle.json
        # does not list yet: count them as run, as `adopt` would have.
        for trial_id, trial in self.trials.items():
            if trial.status == _COMPLETED and trial_id not in self.start_order:
                self._record_values(trial)
                self.start_order.append(trial_id)
                self.end_order.append(trial_id)
        self._rebuild_walk()

    def adopt(self, finished: list[tuple[dict, dict]]) -> int:
        """Count trials run elsewhere as run here: each (hyperparameter values, metrics) whose
        point no trial holds yet becomes a COMPLETED trial of this project, and the walk
        goes on from them. How many were new. Refused (`NotThisGrid`) where a row is no point
        of this grid: another space, another --fix, another hypermodel.

        A search's state lives in its directory, on one machine; its results table travels
        (a CSV in a repository, say), so a search moved to another machine or a fresh one
        resumes from the table (`digitize retrain --resume-from`).
        """
        points = [(self._grid_point(values), metrics) for values, metrics in finished]
        strays = [values for (point, _), (values, _) in zip(points, finished) if point is None]
        if strays:
            raise NotThisGrid(
                f"{len(strays)} of the {len(finished)} trials to resume from are no point of "
                f"this search's grid (e.g. {_short(strays[0])}): another space or --fix?"
            )
        new = 0
        for point, metrics in points:
            assert point is not None  # strays refused above
            if self._duplicate(point):
                continue
            trial_id = f"{{:0{len(str(self.max_trials))}d}}".format(len(self.trials))
            hyperparameters = self.hyperparameters.copy()
            hyperparameters.values = point
            trial = kt.engine.trial.Trial(
                hyperparameters=hyperparameters, trial_id=trial_id, status=_COMPLETED
            )
            self.trials[trial_id] = trial
            self.update_trial(trial_id, metrics)  # registers each metric, saves trial.json
            self._record_values(trial)
            self.score_trial(trial)
            self.start_order.append(trial_id)
            self.end_order.append(trial_id)
            self._save_trial(trial)
            new += 1
        if new:
            self._rebuild_walk()
            self.save()
        return new

    def _grid_point(self, values: dict) -> dict | None:
        """`values` as the grid's own values (a CSV's 0 may be the grid's 0.0), or None where
        one is not among its hyperparameter's, or one is missing or unknown."""
        space = {hp.name: hp for hp in self.hyperparameters.space}
        if set(values) - set(space):
            return None
        point = {}
        for name, hp in space.items():
            if name not in values:
                if hp.conditions:  # inactive in this point
                    continue
                return None
            choices = _grid_values(hp)
            if choices is None:  # a range, not a grid: taken as it is
                point[name] = values[name]
                continue
            same = [
                c for c in choices if c == values[name] and _is_bool(c) == _is_bool(values[name])
            ]
            if not same:
                return None
            point[name] = same[0]
        return point

    def populate_space(self, trial_id):
        # GridSearch walks from the grid's first point (every default) to each tried point's
        # successor: adopted trials that lack the first point would leave the points before
        # the earliest of them unrun. Run it first; its end puts it in the walk. (A trial's
        # values may gain entries the space did not name, so "held" compares the start's.)
        start = self._grid_start()
        if self.start_order and not any(
            holds(self.trials[tid].hyperparameters.values, start) for tid in self.start_order
        ):
            return {"status": kt.engine.trial.TrialStatus.RUNNING, "values": start}
        return super().populate_space(trial_id)

    def end_trial(self, trial):
        super().end_trial(trial)
        if trial.trial_id not in self._ordered_ids._data_to_index:  # the first point, late
            self._rebuild_walk()

    def _grid_start(self) -> dict:
        space = self.get_space()
        return {hp.name: hp.default for hp in space.space if space.is_active(hp)}

    def _rebuild_walk(self) -> None:
        # Every trial with values, in grid order: the walk's linked list of tried points...
        values = {tid: self.trials[tid].hyperparameters.values for tid in self.start_order}
        in_grid_order = sorted(
            values, key=functools.cmp_to_key(lambda a, b: self._compare(values[a], values[b]))
        )
        self._ordered_ids = LinkedList()
        for trial_id in in_grid_order:
            self._ordered_ids.insert(trial_id)
        # ...and every one of them queued to propose its successor. populate_space skips a
        # successor that was already tried, so this finds exactly the points not yet run.
        self._populate_next = list(in_grid_order)


class NotThisGrid(UsageError):
    """Trials to resume from that are no point of this search's grid (exit 2)."""


_COMPLETED = kt.engine.trial.TrialStatus.COMPLETED


def holds(values: dict, point: dict) -> bool:
    """Whether `values` are those of `point` (a point names only what it pins)."""
    return all(name in values and values[name] == value for name, value in point.items())


def _grid_values(hp) -> list | None:
    if isinstance(hp, kt.engine.hyperparameters.Fixed):
        return [hp.value]
    if isinstance(hp, kt.engine.hyperparameters.Boolean):
        return [False, True]
    if isinstance(hp, kt.engine.hyperparameters.Choice):
        return list(hp.values)
    return None


def _is_bool(value: object) -> bool:
    return isinstance(value, bool | np.bool_)


def _short(values: dict) -> str:
    return ", ".join(f"{name}={value}" for name, value in list(values.items())[:3]) + ", ..."


Recorder = Callable[[kt.Tuner], object]  # what it returns is ignored


class RecordingTuner(kt.Tuner):
    """A Tuner that hands itself to `record` after every trial (to write its results)."""

    def __init__(self, *args, record: Recorder | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.record = record

    def on_trial_end(self, trial):
        super().on_trial_end(trial)
        if self.record is not None:
            self.record(self)


def make_tuner(
    space: SearchSpace,
    directory: Path,
    overwrite: bool = False,
    max_trials: int | None = None,
    seed: int = 0,
    record: Recorder | None = None,
) -> kt.Tuner:
    """A grid-search tuner over `space`, keeping its state in `directory/<space name>`."""
    oracle = ResumableGridSearchOracle(**oracle_settings(space, max_trials, seed))
    return RecordingTuner(
        oracle=oracle,
        hypermodel=DigitHyperModel(),
        directory=str(directory),
        project_name=space.name,
        overwrite=overwrite,
        record=record,
    )


def oracle_settings(space: SearchSpace, max_trials: int | None, seed: int) -> dict:
    """What a grid-search oracle over `space` is built with (one search or a rung of one)."""
    return dict(
        objective=kt.Objective(OBJECTIVE, direction="max"),
        hyperparameters=space.hyperparameters(),
        tune_new_entries=space.tune_new_entries,
        allow_new_entries=True,
        max_trials=max_trials,
        seed=seed,
    )


# Digits the batch-norm statistics are recomputed on before each validation: 1,000 took 0.2-5 s
# a time on `seed` points (a tenth of a one-epoch trial on 2,000 digits), and the paper
# behind it (Wu & Johnson 2021) finds a few thousand samples plenty for MNIST-sized layers.
PRECISE_BATCH_NORM_DIGITS = 1000


def run_search(tuner: kt.Tuner, train: Split, validation: Split, epochs: int) -> None:
    """Run (or resume) the search until every grid point has a result."""
    clean = train.images[:PRECISE_BATCH_NORM_DIGITS]  # `train` is shuffled: any slice will do
    tuner.search(
        train=train,
        validation=validation,
        epochs=epochs,
        callbacks=[PreciseBatchNormBeforeValidation(clean)],
    )


def is_worker() -> bool:
    """A distributed worker: it runs trials for the chief and stops after the search."""
    return distribute.has_chief_oracle() and not distribute.is_chief_oracle()


def results_table(tuner: kt.Tuner) -> pd.DataFrame:
    """One row per finished trial: its hyperparameters, val accuracy, epochs run, seconds."""
    rows = []
    for trial in tuner.oracle.trials.values():
        if trial.status != kt.engine.trial.TrialStatus.COMPLETED:
            continue
        row = {"trial": trial.trial_id, **trial.hyperparameters.values}
        for metric in (OBJECTIVE, "epochs", "seconds"):
            row[metric] = (
                trial.metrics.get_best_value(metric) if trial.metrics.exists(metric) else None
            )
        rows.append(row)
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    table["epochs"] = table["epochs"].astype(int)
    table["seconds"] = table["seconds"].round(1)
    return table.sort_values(OBJECTIVE, ascending=False, kind="stable").reset_index(drop=True)


def best_hyperparameters(tuner: kt.Tuner) -> kt.HyperParameters:
    return tuner.oracle.get_best_trials(1)[0].hyperparameters
