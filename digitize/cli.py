"""The `digitize` command. It parses arguments and calls library functions, nothing more."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from digitize.exit_codes import ExitCode
from digitize.reading import DEFAULT_REVIEW_BELOW
from digitize.tensorflow_startup import quiet_tensorflow_startup

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


@app.command()
def scan(
    inputs: Annotated[list[str], typer.Argument(help="PDF, PNG, JPEG or TIFF files, directories (searched recursively) or globs.", show_default=False)],
    out: Annotated[Path, typer.Option("--out", "-o", help="The CSV to write: one row per field.")],
    errors: Annotated[Optional[Path], typer.Option(help="CSV listing the files that could not be read [default: <out>-errors.csv].")] = None,
    dpi: Annotated[int, typer.Option(min=72, max=1200, help="Resolution for rasterizing PDFs (images keep their own).")] = 300,
    review_below: Annotated[float, typer.Option(min=0.0, max=1.0, help="Flag a field for review when a digit's confidence is below this.")] = DEFAULT_REVIEW_BELOW,
    crops: Annotated[Optional[Path], typer.Option(help="Save each field's image into DIR; the CSV's crop column names it.")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Keep the rows already in --out and skip their files.")] = False,
    workers: Annotated[Optional[int], typer.Option(min=1, help="Worker processes [default: the machine's cores].")] = None,
    model_dir: Annotated[Optional[Path], typer.Option(help="Use the model in DIR [default: retrained model if any, else the shipped one].")] = None,
) -> None:
    """Read the handwritten numbers in the boxes of scanned forms into a CSV."""
    from digitize.classifier import ModelError
    from digitize.progress import ScanProgress
    from digitize.scan import OutputError, ScanOptions, scan as run_scan

    if out.is_dir():
        raise fail(f"--out {out}: is a directory; give the CSV file to write", ExitCode.USAGE)
    files_as_folders = [p for p in out.parents if p.exists() and not p.is_dir()]
    if files_as_folders:
        raise fail(f"--out {out}: {files_as_folders[0]} is a file, not a folder", ExitCode.USAGE)
    options = ScanOptions(
        inputs=inputs, out=out, errors=errors, dpi=dpi, review_below=review_below,
        crops=crops, resume=resume, workers=workers, model_dir=model_dir,
    )
    try:
        with ScanProgress() as progress:
            summary = run_scan(options, progress.update, progress.report)
    except ModelError as error:
        raise fail(str(error), ExitCode.DATA) from None
    except OutputError as error:
        raise fail(str(error), ExitCode.USAGE) from None
    except OSError as error:  # reading errors are the files' own; this is --out, --errors or --crops
        raise fail(f"cannot write {error.filename or 'the output'}: {error.strerror or error}",
                   ExitCode.USAGE) from None
    except KeyboardInterrupt:
        raise fail(f"interrupted; finished files are in {out}: rerun with --resume to go on",
                   ExitCode.INTERRUPTED) from None
    typer.echo(summary.describe(out, options.errors_path), err=True)
    if summary.failed:
        raise typer.Exit(int(ExitCode.INPUT_FAILED))


@app.command()
def score(
    entries: Annotated[Path, typer.Argument(help="An entries CSV written by `digitize scan`.", show_default=False)],
    truth: Annotated[Path, typer.Argument(help="The truth CSV (e.g. samples/truth.csv).", show_default=False)],
    mistakes: Annotated[bool, typer.Option("--mistakes", help="Also list every wrong or missed field.")] = False,
) -> None:
    """Compare a scan's CSV with the truth: field exact-match, digit accuracy, review flags."""
    from digitize.scoring import OUTPUT_COLUMNS, read_csv_for_scoring, score as run_score

    try:
        result = run_score(read_csv_for_scoring(entries, OUTPUT_COLUMNS), read_csv_for_scoring(truth))
    except ValueError as error:
        raise fail(str(error), ExitCode.USAGE) from None
    typer.echo(result.summary())
    if mistakes and not result.mistakes.empty:
        typer.echo("\n" + result.mistakes.to_string(index=False))


@app.command()
def retrain(
    space: Annotated[str, typer.Option(help="Search space: a name in model_training/spaces or a .toml path.")] = "narrow",
    fix: Annotated[Optional[list[str]], typer.Option("--fix", help="Pin a hyperparameter: name=value (repeatable).")] = None,
    mnist_dir: Annotated[Optional[Path], typer.Option(help="Directory with the MNIST IDX files or mnist.npz [default: $DIGITIZE_MNIST_DIR, else download].")] = None,
    train_limit: Annotated[Optional[int], typer.Option(min=100, help="Training digits per tuning trial [default: all].")] = None,
    epochs: Annotated[int, typer.Option(min=1, help="Epochs per tuning trial.")] = 4,
    final_epochs: Annotated[int, typer.Option(min=1, help="Epochs (at most) for training the winner.")] = 30,
    final_train_limit: Annotated[Optional[int], typer.Option(min=100, help="Training digits for the winner [default: the full training split].")] = None,
    extra_digits: Annotated[Optional[Path], typer.Option(help="Add labelled digits from DIR/<label>/*.png (e.g. review corrections).")] = None,
    search_dir: Annotated[Path, typer.Option(help="Where the search keeps its state; a rerun resumes from it.")] = Path("digitize-search"),
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Start the search afresh instead of resuming.")] = False,
    no_search: Annotated[bool, typer.Option("--no-search", help="Skip the search: train the installed model's architecture (e.g. with --extra-digits).")] = False,
    max_trials: Annotated[Optional[int], typer.Option(min=1, help="Stop the search after this many trials in all.")] = None,
    model_dir: Annotated[Optional[Path], typer.Option(help="Install into DIR [default: the user model directory].")] = None,
    force: Annotated[bool, typer.Option("--force", help="Install even if the new model is less accurate.")] = False,
    seed: Annotated[int, typer.Option(help="Random seed for splits, shuffling and initialisation.")] = 0,
) -> None:
    """Rebuild the digit recognizer: grid search, full training, evaluation, install."""
    with quiet_tensorflow_startup():
        from model_training.mnist import MnistError
        from model_training.retrain import RetrainOptions, retrain as run_retrain
        from model_training.search_space import SearchSpaceError

    options = RetrainOptions(
        space=space, fixes=fix or [], mnist_dir=mnist_dir, train_limit=train_limit,
        epochs=epochs, final_epochs=final_epochs, final_train_limit=final_train_limit,
        extra_digits=extra_digits, search_dir=search_dir, overwrite=overwrite, no_search=no_search,
        max_trials=max_trials, model_dir=model_dir, force=force, seed=seed,
    )
    try:
        result = run_retrain(options)
    except SearchSpaceError as error:
        raise fail(str(error), ExitCode.USAGE) from None
    except MnistError as error:
        raise fail(str(error), ExitCode.DATA) from None
    except KeyboardInterrupt:
        raise fail("interrupted; run the same command again to resume the search",
                   ExitCode.INTERRUPTED) from None
    if result.decision is not None and not result.decision.installed:
        raise typer.Exit(int(ExitCode.NOT_INSTALLED))


@app.command()
def review(
    entries: Annotated[Path, typer.Argument(help="An entries CSV written by `digitize scan`.", show_default=False)],
    all_fields: Annotated[bool, typer.Option("--all", help="Review every field, not only the flagged ones.")] = False,
    apply: Annotated[Optional[Path], typer.Option("--apply", help="Merge a CSV of file,page,field,reviewed_value instead of opening the review page.")] = None,
    export_digits: Annotated[Optional[Path], typer.Option(help="Write the digits of reviewed fields as DIR/<label>/*.png [default: <entries stem>-digits beside the CSV].")] = None,
    group_by_digit: Annotated[bool, typer.Option("--group-by-digit", help="Start grouped by the predicted value of each field's least certain digit.")] = False,
    dpi: Annotated[int, typer.Option(min=72, max=1200, help="Resolution for re-reading PDF pages (crops not saved by the scan).")] = 300,
    model_dir: Annotated[Optional[Path], typer.Option(help="Use the model in DIR for re-read fields [default: retrained model if any, else the shipped one].")] = None,
) -> None:
    """Check flagged fields in a local web page (or merge a corrections CSV); export the
    confirmed digits for retraining."""
    from digitize.classifier import ModelError
    from digitize.review.corrections import apply_corrections
    from digitize.review.crops import CropSource
    from digitize.review.export import default_digits_dir, export_digits as run_export
    from digitize.review.server import serve_until_interrupted
    from digitize.review.source import SourcePages
    from digitize.review.store import ReviewError, ReviewStore

    def warn(message: str) -> None:
        typer.echo(f"digitize: {message}", err=True)

    def announce(url_line: str) -> None:
        typer.echo(url_line)  # the one line on stdout: a script can read the URL from it

    try:
        store = ReviewStore.load(entries, review_all=all_fields)
        pages = SourcePages(entries, dpi=dpi, model_dir=model_dir)
        done, total = store.counts()
        if apply is not None:
            typer.echo(apply_corrections(store, apply, warn).describe(entries), err=True)
        elif done == total:
            which = "fields" if all_fields else "flagged fields (--all reviews every field)"
            typer.echo(f"Nothing to review in {entries}: {total} {which}, {done} reviewed", err=True)
        else:
            order = "digit" if group_by_digit else "confidence"
            serve_until_interrupted(store, CropSource(store, pages), order, announce)
            typer.echo(f"Saved {store.decisions} decisions to {entries}", err=True)
    except ReviewError as error:
        raise fail(str(error), ExitCode.USAGE) from None
    except OSError as error:
        raise fail(f"{error.filename or entries}: {error.strerror or error}", ExitCode.USAGE) from None
    except KeyboardInterrupt:  # a second Ctrl-C while stopping; every decision is saved
        raise fail(f"interrupted; the decisions are saved in {entries}", ExitCode.INTERRUPTED) from None
    labelled = store.labelled_rows()
    if not labelled:
        return
    try:
        result = run_export(labelled, pages, export_digits or default_digits_dir(entries))
    except ModelError as error:
        raise fail(str(error), ExitCode.DATA) from None
    except OSError as error:
        raise fail(f"cannot write {error.filename or 'the digits'}: {error.strerror or error}",
                   ExitCode.USAGE) from None
    except KeyboardInterrupt:
        raise fail("interrupted while exporting digits; the decisions are saved, run "
                   "`digitize review` again to export", ExitCode.INTERRUPTED) from None
    typer.echo(result.describe(), err=True)
