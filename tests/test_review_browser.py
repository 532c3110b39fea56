"""The review page as a person uses it: real headless Chromium (Debian's, driven by
Playwright; never a downloaded browser), keyboard first, then the entries CSV is checked.

Scans are read by the fake classifier (tests/fakes.py): no TensorFlow. The stale-image tests
use hand-made entries with saved crops, one of them served slowly.

`DIGITIZE_SCREENSHOT=1` also saves docs/review-page.png (a sample form under review), so the
README's picture can be remade; without it no tracked file is written.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from digitize.output import read_entries, write_entries
from digitize.records import Entry, FieldResult, ReviewReason
from digitize.review.crops import CropSource
from digitize.review.server import start_server
from digitize.review.source import SourcePages
from digitize.review.store import ReviewStore
from digitize.scan import ScanOptions, scan
from fakes import FakeModel
from synthetic_forms import REPO, form_page, write_image

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
HOSTILE = "<img src=x onerror=alert(1)>.png"
SCREENSHOT = REPO / "docs" / "review-page.png"
SCREENSHOT_SAMPLES = [
    REPO / "samples" / "forms" / name
    for name in ("meter_readings_skewed.png", "stock_count_pencil.png")
]
SLOW_S = 4.0  # how long the slow field's image takes: longer than a person's next key

pytestmark = pytest.mark.skipif(
    not CHROMIUM.is_file(), reason=f"{CHROMIUM} not installed (apt-get install chromium)"
)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def servers():
    started = []
    yield started
    for server in started:
        server.stop()


@pytest.fixture
def review(tmp_path, monkeypatch, servers):
    """Start a review server over a fresh scan of `files` (name -> page); yields (url, store)."""

    def start(files: dict[str, object], review_all: bool, order: str):
        monkeypatch.chdir(tmp_path)
        for name, page in files.items():
            target = tmp_path / "forms" / name
            if isinstance(page, Path):
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(page, target)
            else:
                write_image(target, page)
        # No --crops: every image on the page is made on demand from the source page.
        scan(
            ScanOptions(
                inputs=["forms"], out=Path("entries.csv"), workers=1, classifier=FakeModel()
            )
        )
        store = ReviewStore.load(tmp_path / "entries.csv", review_all=review_all)
        server = start_server(
            store, CropSource(store, SourcePages(store.path, FakeModel())), order=order
        )
        servers.append(server)
        return server.url, store

    return start


class SlowCrops(CropSource):
    """Some rows' images take `delay` seconds, as a crop re-read from a big PDF page does."""

    def __init__(self, store: ReviewStore, pages: SourcePages, slow: set[int], delay: float):
        super().__init__(store, pages)
        self.slow, self.delay = slow, delay

    def png(self, index: int) -> bytes | None:
        if index in self.slow:
            time.sleep(self.delay)
        return super().png(index)


@pytest.fixture
def handmade(tmp_path, servers):
    """A server over hand-made entries, one saved crop each (row i's image is 100 + 40 i
    pixels wide), the rows in `slow` served slowly; yields (server, store)."""

    def start(
        values: list[str], confidences: list[float], order: str, slow: set[int] = frozenset()
    ):
        entries = []
        for row, (value, confidence) in enumerate(zip(values, confidences)):
            crop = tmp_path / "crops" / f"field_{row}.png"
            image = np.full((50, 100 + 40 * row), 255, np.uint8)
            image[10:40, 10:30] = 0
            write_image(crop, image)
            entries.append(
                Entry(
                    result=FieldResult(
                        file="forms/f.png",
                        page=1,
                        field=f"field_{row + 1}",
                        value=value,
                        confidence=confidence,
                        digit_confidences=(confidence,) * len(value),
                        box=(0.1, 0.1 * row, 0.3, 0.1 * row + 0.05),
                        review_below=0.99,
                        reasons=(ReviewReason.LOW_CONFIDENCE,),
                        crop=str(crop),
                    )
                )
            )
        write_entries(entries, tmp_path / "entries.csv")
        store = ReviewStore.load(tmp_path / "entries.csv")
        crops = SlowCrops(store, SourcePages(store.path, FakeModel()), set(slow), SLOW_S)
        server = start_server(store, crops, order=order)
        servers.append(server)
        return server, store

    return start


def open_page(browser, url: str, height: int = 760):
    page = browser.new_page(viewport={"width": 1180, "height": height})
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.on("pageerror", lambda error: dialogs.append(f"script error: {error}"))  # none either
    page.goto(url)
    return page, dialogs


def wait_for_crop(page) -> None:
    page.wait_for_function(
        "() => { const c = document.getElementById('crop');"
        " return c.complete && c.naturalWidth > 0; }"
    )


def decisions(store: ReviewStore) -> list[tuple[str, str]]:
    return [
        (str(e.decision.status), e.decision.value) if e.decision else ("", "")
        for e in read_entries(store.path).entries
    ]


# Every state the page can paint, recorded after each change: which row the image shows
# (from its URL and its width), which row the card says, the value shown, inputs on or off.
WATCH = """() => {
  window.painted = [];
  const snapshot = () => {
    const crop = document.getElementById('crop');
    const match = /\\/api\\/crop\\/(\\d+)/.exec(crop.getAttribute('src') || '');
    window.painted.push({
      image: crop.hidden || !match ? null : Number(match[1]),
      width: crop.hidden ? null : crop.naturalWidth,
      card: document.getElementById('card').hidden ? null : Number(document.getElementById('card').dataset.row),
      value: document.getElementById('value').textContent,
      answer: document.getElementById('answer').value,
      enabled: !document.getElementById('answer').disabled,
    });
  };
  new MutationObserver(snapshot).observe(document.body,
    { subtree: true, childList: true, attributes: true, characterData: true });
  snapshot();
}"""


def assert_never_stale(page, values: list[str]) -> None:
    painted = page.evaluate("() => window.painted")
    assert len(painted) > 3
    for state in painted:
        if state["card"] is None:
            continue
        row = state["card"]
        # Image, value and card always name the same field, inputs on or off.
        assert state["image"] == row and state["width"] == 100 + 40 * row, state
        assert state["value"] == values[row], state


@pytest.mark.slow
def test_review_with_the_keyboard(browser, review):
    from playwright.sync_api import expect

    url, store = review(
        {HOSTILE: form_page(("13",)), "a.png": form_page(("42", "7"))},
        review_all=True,
        order="file",
    )
    values = [e.result.value for e in read_entries(store.path).entries]
    page, dialogs = open_page(browser, url)
    file, field, answer = page.locator("#file"), page.locator("#field"), page.locator("#answer")

    # The hostile file name is shown as text, never run as HTML.
    expect(file).to_have_text(f"forms/{HOSTILE}")
    expect(page.locator("#progress-text")).to_have_text("0 of 3 reviewed")
    expect(answer).to_be_focused()
    expect(answer).to_have_value(values[0])
    wait_for_crop(page)
    assert page.locator("img[src='x']").count() == 0 and dialogs == []
    assert page.locator("#digits li").count() == len(values[0])
    expect(page.locator("#why")).to_have_text(store.items("file")[0].why)

    page.keyboard.press("Enter")  # accept as read
    expect(file).to_have_text("forms/a.png")
    expect(field).to_have_text("field_1")
    expect(answer).to_be_focused()
    page.keyboard.type("1234567")  # the value is selected: typing replaces it
    page.keyboard.press("Enter")
    expect(field).to_have_text("field_2")
    expect(answer).to_be_focused()
    page.keyboard.press("x")  # illegible
    expect(page.locator("#done")).to_be_visible()
    expect(page.locator("#progress-text")).to_have_text("3 of 3 reviewed")
    page.keyboard.press("Shift+Enter")  # back to the last field: its decision is shown
    expect(field).to_have_text("field_2")
    expect(page.locator("#status")).to_have_text("Marked illegible")

    rows = read_entries(store.path).entries  # saved as each decision was made, no "save" step
    assert [e.result.value for e in rows] == values
    assert decisions(store) == [
        ("accepted", values[0]),
        ("corrected", "1234567"),
        ("illegible", ""),
    ]
    assert dialogs == []
    page.close()


@pytest.mark.slow
def test_a_second_review_resumes(browser, review):
    from playwright.sync_api import expect

    url, store = review({"a.png": form_page(("42", "7"))}, review_all=True, order="file")
    store.decide(0, "1")  # decided in an earlier session
    page, dialogs = open_page(browser, url)
    expect(page.locator("#progress-text")).to_have_text("1 of 2 reviewed")
    expect(page.locator("#field")).to_have_text("field_2")
    assert dialogs == []
    page.close()


@pytest.mark.slow  # waits on slow images: 5 s
def test_enter_never_saves_against_a_stale_image(browser, handmade):
    """The next field's image is slow: until it is there, the page keeps the field leaving
    (image and value together) with every input off, and keys pressed meanwhile do nothing."""
    from playwright.sync_api import expect

    values = ["111", "222", "333"]
    server, store = handmade(values, [0.5, 0.5, 0.5], order="file", slow={1})
    page, dialogs = open_page(browser, server.url)
    card, answer = page.locator("#card"), page.locator("#answer")
    expect(card).to_have_attribute("data-row", "0")
    expect(answer).to_be_enabled()
    page.evaluate(WATCH)

    page.keyboard.press("Enter")  # accept 111: on to row 1, whose image takes SLOW_S
    expect(answer).to_be_disabled()
    expect(card).to_have_attribute("data-row", "0")  # still the field leaving, whole
    page.keyboard.type("9")
    page.keyboard.press("Enter")  # a person going on, seeing a value change
    page.keyboard.press("x")
    # The keys landed while the image was still on its way (else this test proves nothing).
    assert card.get_attribute("data-row") == "0", "the slow image came before the keys"

    expect(card).to_have_attribute("data-row", "1", timeout=15_000)
    expect(answer).to_be_enabled()
    expect(answer).to_have_value("222")  # the keys did not land in the new field either
    expect(page.locator("#value")).to_have_text("222")
    assert decisions(store) == [("accepted", "111"), ("", ""), ("", "")]

    page.keyboard.press("Enter")  # now it saves, against the field shown
    expect(card).to_have_attribute("data-row", "2")
    assert decisions(store) == [("accepted", "111"), ("accepted", "222"), ("", "")]
    assert_never_stale(page, values)
    assert dialogs == []
    page.close()


@pytest.mark.slow  # waits on slow images: 5 s
def test_changing_the_order_waits_for_the_image_too(browser, handmade):
    from playwright.sync_api import expect

    values = ["111", "222", "333"]
    # Lowest confidence first puts the slow row 2 first.
    server, store = handmade(values, [0.9, 0.8, 0.1], order="file", slow={2})
    page, dialogs = open_page(browser, server.url)
    card, answer = page.locator("#card"), page.locator("#answer")
    expect(card).to_have_attribute("data-row", "0")
    expect(answer).to_be_enabled()
    page.evaluate(WATCH)

    page.select_option("#order", "confidence")
    expect(answer).to_be_disabled()
    page.evaluate("() => document.activeElement.blur()")
    page.keyboard.press("Enter")
    page.keyboard.press("x")
    expect(card).to_have_attribute("data-row", "2", timeout=15_000)
    expect(answer).to_be_enabled()
    expect(answer).to_be_focused()
    expect(page.locator("#value")).to_have_text("333")
    assert decisions(store) == [("", ""), ("", ""), ("", "")]
    page.keyboard.press("Enter")
    expect(page.locator("#progress-text")).to_have_text("1 of 3 reviewed")
    assert decisions(store) == [("", ""), ("", ""), ("accepted", "333")]
    assert_never_stale(page, values)
    assert dialogs == []
    page.close()


def test_decisions_can_be_reopened_changed_and_cleared(browser, handmade):
    from playwright.sync_api import expect

    values = ["111", "222", "333"]
    server, store = handmade(values, [0.5, 0.5, 0.5], order="file")
    store.decide(2, None)  # decided in an earlier session: reopened the same way
    page, dialogs = open_page(browser, server.url)
    card, answer = page.locator("#card"), page.locator("#answer")
    expect(card).to_have_attribute("data-row", "0")
    expect(answer).to_be_enabled()
    page.keyboard.press("Enter")  # accept 111
    expect(card).to_have_attribute("data-row", "1")
    expect(answer).to_be_enabled()
    page.keyboard.type("5")
    page.keyboard.press("Enter")  # 222 corrected to 5
    expect(page.locator("#done")).to_be_visible()
    expect(page.locator("#reviewed-count")).to_have_text("3")

    page.locator("#reviewed summary").click()
    reopen = page.locator("#reviewed-list button")
    expect(reopen).to_have_count(3)
    page.locator("#reviewed-list button[data-row='0']").click()
    expect(card).to_have_attribute("data-row", "0")
    expect(page.locator("#status")).to_have_text("Accepted as read")
    expect(answer).to_be_focused()
    page.keyboard.type("7")
    page.keyboard.press("Enter")  # changed: 111 corrected to 7
    expect(page.locator("#reviewed-list button[data-row='0']")).to_contain_text("Corrected to 7")
    assert decisions(store) == [("corrected", "7"), ("corrected", "5"), ("illegible", "")]

    page.locator("#reviewed-list button[data-row='2']").click()
    expect(card).to_have_attribute("data-row", "2")
    expect(page.locator("#status")).to_have_text("Marked illegible")
    page.locator("#clear").click()  # back to undecided, and stays on it
    expect(page.locator("#status")).to_have_text("Not reviewed yet")
    expect(page.locator("#progress-text")).to_have_text("2 of 3 reviewed")
    expect(page.locator("#clear")).to_be_hidden()
    expect(page.locator("#reviewed-list button")).to_have_count(2)
    assert decisions(store) == [("corrected", "7"), ("corrected", "5"), ("", "")]
    assert dialogs == []
    page.close()


def test_finish_stops_the_server(browser, handmade):
    from playwright.sync_api import expect

    server, store = handmade(["111", "222"], [0.5, 0.5], order="file")
    page, dialogs = open_page(browser, server.url)
    expect(page.locator("#answer")).to_be_enabled()
    page.keyboard.press("Enter")
    expect(page.locator("#card")).to_have_attribute("data-row", "1")
    page.locator("#finish").click()
    expect(page.locator("#finished")).to_be_visible()
    expect(page.locator("#card")).to_be_hidden()
    assert server.app.finished.is_set()
    server.wait()  # returns at once: the review goes on to export
    assert decisions(store) == [("accepted", "111"), ("", "")]
    assert dialogs == []
    page.close()


@pytest.mark.skipif(
    os.environ.get("DIGITIZE_SCREENSHOT") != "1",
    reason="set DIGITIZE_SCREENSHOT=1 to remake docs/review-page.png",
)
@pytest.mark.model
def test_screenshot(browser, tmp_path, monkeypatch, servers):
    """With the real model: the picture in the README shows real readings."""
    from playwright.sync_api import expect

    from digitize.classifier import KerasModel
    from digitize.model_files import active_model_dir

    monkeypatch.chdir(tmp_path)
    for path in SCREENSHOT_SAMPLES:
        (tmp_path / "forms").mkdir(exist_ok=True)
        shutil.copy(path, tmp_path / "forms" / path.name)
    model = KerasModel(active_model_dir())
    scan(ScanOptions(inputs=["forms"], out=Path("entries.csv"), workers=1, classifier=model))
    store = ReviewStore.load(tmp_path / "entries.csv")
    server = start_server(store, CropSource(store, SourcePages(store.path, model)), order="digit")
    servers.append(server)
    page, _ = open_page(browser, server.url, height=620)
    expect(page.locator("#card")).to_be_visible()
    wait_for_crop(page)
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT))
    page.close()
    assert SCREENSHOT.stat().st_size < 300_000
