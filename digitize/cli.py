"""The `digitize` command. It parses arguments and calls library functions, nothing more."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from digitize.decision import DEFAULT_REVIEW_BELOW
from digitize.errors import DigitizeError, UsageError
from digitize.exit_codes import ExitCode
from digitize.tensorflow_startup import quiet_tensorflow_startup
from digitize.wide_layout import Layout

app = typer.Typer(
    help="Read handwritten numbers in scanned forms into a CSV.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # option help says "[default: ...]"; rich would eat it as markup
)


@app.callback()
def main() -> None:
    """Read handwritten numbers in scanned forms into a CSV; review and retrain."""


def fail(message: str, code: ExitCode) -> typer.Exit:
    typer.echo(f"digitize: {message}", err=True)
    return typer.Exit(int(code))


@contextmanager
def reported(interrupted: str) -> Iterator[None]:
    """The one place errors become what the user sees: a DigitizeError is its one line and
    its exit code; Ctrl-C says what was kept (`interrupted`). Anything else is a bug and
    keeps its traceback."""
    try:
        yield
    except DigitizeError as error:
        raise fail(str(error), error.exit_code) from None
    except KeyboardInterrupt:
        raise fail(f"interrupted; {interrupted}", ExitCode.INTERRUPTED) from None


@app.command()
def scan(
    inputs: Annotated[
        list[str],
        typer.Argument(
            help="PDF, PNG, JPEG or TIFF files, directories (searched recursively) or globs.",
            show_default=False,
        ),
    ],
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            help="The file to write: .csv (default), .xlsx (Excel) or .jsonl (JSON lines).",
        ),
    ],
    errors: Annotated[
        Path | None,
        typer.Option(
            help="CSV listing the files that could not be read [default: <out>-errors.csv]."
        ),
    ] = None,
    dpi: Annotated[
        int,
        typer.Option(
            min=72, max=1200, help="Resolution for rasterizing PDFs (images keep their own)."
        ),
    ] = 300,
    review_below: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=1.0,
            help="Flag a field for review when a digit's confidence is below this.",
        ),
    ] = DEFAULT_REVIEW_BELOW,
    crops: Annotated[
        Path | None,
        typer.Option(help="Save each field's image into DIR; the CSV's crop column names it."),
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Keep the rows already in --out and skip their files.")
    ] = False,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Worker processes [default: the machine's cores].")
    ] = None,
    model_dir: Annotated[
        Path | None,
        typer.Option(
            help="Use the model in DIR [default: retrained model if any, else the shipped one]."
        ),
    ] = None,
    template: Annotated[
        Path | None,
        typer.Option(
            help="Name the fields by this form template (`digitize template make`) and check its rules."
        ),
    ] = None,
    labels: Annotated[
        bool,
        typer.Option(
            "--labels/--no-labels", help="Read each field's printed label (tesseract-ocr)."
        ),
    ] = True,
    layout: Annotated[
        Layout,
        typer.Option(help="long: a row per field; wide: a row per page, a column per field."),
    ] = Layout.LONG,
    cluster: Annotated[
        str | None,
        typer.Option(
            envvar="DIGITIZE_CLUSTER",
            metavar="ADDRESS",
            help="Read the pages on the workers of this Dask scheduler (tcp://HOST:8786); inputs must be at the same paths there.",
        ),
    ] = None,
) -> None:
    """Read the handwritten numbers in the boxes of scanned forms into a CSV."""
    from digitize.progress import ScanProgress
    from digitize.scan import ScanOptions
    from digitize.scan import scan as run_scan

    options = ScanOptions(
        inputs=inputs,
        out=out,
        errors=errors,
        dpi=dpi,
        review_below=review_below,
        crops=crops,
        resume=resume,
        workers=workers,
        model_dir=model_dir,
        template=template,
        labels=labels,
        layout=layout,
        cluster=cluster,
    )
    interrupted = f"finished files are in {out}: rerun with --resume to go on"
    if layout is Layout.WIDE:  # a wide output cannot be read back: its files are read again
        interrupted = f"finished files are in {out}; a wide output cannot be resumed"
    with reported(interrupted), ScanProgress() as progress:
        summary = run_scan(options, progress)
    typer.echo(summary.describe(out, options.errors_path), err=True)
    if summary.failed:
        raise typer.Exit(int(ExitCode.INPUT_FAILED))


@app.command()
def score(
    entries: Annotated[
        Path, typer.Argument(help="An entries CSV written by `digitize scan`.", show_default=False)
    ],
    truth: Annotated[
        Path, typer.Argument(help="The truth CSV (e.g. samples/truth.csv).", show_default=False)
    ],
    mistakes: Annotated[
        bool, typer.Option("--mistakes", help="Also list every wrong or missed field.")
    ] = False,
) -> None:
    """Compare a scan's CSV with the truth: field exact-match, digit accuracy, review flags."""
    from digitize.scoring import OUTPUT_COLUMNS, read_csv_for_scoring
    from digitize.scoring import score as run_score

    with reported("nothing was written"):
        result = run_score(
            read_csv_for_scoring(entries, OUTPUT_COLUMNS), read_csv_for_scoring(truth)
        )
    typer.echo(result.summary())
    if mistakes and not result.mistakes.empty:
        typer.echo("\n" + result.mistakes.to_string(index=False))


@app.command()
def retrain(
    space: Annotated[
        str, typer.Option(help="Search space: a name in model_training/spaces or a .toml path.")
    ] = "narrow",
    fix: Annotated[
        list[str] | None,
        typer.Option("--fix", help="Pin a hyperparameter: name=value (repeatable)."),
    ] = None,
    mnist_dir: Annotated[
        Path | None,
        typer.Option(
            help="Directory with the MNIST IDX files or mnist.npz [default: $DIGITIZE_MNIST_DIR, else download]."
        ),
    ] = None,
    train_limit: Annotated[
        int | None,
        typer.Option(min=100, help="Training digits per tuning trial [default: all]."),
    ] = None,
    epochs: Annotated[int, typer.Option(min=1, help="Epochs per tuning trial.")] = 4,
    final_epochs: Annotated[
        int, typer.Option(min=1, help="Epochs (at most) for training the winner.")
    ] = 30,
    final_train_limit: Annotated[
        int | None,
        typer.Option(
            min=100, help="Training digits for the winner [default: the full training split]."
        ),
    ] = None,
    extra_digits: Annotated[
        Path | None,
        typer.Option(help="Add labelled digits from DIR/<label>/*.png (e.g. review corrections)."),
    ] = None,
    search_dir: Annotated[
        Path, typer.Option(help="Where the search keeps its state; a rerun resumes from it.")
    ] = Path("digitize-search"),
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Start the search afresh instead of resuming.")
    ] = False,
    no_search: Annotated[
        bool,
        typer.Option(
            "--no-search",
            help="Skip the search: train the installed model's architecture (e.g. with --extra-digits).",
        ),
    ] = False,
    max_trials: Annotated[
        int | None, typer.Option(min=1, help="Stop the search after this many trials in all.")
    ] = None,
    rungs: Annotated[
        int,
        typer.Option(
            min=1,
            help="Successive-halving rungs: 1 is one grid search; N keeps the best third of each rung and runs it again at 3x the budget.",
        ),
    ] = 1,
    resume_from: Annotated[
        Path | None,
        typer.Option(
            help="Count the trials in this search_results.csv (e.g. from another machine) as run.",
        ),
    ] = None,
    model_dir: Annotated[
        Path | None, typer.Option(help="Install into DIR [default: the user model directory].")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Install even if the new model is less accurate.")
    ] = False,
    seed: Annotated[
        int, typer.Option(help="Random seed for splits, shuffling and initialisation.")
    ] = 0,
) -> None:
    """Rebuild the digit recognizer: grid search, full training, evaluation, install."""
    if extra_digits is not None:
        from model_training.dataset import load_extra_digits

        # A wrong folder is said in a second, before TensorFlow loads (~6 s on 2 cores);
        # retrain reads it again, which costs little beside the training.
        with reported("nothing was trained"):
            load_extra_digits(extra_digits)
    with quiet_tensorflow_startup():
        from model_training.retrain import RetrainOptions
        from model_training.retrain import retrain as run_retrain

    options = RetrainOptions(
        space=space,
        fixes=fix or [],
        mnist_dir=mnist_dir,
        train_limit=train_limit,
        epochs=epochs,
        final_epochs=final_epochs,
        final_train_limit=final_train_limit,
        extra_digits=extra_digits,
        search_dir=search_dir,
        overwrite=overwrite,
        no_search=no_search,
        max_trials=max_trials,
        rungs=rungs,
        resume_from=resume_from,
        model_dir=model_dir,
        force=force,
        seed=seed,
    )
    with reported("run the same command again to resume the search"):
        result = run_retrain(options)
    if result.decision is not None and not result.decision.installed:
        raise typer.Exit(int(ExitCode.NOT_INSTALLED))


@app.command()
def review(
    entries: Annotated[
        Path, typer.Argument(help="An entries CSV written by `digitize scan`.", show_default=False)
    ],
    all_fields: Annotated[
        bool, typer.Option("--all", help="Review every field, not only the flagged ones.")
    ] = False,
    apply: Annotated[
        Path | None,
        typer.Option(
            "--apply",
            help="Merge a CSV of file,page,field,reviewed_value instead of opening the review page.",
        ),
    ] = None,
    export_digits: Annotated[
        Path | None,
        typer.Option(
            help="Write the digits of reviewed fields as DIR/<label>/*.png [default: <entries stem>-digits beside the CSV]."
        ),
    ] = None,
    reopen: Annotated[
        bool,
        typer.Option(
            "--reopen", help="Open the page even when every field is decided, to change decisions."
        ),
    ] = False,
    group_by_digit: Annotated[
        bool,
        typer.Option(
            "--group-by-digit",
            help="Start grouped by the predicted value of each field's least certain digit.",
        ),
    ] = False,
    dpi: Annotated[
        int,
        typer.Option(
            min=72,
            max=1200,
            help="Resolution for re-reading PDF pages (crops not saved by the scan).",
        ),
    ] = 300,
    model_dir: Annotated[
        Path | None,
        typer.Option(
            help="Use the model in DIR for re-read fields [default: retrained model if any, else the shipped one]."
        ),
    ] = None,
) -> None:
    """Check flagged fields in a local web page (or merge a corrections CSV); export the
    confirmed digits for retraining."""
    from digitize.classifier import KerasModel
    from digitize.review.session import ReviewOptions
    from digitize.review.session import review as run_review

    options = ReviewOptions(
        entries=entries,
        review_all=all_fields,
        apply=apply,
        export_digits=export_digits,
        group_by_digit=group_by_digit,
        reopen=reopen,
        dpi=dpi,
        classifier=KerasModel(model_dir) if model_dir else None,
    )
    with reported(f"the decisions are saved in {entries}"):
        summary = run_review(
            options,
            announce=typer.echo,  # the one stdout line: a script reads the URL from it
            warn=lambda message: typer.echo(f"digitize: {message}", err=True),
        )
    typer.echo(summary.describe(), err=True)


template_app = typer.Typer(
    help="Form templates: the fields of a form that comes back again and again, by name.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(template_app, name="template")


@template_app.command("make")
def template_make(
    form: Annotated[
        Path,
        typer.Argument(help="A scanned page of the form, blank or filled.", show_default=False),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="The template (.toml) to write.")],
    page: Annotated[int, typer.Option(min=1, help="Which page of FORM.")] = 1,
    dpi: Annotated[int, typer.Option(min=72, max=1200, help="Resolution for PDFs.")] = 300,
    model_dir: Annotated[
        Path | None,
        typer.Option(help="Use the model in DIR [default: retrained model if any, else shipped]."),
    ] = None,
) -> None:
    """Write a form template from one scanned page: each field's box, kind and printed label
    as its name, with rule slots for a person to fill in."""
    from digitize.classifier import KerasModel
    from digitize.model_files import active_model_dir
    from digitize.template_making import make_template

    with reported("nothing was written"):
        made, missing = make_template(
            form, out, page, dpi, KerasModel(model_dir or active_model_dir())
        )
    if missing is not None:
        typer.echo(f"digitize: {missing}; fields are named field_N", err=True)
    named = sum(not f.name.startswith("field_") for f in made.fields)
    typer.echo(
        f"Wrote {out}: {len(made.fields)} fields, {named} named by their printed labels", err=True
    )


@app.command("reset-model")
def reset_model() -> None:
    """Go back to the shipped model: the retrained one is moved aside, not deleted."""
    from digitize.model_files import SHIPPED_DIR, retire_user_model, user_model_dir

    with reported("nothing was moved"):
        try:
            moved_to = retire_user_model()
        except OSError as error:
            raise UsageError(
                f"cannot move the retrained model aside: {error.strerror or error}"
            ) from None
    if moved_to is None:
        typer.echo(
            f"No retrained model in {user_model_dir()}: the shipped model "
            f"({SHIPPED_DIR}) is already in use",
            err=True,
        )
    else:
        typer.echo(
            f"The retrained model was moved to {moved_to}; scans use the shipped "
            f"model ({SHIPPED_DIR}) again",
            err=True,
        )
