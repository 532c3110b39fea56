"""Inputs to pages: expand the command line into files, then yield each file's pages one by one.

Broken input is expected, not exceptional: every way a file can fail to give pages ends in an
`InputError` whose message is one line naming the reason, raised before or between pages so
the pages already read are kept.
"""

from __future__ import annotations

import errno
import glob
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pdf2image
import pdf2image.exceptions
from PIL import Image, ImageOps, UnidentifiedImageError

from digitize.errors import InputError
from digitize.messages import one_line

PDF_SUFFIXES = {".pdf"}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff"}
SUPPORTED_SUFFIXES = PDF_SUFFIXES | IMAGE_SUFFIXES
# Pillow's own limit (89 megapixels): a letter page at 600 DPI is 34. Anything beyond is a
# mistake or an attack (a decompression bomb: a small file whose header claims 60000x60000).
MAX_PIXELS: int = Image.MAX_IMAGE_PIXELS or 178_956_970  # Pillow's default, if unset
RASTERIZE_TIMEOUT_S = 120  # per page; a pathological PDF must not hang the batch


@dataclass(frozen=True)
class Page:
    file: str  # as given on the command line (or found in a directory given there)
    number: int  # 1-based
    image: np.ndarray  # grayscale uint8, paper white
    # Pixels per inch: the --dpi a PDF was rasterized at, an image's own resolution metadata,
    # or None when the file does not say (then the page size is the only guide).
    dpi: float | None = None


@dataclass(frozen=True)
class Inputs:
    files: list[str]
    missing: list[tuple[str, str]]  # (argument, reason) for arguments that name no input


def expand_inputs(arguments: list[str]) -> Inputs:
    """Files to read, in order, from file paths, directories (recursively) and globs; what
    names nothing, and every folder that cannot be read, is in `missing` with the reason."""
    files: list[str] = []
    missing: list[tuple[str, str]] = []
    for argument in arguments:
        try:
            found, problems = _expand_argument(argument)
        except OSError as error:  # e.g. under a folder that may not be searched
            found, problems = [], [(argument, f"cannot read it ({_os_reason(error)})")]
        files.extend(found)
        missing.extend(problems)
    unique = list(dict.fromkeys(files))  # the same file named twice is read once
    return Inputs(files=unique, missing=missing)


def _expand_argument(argument: str) -> tuple[list[str], list[tuple[str, str]]]:
    path = Path(argument)
    if path.is_dir():
        found, unreadable = _files_in_folder(path)
        if not found and not unreadable:
            return [], [(argument, "directory holds no PDF, PNG, JPEG or TIFF files")]
        return found, unreadable
    if path.exists():
        return [argument], []
    if glob.has_magic(argument):
        # The shell expands globs, but not on every platform or inside quotes.
        matches = sorted(glob.glob(argument, recursive=True))
        if not matches:
            return [], [(argument, "no file matches this pattern")]
        return [m for m in matches if Path(m).is_file()], []
    return [], [(argument, "no such file or directory")]


def _files_in_folder(folder: Path) -> tuple[list[str], list[tuple[str, str]]]:
    """The supported files under `folder`, sorted, and the folders in it that cannot be read
    (each a line for the user: skipping them without a word loses their files unseen)."""
    if _refused(folder):
        return [], [(str(folder), "cannot read folder (permission denied)")]
    files: list[str] = []
    unreadable: list[tuple[str, str]] = []

    def cannot_list(error: OSError) -> None:
        where = str(error.filename or folder)
        unreadable.append((where, f"cannot read folder ({_os_reason(error)})"))

    for parent, subfolders, names in os.walk(folder, onerror=cannot_list):
        here = Path(parent)
        for name in [name for name in subfolders if _refused(here / name)]:
            unreadable.append((str(here / name), "cannot read folder (permission denied)"))
            subfolders.remove(name)
        files.extend(
            str(here / name)
            for name in names
            if Path(name).suffix.lower() in SUPPORTED_SUFFIXES and _is_file(here / name)
        )
    return sorted(files), sorted(unreadable)


def _refused(folder: Path) -> bool:
    # Asked before listing, as for files (count_pages): os.walk does not follow links to
    # folders, so those are never listed and need no answer.
    return not folder.is_symlink() and not os.access(folder, os.R_OK | os.X_OK)


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:  # there but not to be looked at: reading it will say why
        return True


def _os_reason(error: OSError) -> str:
    return error.strerror.lower() if error.strerror else one_line(error)


def count_pages(file: str, dpi: int = 300) -> int:
    """How many pages a file has, checking on the way that it can be read at all.

    Each page's size (at `dpi`, for a PDF) is checked when it is loaded: a PDF's pages each
    have their own, and one page too large must not cost the others."""
    path = Path(file)
    if not os.access(path, os.R_OK):
        raise InputError("cannot read file (permission denied)")
    if path.stat().st_size == 0:
        raise InputError("file is empty (0 bytes)")
    if _looks_like_pdf(path):
        pages = int(_pdf_info(file).get("Pages", 0))
        if pages == 0:
            raise InputError("PDF has no pages")
        return pages
    with _open_image(file) as image, _decoding("cannot count its pages"):
        # A TIFF's pages are counted by reading every page's directory: each may be damaged.
        return int(getattr(image, "n_frames", 1))


def load_page(file: str, number: int, dpi: int = 300) -> Page:
    """Page `number` (1-based) of a file whose pages were counted by `count_pages`."""
    if _looks_like_pdf(Path(file)):
        return Page(file=file, number=number, image=_load_pdf_page(file, number, dpi), dpi=dpi)
    with _open_image(file) as image:
        resolution = image_dpi(image)
        # Truncated files fail here, when the pixel data is actually decoded.
        with _decoding(f"page {number}"):
            image.seek(number - 1)
            pixels = page_pixels(image)
    return Page(file=file, number=number, image=pixels, dpi=resolution)


SIXTEEN_BIT_MODES = {"I;16", "I;16B", "I;16L", "I;16N"}


def page_pixels(image: Image.Image) -> np.ndarray:
    """The page as a person sees it, grayscale uint8, paper white: turned upright as its EXIF
    Orientation says (phones store pages sideways), 16-bit grey scaled to 8 bits, transparent
    paper laid on white. Pillow's plain convert("L") clips 16-bit grey to white and drops the
    alpha, so that a transparent page of black paint reads all black."""
    upright = ImageOps.exif_transpose(image)
    if upright.mode in SIXTEEN_BIT_MODES or upright.mode == "I":
        return _eight_bits(upright)
    if upright.has_transparency_data:
        paper = Image.new("RGBA", upright.size, "white")
        return np.asarray(Image.alpha_composite(paper, upright.convert("RGBA")).convert("L"))
    return np.asarray(upright.convert("L"))


def _eight_bits(image: Image.Image) -> np.ndarray:
    grey = np.asarray(image).astype(np.int64)
    # Mode "I" (32-bit) holds 16-bit grey from some writers and 8-bit grey from others: only
    # values beyond 8 bits say which.
    if image.mode == "I" and grey.max(initial=0) <= 255:
        return np.clip(grey, 0, 255).astype(np.uint8)
    return ((np.clip(grey, 0, 65535) + 128) // 257).astype(np.uint8)  # 257 * k -> k


# Resolution metadata below this is a placeholder (72 and 96 are screen defaults written by
# tools that do not know the scan's resolution), not a scanner's setting: no scan of a form
# readable by digitize is under 100 DPI.
MIN_CREDIBLE_DPI = 100
MAX_CREDIBLE_DPI = 2400


def image_dpi(image: Image.Image) -> float | None:
    """An image's own resolution (PNG pHYs, JPEG JFIF/EXIF, TIFF tags), if credible."""
    value = image.info.get("dpi")
    if not value:
        return None
    try:
        horizontal, vertical = (float(v) for v in value)
    except (TypeError, ValueError):
        return None
    # PNG stores pixels per metre: 300 DPI reads back as 299.9994.
    dpi = round(min(horizontal, vertical), 1)
    return dpi if MIN_CREDIBLE_DPI <= dpi <= MAX_CREDIBLE_DPI else None


def _looks_like_pdf(path: Path) -> bool:
    # By content, not name: a "scan.pdf" that is really a JPEG is still read.
    with path.open("rb") as handle:
        return handle.read(1024).lstrip().startswith(b"%PDF")


def _load_pdf_page(file: str, number: int, dpi: int) -> np.ndarray:
    """Page `number` rasterized, its size checked before (a bomb is never rendered) and after
    (poppler answers a page it cannot allocate with a 1x1 image, which would read as blank)."""
    width_pt, height_pt = _pdf_page_points(file, number)
    expected = (round(width_pt * dpi / 72), round(height_pt * dpi / 72))
    if expected[0] * expected[1] > MAX_PIXELS:
        raise InputError(
            f"page {number}: page is {width_pt / 72:.0f}x{height_pt / 72:.0f} inches; at {dpi} "
            f"DPI that is over {MAX_PIXELS // 1_000_000} megapixels (lower --dpi)"
        )
    pixels = _rasterize(file, number, dpi)
    rendered = (pixels.shape[1], pixels.shape[0])
    if max(abs(rendered[0] - expected[0]), abs(rendered[1] - expected[1])) > 2:
        raise InputError(
            f"page {number}: poppler rendered {rendered[0]}x{rendered[1]} pixels, not the "
            f"{expected[0]}x{expected[1]} of the page at {dpi} DPI (damaged PDF?)"
        )
    return pixels


def _pdf_page_points(file: str, number: int) -> tuple[float, float]:
    """Width and height, in points as shown, of the box `_rasterize` renders: the CropBox
    (within the MediaBox), which pdfinfo gives as the page's size, turned by /Rotate."""
    try:
        info = _pdf_info(file, number)
    except InputError as error:
        raise InputError(f"page {number}: {error}") from None
    try:
        width, _, height = str(info[f"Page {number:4d} size"]).split()[:3]
        size = (float(width), float(height))
        rotation = int(info.get(f"Page {number:4d} rot", 0))
    except (KeyError, ValueError):
        raise InputError(f"page {number}: pdfinfo gives no size for it (damaged PDF?)") from None
    if not all(0 < side < float("inf") for side in size):
        raise InputError(
            f"page {number}: its size is {size[0]:g}x{size[1]:g} points (damaged PDF?)"
        )
    return (size[1], size[0]) if rotation % 180 == 90 else size


def _rasterize(file: str, number: int, dpi: int) -> np.ndarray:
    try:
        images = pdf2image.convert_from_path(
            file,
            dpi=dpi,
            first_page=number,
            last_page=number,
            grayscale=True,
            # What a viewer shows and pdfinfo measures. Without it pdftoppm renders the
            # MediaBox, which may be any size behind a letter CropBox.
            use_cropbox=True,
            timeout=RASTERIZE_TIMEOUT_S,
        )
    except pdf2image.exceptions.PDFPopplerTimeoutError:
        raise InputError(f"page {number}: rasterizing took over {RASTERIZE_TIMEOUT_S} s") from None
    except Exception as error:  # pdf2image surfaces poppler's failures as several types
        raise InputError(f"page {number}: cannot rasterize ({one_line(error)})") from None
    if not images:
        raise InputError(f"page {number}: poppler produced no image (damaged PDF?)")
    return np.asarray(images[0].convert("L"))


def _pdf_info(file: str, page: int | None = None) -> dict:
    """pdfinfo's fields; with `page`, also that page's "Page    N size" and "Page    N rot"."""
    try:
        return pdf2image.pdfinfo_from_path(
            file,
            timeout=RASTERIZE_TIMEOUT_S,
            # pdf2image passes -f and -l only for a page that is not 0 (falsy).
            first_page=page or 0,
            last_page=page or 0,
        )
    except pdf2image.exceptions.PDFInfoNotInstalledError:
        raise InputError(
            "cannot read PDFs: poppler's pdfinfo is not installed "
            "(Debian: apt-get install poppler-utils)"
        ) from None
    except pdf2image.exceptions.PDFPageCountError as error:
        message = str(error).lower()
        if "incorrect password" in message or "encrypt" in message:
            raise InputError("PDF is encrypted (password protected)") from None
        if "wrong page range given" in message:
            # pdfinfo's complaint about its own page range (first page 1, last 0) when it
            # finds no pages at all: the page tree is damaged, and the line before says how.
            raise InputError(
                f"PDF has no pages poppler can find, damaged or truncated "
                f"({_poppler_reason(error)})"
            ) from None
        raise InputError(
            f"not a readable PDF, damaged or truncated ({_poppler_reason(error)})"
        ) from None
    except pdf2image.exceptions.PDFPopplerTimeoutError:
        raise InputError("reading the PDF took too long (damaged PDF?)") from None
    except Exception as error:
        raise InputError(f"not a readable PDF ({one_line(error)})") from None


def _poppler_reason(error: Exception) -> str:
    """Poppler's last line on stderr that says why, without pdf2image's first line ("Unable
    to get page count.") or pdfinfo's page-range complaint that follows a damaged page tree."""
    lines = [
        line
        for line in str(error).strip().splitlines()[1:]
        if line.strip() and "wrong page range given" not in line.lower()
    ]
    return lines[-1][:200] if lines else one_line(error, last=True)


def _open_image(file: str) -> Image.Image:
    try:
        with warnings.catch_warnings():
            # Pillow only warns between its limit and twice it; we treat both as too big.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(file)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise InputError(f"image too large to decode ({one_line(error)})") from None
    except UnidentifiedImageError:
        raise InputError(
            "not a PDF or an image Pillow can read (unknown or damaged format)"
        ) from None
    except Exception as error:
        raise _decoding_error("cannot open image", error) from None
    if image.width * image.height > MAX_PIXELS:
        image.close()
        raise InputError(_too_big_message(image.size))
    return image


def _too_big_message(size: tuple[int, int]) -> str:
    return (
        f"image is {size[0]}x{size[1]} pixels, over the {MAX_PIXELS // 1_000_000}-megapixel "
        "limit (decompression bomb?)"
    )


@contextmanager
def _decoding(what: str) -> Iterator[None]:
    """Whatever Pillow raises on a damaged file, as that file's InputError: `what` failed."""
    try:
        yield
    except InputError:
        raise
    except Exception as error:
        raise _decoding_error(what, error) from None


def _decoding_error(what: str, error: Exception) -> InputError:
    # Pillow's format plugins fail in their own ways on damaged data (OSError, SyntaxError,
    # ValueError, TypeError, EOFError, struct.error, ...): each is the file's fault, none a bug.
    if isinstance(error, Image.DecompressionBombError | Image.DecompressionBombWarning):
        return InputError(f"{what}: image too large to decode ({one_line(error)})")
    if isinstance(error, MemoryError):
        return InputError(f"{what}: image too large to decode (out of memory)")
    if "Decompressed data too large" in str(error):  # a zTXt, iTXt or iCCP chunk
        return InputError(
            f"{what}: its metadata inflates too large to decode (decompression bomb?)"
        )
    if isinstance(error, OSError) and error.errno not in (None, errno.EINVAL):
        # The system's failure (a disk's EIO, a file gone), not the data's. A seek to where a
        # damaged table points (before the start of the file) is EINVAL: the data's.
        return InputError(f"{what}: cannot read file ({_os_reason(error)})")
    return InputError(
        f"{what}: image data is damaged or truncated ({type(error).__name__}: {one_line(error)})"
    )
