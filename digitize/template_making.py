"""`digitize template make`: a form template written from one scanned page, blank or filled.

The page is read as a scan reads it; every field found becomes a `[[field]]` of the template,
named by its printed label (digitize.labels; `field_N` where none was read), with its kind,
its box and, for a comb, its cells. The rules are left for a person to fill in.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from digitize.classifier import ClassifierLoader
from digitize.errors import InputError, UsageError
from digitize.field_names import unique_names
from digitize.labels import read_labels, tesseract_missing
from digitize.output import check_writable_folder, same_file, writable_text
from digitize.pages import count_pages, load_page
from digitize.reading import read_page
from digitize.template import Template, TemplateField, write_template


def make_template(
    form: Path, out: Path, page: int, dpi: int, loader: ClassifierLoader
) -> tuple[Template, str | None]:
    """The template of `form`'s page `page`, written to `out`; with the reason its names are
    field numbers when printed labels cannot be read (no tesseract), else None."""
    name = writable_text(str(form))
    _check_paths(form, out)
    try:
        pages = count_pages(str(form), dpi)
        if not 1 <= page <= pages:
            raise UsageError(f"--page {page}: {name} has {pages} page(s)")
        loaded = load_page(str(form), page, dpi)
    except InputError as error:
        raise InputError(f"{name}: {error}") from None
    except OSError as error:
        raise InputError(f"{name}: cannot read file ({error.strerror or error})") from None
    reading = read_page(loaded, loader())
    # Ink outside every box is no part of the form (the template's page is filled in).
    reading = replace(reading, fields=[f for f in reading.fields if f.kind != "unboxed"])
    if not reading.fields:
        raise InputError(f"{name}: page {page} has no fields to make a template of")
    missing = tesseract_missing()
    labels = read_labels(reading) if missing is None else [""] * len(reading.fields)
    names = unique_names(labels, (found.field for found in reading.fields))
    height, width = loaded.image.shape[:2]
    template = Template(
        fields=tuple(
            TemplateField(name=name, kind=found.kind, box=found.box, cells=max(1, found.cells))
            for name, found in zip(names, reading.fields)
        ),
        aspect=round(height / width, 4),
        source=f"{writable_text(str(form))}, page {page}",
    )
    try:
        write_template(template, out)
    except OSError as error:
        raise UsageError(
            f"--out {writable_text(str(out))}: cannot write ({error.strerror or error})"
        ) from None
    return template, missing


def _check_paths(form: Path, out: Path) -> None:
    """A form that is no file, or an --out that would destroy it or cannot be written: one
    line, before the page is read."""
    name = writable_text(str(form))
    if not form.exists():
        raise InputError(f"{name}: no such file")
    if not form.is_file():
        raise InputError(f"{name}: is a folder, not a scanned form")
    if out.is_dir():
        raise UsageError(f"--out {writable_text(str(out))}: is a folder; give the .toml to write")
    if out.exists() and same_file(out, form):
        raise UsageError(f"--out {writable_text(str(out))}: is the form itself; give a new file")
    check_writable_folder(out.parent if str(out.parent) else Path("."), "--out")
