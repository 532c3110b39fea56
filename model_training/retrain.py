"""`digitize retrain`: search, train the winner fully, evaluate on the test split, install.

    search space --grid search on a subset--> best hyperparameters
                 --full training split-->     model --MNIST test--> figures --guard--> install

Every input is checked before the search starts (`retrain`'s first lines).
"""

from __future__ import annotations

import datetime
import platform
import shlex
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import keras
import keras_tuner as kt
import numpy as np
import pandas as pd
import tensorflow as tf

from digitize.classifier import load_digit_model
from digitize.errors import ModelError
from digitize.messages import one_line
from digitize.model_files import CARD_NAME, MODEL_NAME, SHIPPED_DIR, read_card, user_model_dir
from digitize.output import atomic_write
from model_training import rungs, search
from model_training.batch_norm import precise_batch_norm
from model_training.dataset import load_extra_digits, training_data
from model_training.evaluate import Evaluation, evaluate, write_report
from model_training.export import InstallDecision, decide, install, installed_accuracy
from model_training.hypermodel import DigitHyperModel, fixed_hyperparameters, train_model
from model_training.mnist import Split, canonical_checksums, load_split, resolve_mnist_dir
from model_training.search_space import SearchSpace, load_space, parse_fixes

RESULTS_CSV = "search_results.csv"
# With extra digits the model is meant to change; it may give up this much MNIST test accuracy.
EXTRA_DIGITS_TOLERANCE = 0.001


@dataclass
class RetrainOptions:
    space: str = "narrow"
    fixes: list[str] = field(default_factory=list)
    mnist_dir: Path | None = None
    train_limit: int | None = None  # training digits per tuning trial (None: all)
    epochs: int = 4  # epochs per tuning trial
    final_epochs: int = 30
    final_train_limit: int | None = None  # None: the full training split
    validation_fraction: float = 0.1
    extra_digits: Path | None = None
    search_dir: Path = Path("digitize-search")
    overwrite: bool = False
    no_search: bool = False  # train the installed model's architecture, skip the grid search
    max_trials: int | None = None
    rungs: int = 1  # successive-halving rungs (model_training/rungs.py); 1: one grid search
    resume_from: Path | None = None  # a search_results.csv whose trials count as run
    model_dir: Path | None = None  # None: the user's model directory
    force: bool = False
    seed: int = 0


@dataclass
class RetrainResult:
    results: pd.DataFrame
    report_dir: Path | None = None
    test_accuracy: float | None = None
    decision: InstallDecision | None = None
    extra_accuracy: dict[str, float] = field(default_factory=dict)


def retrain(options: RetrainOptions) -> RetrainResult:
    keras.utils.set_random_seed(options.seed)
    # Usage errors first, then every input a late step needs: nothing may fail after hours of
    # search and training for a reason that was there to see at the start.
    pins = parse_fixes(options.fixes)
    space = None if options.no_search else load_space(options.space).with_fixed(pins)
    extra = None if options.extra_digits is None else load_extra_digits(options.extra_digits)
    model_dir = options.model_dir or user_model_dir()
    baseline_dir = model_dir if read_card(model_dir) else SHIPPED_DIR
    installed_accuracy(baseline_dir)  # a card without its accuracy fails now, not at install
    previous = None  # the model the extra digits' held-out part is compared with, loaded now
    if extra is not None:
        if not (baseline_dir / MODEL_NAME).is_file():
            raise ModelError(
                f"{baseline_dir / MODEL_NAME}: no model to compare the extra digits with"
            )
        previous = load_digit_model(baseline_dir / MODEL_NAME)
    mnist_dir = resolve_mnist_dir(options.mnist_dir)
    if space is None:
        best, results = _installed_architecture(baseline_dir, pins), pd.DataFrame()
        project_dir, space_name = Path(options.search_dir) / "no-search", "none"
        rungs_run: list[dict] = []
        project_dir.mkdir(parents=True, exist_ok=True)
    else:
        outcome = _search(space, options, mnist_dir)
        if outcome is None:
            print("Worker finished: the chief trains and installs the winner.", flush=True)
            return RetrainResult(results=pd.DataFrame())
        best, results, project_dir, space_name, rungs_run = outcome

    final = training_data(
        mnist_dir, options.validation_fraction, options.final_train_limit, extra, seed=options.seed
    )
    print(f"Training the winner on {len(final.train)} digits", flush=True)
    started = time.monotonic()
    model = DigitHyperModel().build(best)
    history = train_model(model, best, final.train, final.validation, options.final_epochs)
    batch_norm = precise_batch_norm(model, final)
    seconds = time.monotonic() - started

    evaluation = evaluate(model, load_split(mnist_dir, "test"))
    print(f"MNIST test accuracy: {evaluation.accuracy:.2%}", flush=True)
    report_dir = project_dir / "final"
    report_files = write_report(evaluation, history.history, report_dir)
    if not results.empty:
        results.to_csv(report_dir / RESULTS_CSV, index=False)
        report_files.append(report_dir / RESULTS_CSV)

    extra_accuracy = _extra_accuracy(model, final.extra_held_out, previous)
    for when, value in extra_accuracy.items():
        print(f"Held-out extra digits, {when}: {value:.2%}", flush=True)

    card = _card(
        options,
        space_name,
        mnist_dir,
        best,
        evaluation,
        history,
        seconds,
        final,
        extra_accuracy,
        len(results),
    )
    card["training"]["batch_norm_recomputed"] = batch_norm
    if rungs_run:
        card["search"]["rungs"] = rungs_run
    tolerance = EXTRA_DIGITS_TOLERANCE if options.extra_digits else 0.0
    decision = decide(evaluation.accuracy, baseline_dir, tolerance, options.force)
    if decision.installed:
        install(model, card, report_files, model_dir)
        print(f"Installed into {model_dir}: {decision.reason}", flush=True)
    else:
        print(f"Not installed: {decision.reason}. Report in {report_dir}", flush=True)
    return RetrainResult(results, report_dir, evaluation.accuracy, decision, extra_accuracy)


def _search(space: SearchSpace, options: RetrainOptions, mnist_dir: Path):
    """The grid search; (best hyperparameters, results, project dir, space name, the rungs
    run), or None on a distributed worker, whose part ends with the search."""
    print(f"Search space {space.name!r}: {space.grid_size()} grid points", flush=True)
    # Read before the search: a wrong file is said at once, not after hours.
    known = None if options.resume_from is None else rungs.read_known(options.resume_from)
    if options.rungs > 1:
        return _search_rungs(space, options, mnist_dir, known)
    tuning = training_data(
        mnist_dir, options.validation_fraction, options.train_limit, seed=options.seed
    )
    # One grid is rung 0 of a one-rung schedule: its table records the budget as theirs do.
    whole_grid = rungs.Rung(0, space.grid_size(), options.train_limit, options.epochs)

    def write_results(tuner: kt.Tuner) -> pd.DataFrame:
        """The results so far to the project's RESULTS_CSV (after every trial: read while a
        search runs, and what a search moved to another machine resumes from)."""
        results = rungs.labelled(search.results_table(tuner), whole_grid)
        with atomic_write(Path(tuner.project_dir) / RESULTS_CSV) as stream:
            results.to_csv(stream, index=False)
        return results

    # A distributed worker's oracle is the chief's, over the network: only the chief may
    # adopt or read the trials (it runs none, so it writes the table when the search ends).
    worker = search.is_worker()
    tuner = search.make_tuner(
        space,
        options.search_dir,
        options.overwrite,
        options.max_trials,
        options.seed,
        record=None if worker else write_results,
    )
    if known is not None and not worker:
        adopted = tuner.oracle.adopt(rungs.finished_elsewhere(known, whole_grid))
        tuner.save()  # a rerun reloads a project only where the tuner's own file is
        print(f"{adopted} trials taken from {options.resume_from}", flush=True)
    search.run_search(tuner, tuning.train, tuning.validation, options.epochs)
    if worker:
        return None
    project_dir = Path(tuner.project_dir)
    results = write_results(tuner)
    print(results.to_string(index=False), flush=True)
    return search.best_hyperparameters(tuner), results, project_dir, space.name, []


def _search_rungs(
    space: SearchSpace, options: RetrainOptions, mnist_dir: Path, known: pd.DataFrame | None
):
    """`_search` in successive-halving rungs; the rungs run are those with a finished trial
    (fewer than planned when --max-trials stopped the search)."""
    rungs.check_single_machine(options.rungs)  # before loading the training split
    full = training_data(mnist_dir, options.validation_fraction, seed=options.seed)
    plan = rungs.plan_rungs(
        space.grid_size(), options.rungs, options.train_limit, options.epochs, len(full.train)
    )
    best, results, project_dir = rungs.run_rungs(
        space,
        options.search_dir,
        plan,
        full,
        options.seed,
        options.overwrite,
        options.max_trials,
        known,
    )
    print(results.to_string(index=False), flush=True)
    reached = set(results["rung"])
    return best, results, project_dir, space.name, [asdict(r) for r in plan if r.index in reached]


def _installed_architecture(model_dir: Path, pins: dict[str, object]) -> kt.HyperParameters:
    """--no-search: the hyperparameters of the model in `model_dir` (from its card), with
    any --fix applied on top."""
    card = read_card(model_dir) or {}
    if not isinstance(card.get("hyperparameters"), dict):
        raise ModelError(f"{model_dir / CARD_NAME}: the model card names no hyperparameters")
    values = {**card["hyperparameters"], **pins}
    try:
        hyperparameters = fixed_hyperparameters(values)
    except ValueError as error:  # a value that is no hyperparameter (null, a list)
        raise ModelError(
            f"{model_dir / CARD_NAME}: the model card's hyperparameters cannot be used "
            f"({one_line(error)})"
        ) from None
    print(f"No search: the architecture of the model in {model_dir}", flush=True)
    return hyperparameters


def _extra_accuracy(
    model: keras.Model, held_out: Split | None, previous: keras.Model | None
) -> dict[str, float]:
    """Accuracy on the held-out extra digits: of the model in use before, and of the new one."""
    if held_out is None or previous is None:
        return {}
    return {
        "before": evaluate(previous, held_out).accuracy,
        "after": evaluate(model, held_out).accuracy,
    }


def _card(
    options,
    space_name,
    mnist_dir,
    best: kt.HyperParameters,
    evaluation: Evaluation,
    history,
    seconds,
    final,
    extra_accuracy,
    trials,
) -> dict:
    return {
        "model": MODEL_NAME,
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": shlex.join(["digitize", *sys.argv[1:]]),
        "test_accuracy": round(evaluation.accuracy, 6),
        "per_class": evaluation.per_class.to_dict(orient="records"),
        "hyperparameters": best.values,
        "search": {
            "space": space_name,
            "trials": trials,
            "train_limit": options.train_limit,
            "epochs_per_trial": options.epochs,
        },
        "training": {
            "train_digits": len(final.train),
            "validation_digits": len(final.validation),
            "extra_digits": final.extra_count,
            "extra_held_out_accuracy": extra_accuracy,
            "epochs_run": len(history.epoch),
            "best_val_accuracy": float(np.max(history.history["val_accuracy"])),
            "seconds": round(seconds, 1),
        },
        "data": {"mnist_dir": str(mnist_dir), "sha256": canonical_checksums()},
        "versions": {
            "python": platform.python_version(),
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "keras_tuner": kt.__version__,
            "numpy": np.__version__,
        },
        "machine": f"{platform.machine()}, {platform.node()}",
    }
