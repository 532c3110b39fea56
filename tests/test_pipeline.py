"""The page pipeline without TensorFlow: which probability rows each digit option owns, the
decision on them, the page's DPI, and the executor that runs page tasks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from digitize.decision import choose_reading, decide_fields
from digitize.executor import LOADING_MODEL, PoolExecutor, SerialExecutor
from digitize.field_calibration import EMPTY_WITH_INK_AT_MOST
from digitize.page_task import PageTask
from digitize.pages import Page, load_page
from digitize.reading import ReadParams, read_page
from digitize.records import ReviewReason
from digitize.segmentation import segment_page
from fakes import DamagedModel, FakeClassifier, FakeModel
from synthetic_forms import form_page, write_image, write_pdf


def one_hot(digits: list[int], confidence: float = 0.999) -> np.ndarray:
    rows = np.full((len(digits), 10), (1 - confidence) / 9, np.float32)
    rows[np.arange(len(digits)), digits] = confidence
    return rows


# --- rows and the decision -----------------------------------------------------------------


def test_every_option_owns_its_own_rows_and_they_cover_the_images():
    segmented = segment_page(form_page(("42", "7", "105")), dpi=200)
    rows = [
        row
        for found in segmented.fields
        for slot in found.slots
        for option in slot.options
        for row in option.rows
    ]
    assert sorted(rows) == list(range(len(segmented.images)))  # each row owned exactly once
    for found in segmented.fields:
        for slot in found.slots:
            for option in slot.options:
                assert len(option.rows) == len(option.candidates)


def test_a_field_reads_the_rows_of_the_options_it_chose():
    """Row r is read as digit r % 10: each field's value must be its own rows' digits."""
    segmented = segment_page(form_page(("42", "7", "105")), dpi=200)
    probabilities = one_hot([row % 10 for row in range(len(segmented.images))])
    readings = decide_fields(segmented, probabilities, review_below=0.99)
    assert len(readings) == len(segmented.fields) == 3
    for found, reading in zip(segmented.fields, readings):
        chosen = []
        for slot in found.slots:
            index, _ = choose_reading([probabilities[list(o.rows)] for o in slot.options])
            chosen.extend(slot.options[index].rows)
        assert reading.value == "".join(str(row % 10) for row in chosen)
        assert np.array_equal(reading.digit_images, segmented.images[chosen])


def test_marks_that_are_no_digits_are_left_out_and_flagged():
    segmented = segment_page(form_page(("4207", "15", "")), dpi=200)
    probabilities = one_hot([row % 10 for row in range(len(segmented.images))])
    first = segmented.fields[0].slots[0].options[0].rows  # the first field's first mark
    second = [row for slot in segmented.fields[1].slots for row in slot.options[0].rows]
    not_digit = np.zeros(len(segmented.images), bool)
    not_digit[list(first) + second] = True  # an X filler before 207; the 15 is letters
    readings = decide_fields(segmented, probabilities, 0.99, not_digit)
    x_filled, letters, empty = readings
    assert len(x_filled.value) == 3 and x_filled.reasons == (ReviewReason.NOT_DIGITS,)
    assert "mark 1 of 4 is no digit" in x_filled.doubts[0].detail
    # Nothing left: empty, and never "sure" of an empty reading with ink in the box (raw 0;
    # calibrated, capped below the review threshold: 24 of 35 were right on zoo dev forms).
    assert letters.value == "" and letters.confidence <= EMPTY_WITH_INK_AT_MOST < 0.99
    assert letters.reasons == (ReviewReason.NOT_DIGITS,)
    assert empty.value == "" and not empty.needs_review


def test_probabilities_for_other_images_are_refused():
    segmented = segment_page(form_page(("42",)), dpi=200)
    with pytest.raises(ValueError, match="probability rows"):
        decide_fields(segmented, one_hot([1] * (len(segmented.images) + 1)), 0.99)


def test_the_likelier_segmentation_wins_and_a_close_call_is_a_doubt():
    two_digits, one_digit = one_hot([1, 7], 0.99), one_hot([4], 0.2)
    assert choose_reading([two_digits, one_digit]) == (0, None)
    index, doubt = choose_reading([one_hot([1, 7], 0.8), one_hot([4], 0.7)])
    assert index == 1 and doubt is not None and doubt.reason is ReviewReason.SEGMENTATION


def test_low_confidence_is_flagged_against_the_threshold_given():
    page = load_page_from(form_page(("42",)))
    sure = read_page(page, FakeClassifier(confidence=0.995), ReadParams(review_below=0.99))
    unsure = read_page(page, FakeClassifier(confidence=0.995), ReadParams(review_below=0.999))
    assert ReviewReason.LOW_CONFIDENCE not in sure.fields[0].reasons
    assert unsure.fields[0].reasons[0] is ReviewReason.LOW_CONFIDENCE


def load_page_from(image: np.ndarray):
    from digitize.pages import Page

    return Page(file="x.png", number=1, image=image, dpi=200)


# --- the page's DPI --------------------------------------------------------------------------


def cheque() -> np.ndarray:
    """A cheque-sized page (6 x 2.75 inches at 300 DPI) with a half-inch amount box."""
    page = np.full((825, 1800), 255, np.uint8)
    cv2.rectangle(page, (1200, 300), (1700, 450), 0, 4)
    cv2.putText(page, "125", (1240, 425), cv2.FONT_HERSHEY_SIMPLEX, 4, 0, 14)
    return page


def test_an_image_states_its_dpi_and_a_small_form_is_read_by_it(tmp_path):
    """Guessed from the page size (shorter side = 8.5 in) the cheque would be 97 DPI, its box
    1.5 inches tall, too tall for a number field: the file's own 300 DPI finds it."""
    path = tmp_path / "cheque.png"
    Image.fromarray(cheque()).save(path, dpi=(300, 300))
    page = load_page(str(path), 1)
    assert page.dpi == 300
    assert [f.value for f in read_page(page, FakeClassifier(digit=1)).fields] == ["111"]


@pytest.mark.parametrize("saved", [None, (96, 96), (72, 72)], ids=["none", "96", "72"])
def test_placeholder_or_missing_dpi_falls_back_to_the_page_size(tmp_path, saved):
    path = tmp_path / "cheque.png"
    Image.fromarray(cheque()).save(path, **({"dpi": saved} if saved else {}))
    page = load_page(str(path), 1)
    assert page.dpi is None
    reading = read_page(page, FakeClassifier())
    assert reading.segmented.page.dpi == pytest.approx(825 / 8.5)
    assert reading.fields == []  # the wrong guess this issue is about, kept as a last resort


def test_a_pdf_page_knows_the_dpi_it_was_rasterized_at(tmp_path):
    path = write_pdf(tmp_path / "f.pdf", [form_page(("5",))])
    assert load_page(str(path), 1, dpi=150).dpi == 150


def test_a_jpeg_and_a_tiff_state_their_dpi_too(tmp_path):
    for name in ("f.jpg", "f.tif"):
        path = tmp_path / name
        Image.fromarray(cheque()).save(path, dpi=(300, 300))
        assert load_page(str(path), 1).dpi == 300, name


# --- executors -------------------------------------------------------------------------------


class CountingModel:
    """A ClassifierLoader that remembers each time it was asked for a classifier."""

    def __init__(self) -> None:
        self.loads: list[int | None] = []

    def __call__(self, threads: int | None = None) -> FakeClassifier:
        self.loads.append(threads)
        return FakeClassifier()

    def check(self) -> None:
        pass

    def describe(self) -> str:
        return "a counting fake"


def tasks_for(path: Path, pages: int = 1) -> list[PageTask]:
    return [PageTask(str(path), n, 150, ReadParams()) for n in range(1, pages + 1)]


def test_serial_executor_loads_the_model_once_and_says_so(tmp_path):
    path = write_pdf(tmp_path / "f.pdf", [form_page(("1",)), form_page(("2", "3"))])
    loader, statuses, results = CountingModel(), [], []
    SerialExecutor(loader, statuses.append).run(tasks_for(path, 2), results.append)
    assert loader.loads == [None]
    assert statuses == [LOADING_MODEL, ""]
    assert [(r.page, len(r.fields), r.error) for r in results] == [(1, 1, None), (2, 2, None)]


@pytest.mark.parametrize(
    "make",
    [SerialExecutor, lambda loader, status: PoolExecutor(loader, 2, status)],
    ids=["serial", "pool"],
)
def test_no_task_no_model(make):
    loader, statuses = CountingModel(), []
    make(loader, statuses.append).run([], lambda result: None)
    assert loader.loads == [] and statuses == []


@pytest.mark.slow
def test_pool_executor_gives_every_page_back(tmp_path):
    paths = [write_image(tmp_path / f"{n}.png", form_page((str(n),))) for n in range(3)]
    results, statuses = [], []
    tasks = [task for path in paths for task in tasks_for(path)]
    PoolExecutor(FakeModel(), 2, statuses.append).run(tasks, results.append)
    assert sorted(r.file for r in results) == sorted(str(p) for p in paths)
    assert all(len(r.fields) == 1 and r.error is None for r in results)
    assert statuses[0].startswith(LOADING_MODEL) and statuses[-1] == ""


def test_a_bad_page_is_that_page_s_error_not_the_batch_s(tmp_path):
    path = tmp_path / "broken.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    results = []
    SerialExecutor(FakeModel(), lambda text: None).run(tasks_for(path), results.append)
    assert results[0].error and results[0].fields == []


@pytest.mark.slow
def test_a_local_scan_with_the_fake_classifier_never_imports_tensorflow_or_dask(tmp_path):
    write_image(tmp_path / "a.png", form_page(("42", "7")))
    script = (
        "import sys\n"
        f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "from pathlib import Path\n"
        "from fakes import FakeModel\n"
        "from digitize.scan import ScanOptions, scan\n"
        "summary = scan(ScanOptions(['a.png'], Path('e.csv'), workers=1, classifier=FakeModel()))\n"
        "print(summary.fields, *(m in sys.modules for m in ('tensorflow', 'keras', 'distributed')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.stdout.split() == ["2", "False", "False", "False"], done.stderr


# --- ink the digits did not take up ---------------------------------------------------------


def pencil_page(ink: int, paper: int, values: tuple[str, ...] = ("42", "7", "105")) -> np.ndarray:
    """Dark printed boxes, faint digits on slightly grey paper with the scanner's grain: the
    page's threshold is set by the print, and the pencil falls above it."""
    page = np.full((2200, 1700), paper, np.uint8)
    for index, value in enumerate(values):
        top = 400 + index * 400
        cv2.rectangle(page, (300, top), (800, top + 160), 40, 3)
        if value:
            cv2.putText(page, value, (340, top + 130), cv2.FONT_HERSHEY_SIMPLEX, 4, ink, 8)
    grain = np.random.default_rng(0).normal(0, 3, page.shape)
    return np.clip(page + grain, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("ink", [180, 200, 220])
def test_faint_pencil_is_read_by_the_box_s_own_threshold_and_flagged(ink):
    reading = read_page(Page("p.png", 1, pencil_page(ink, 238), 200), FakeClassifier())
    assert [len(f.value) for f in reading.fields] == [2, 1, 3]
    assert all(ReviewReason.FAINT_INK in f.reasons for f in reading.fields)


def test_ink_too_faint_to_read_is_never_an_empty_sure_reading():
    reading = read_page(Page("p.png", 1, pencil_page(227, 242), 200), FakeClassifier())
    flagged = [f for f in reading.fields if f.value == "" and f.needs_review]
    assert flagged, [(f.value, f.reasons) for f in reading.fields]
    for field in reading.fields:
        if field.value == "":
            assert field.needs_review and field.confidence < 1.0, field


def test_an_empty_box_is_empty_and_not_flagged():
    reading = read_page(
        Page("p.png", 1, pencil_page(200, 238, ("", "", "")), 200), FakeClassifier()
    )
    assert [(f.value, f.needs_review, f.confidence) for f in reading.fields] == [
        ("", False, 1.0)
    ] * 3


def watermarked_page(background: int, pencil: int | None = None) -> np.ndarray:
    """Three boxes of dark ballpoint, and a fourth box, empty but for a light printed
    watermark (grey `background` strokes), or holding pencil of grey `pencil`."""
    page = pencil_page(40, 238, ("42", "7", "105"))
    cv2.rectangle(page, (300, 1600), (800, 1760), 40, 3)
    if pencil is None:
        cv2.putText(page, "2014", (360, 1720), cv2.FONT_HERSHEY_SIMPLEX, 3, background, 6)
    else:
        cv2.putText(page, "36", (340, 1730), cv2.FONT_HERSHEY_SIMPLEX, 4, pencil, 8)
    return page


def test_a_light_printed_background_is_not_read_as_faint_pencil_but_flagged():
    reading = read_page(Page("p.png", 1, watermarked_page(222), 200), FakeClassifier())
    assert [len(f.value) for f in reading.fields][:3] == [2, 1, 3]
    watermarked = reading.fields[3]
    assert watermarked.value == "" and watermarked.needs_review, watermarked
    assert ReviewReason.FAINT_INK in watermarked.reasons


def test_pencil_beside_ballpoint_is_still_read():
    reading = read_page(Page("p.png", 1, watermarked_page(0, pencil=150), 200), FakeClassifier())
    assert [len(f.value) for f in reading.fields][:3] == [2, 1, 3]
    assert len(reading.fields[3].value) == 2 and reading.fields[3].needs_review


def test_a_short_1_in_a_tall_comb_cell_is_a_digit_and_a_speck_is_not():
    page = np.full((1100, 850), 250, np.uint8)
    x0, top, pitch, height = 300, 300, 60, 150
    cv2.rectangle(page, (x0, top), (x0 + 3 * pitch, top + height), 30, 3)
    for k in (1, 2):
        cv2.line(page, (x0 + k * pitch, top), (x0 + k * pitch, top + height), 30, 3)
    cv2.line(page, (x0 + 30, top + 76), (x0 + 28, top + 98), 40, 4)  # a 1, 26 px of 146
    cv2.putText(page, "8", (x0 + pitch + 14, top + 98), cv2.FONT_HERSHEY_SIMPLEX, 1.5, 40, 4)
    cv2.putText(page, "6", (x0 + 2 * pitch + 14, top + 98), cv2.FONT_HERSHEY_SIMPLEX, 1.5, 40, 4)
    reading = read_page(Page("p.png", 1, page, 200), FakeClassifier())
    assert [len(f.value) for f in reading.fields] == [3]
    cv2.rectangle(page, (x0 + 20, top + 60), (x0 + 40, top + 100), 250, -1)
    cv2.circle(page, (x0 + 30, top + 80), 2, 40, -1)  # now a speck of dust in the first cell
    reading = read_page(Page("p.png", 1, page, 200), FakeClassifier())
    assert [len(f.value) for f in reading.fields] == [2]


def test_a_mark_that_is_not_read_as_a_digit_is_left_over_ink():
    page = form_page(("42",))
    cv2.line(page, (700, 420), (790, 420), 0, 9)  # a short dash along the top: no digit
    cv2.line(page, (700, 420), (700, 470), 0, 9)
    reading = read_page(Page("p.png", 1, page, 200), FakeClassifier())
    reasons = reading.fields[0].reasons
    assert ReviewReason.INK_LEFT_OVER in reasons or len(reading.fields[0].value) == 3, reasons


def test_a_damaged_model_in_the_workers_is_one_error_not_a_broken_pool(tmp_path):
    from digitize.errors import ModelError

    paths = [write_image(tmp_path / f"{n}.png", form_page((str(n),))) for n in range(2)]
    tasks = [task for path in paths for task in tasks_for(path)]
    with pytest.raises(ModelError, match="damaged"):
        PoolExecutor(DamagedModel(), 2, lambda text: None).run(tasks, lambda result: None)


def test_a_file_gone_since_it_was_counted_is_that_page_s_error(tmp_path):
    results = []
    missing = tmp_path / "gone.png"
    SerialExecutor(FakeModel(), lambda text: None).run(tasks_for(missing), results.append)
    assert results[0].error and "cannot read file" in results[0].error


def test_a_printed_prefix_alone_in_an_empty_box_is_flagged():
    page = np.full((2200, 1700), 255, np.uint8)
    for top, text in ((400, "$"), (800, "kg")):
        cv2.rectangle(page, (300, top), (900, top + 120), 0, 3)
        cv2.putText(page, text, (318, top + 80), cv2.FONT_HERSHEY_SIMPLEX, 1.5, 0, 3)
    cv2.rectangle(page, (300, 1200), (900, 1320), 0, 3)  # handwriting as tall: not flagged
    cv2.putText(page, "5", (318, 1300), cv2.FONT_HERSHEY_SIMPLEX, 3.8, 0, 8)
    reading = read_page(Page("p.png", 1, page, 200), FakeClassifier())
    assert [ReviewReason.NOT_DIGITS in f.reasons for f in reading.fields] == [True, True, False]
    assert all(f.needs_review for f in reading.fields[:2])
