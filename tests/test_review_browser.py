"""The review page as a person uses it: real headless Chromium (Debian's, driven by
Playwright; never a downloaded browser), keyboard only, then the entries CSV is checked.

`DIGITIZE_SCREENSHOT=1` also saves docs/review-page.png (a sample form under review), so the
README's picture can be remade; without it no tracked file is written.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from digitize.output import read_entries
from digitize.review.crops import CropSource
from digitize.review.server import start_server
from digitize.review.source import SourcePages
from digitize.review.store import ReviewStore
from digitize.scan import ScanOptions, scan
from synthetic_forms import REPO, form_page, write_image

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
HOSTILE = "<img src=x onerror=alert(1)>.png"
SCREENSHOT = REPO / "docs" / "review-page.png"
SCREENSHOT_SAMPLES = [REPO / "samples" / "forms" / name
                      for name in ("meter_readings_skewed.png", "stock_count_pencil.png")]

pytestmark = pytest.mark.skipif(not CHROMIUM.is_file(), reason=f"{CHROMIUM} not installed (apt-get install chromium)")


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def review(tmp_path, monkeypatch):
    """Start a review server over a fresh scan of `files` (name -> page); yields (url, store)."""
    servers = []

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
        scan(ScanOptions(inputs=["forms"], out=Path("entries.csv"), workers=1))
        store = ReviewStore.load(tmp_path / "entries.csv", review_all=review_all)
        server = start_server(store, CropSource(store, SourcePages(store.path)), order=order)
        servers.append(server)
        return server.url, store

    yield start
    for server in servers:
        server.stop()


def open_page(browser, url: str, height: int = 760):
    page = browser.new_page(viewport={"width": 1180, "height": height})
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(url)
    return page, dialogs


def wait_for_crop(page) -> None:
    page.wait_for_function("() => { const c = document.getElementById('crop');"
                           " return c.complete && c.naturalWidth > 0; }")


def test_review_with_the_keyboard(browser, review):
    from playwright.sync_api import expect

    url, store = review({HOSTILE: form_page(("13",)), "a.png": form_page(("42", "7"))},
                        review_all=True, order="file")
    values = read_entries(store.path)["value"].tolist()
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
    page.keyboard.type("1234567")  # the value is selected: typing replaces it
    page.keyboard.press("Enter")
    expect(field).to_have_text("field_2")
    page.keyboard.press("x")  # illegible
    expect(page.locator("#done")).to_be_visible()
    expect(page.locator("#progress-text")).to_have_text("3 of 3 reviewed")
    page.keyboard.press("Shift+Enter")  # back to the last field: its decision is shown
    expect(field).to_have_text("field_2")
    expect(page.locator("#status")).to_have_text("Marked illegible")

    rows = read_entries(store.path)  # saved as each decision was made, no "save" step
    assert rows["value"].tolist() == values
    assert rows["reviewed"].tolist() == ["accepted", "corrected", "illegible"]
    assert rows["reviewed_value"].tolist() == [values[0], "1234567", ""]
    assert dialogs == []
    page.close()


def test_a_second_review_resumes(browser, review):
    from playwright.sync_api import expect

    url, store = review({"a.png": form_page(("42", "7"))}, review_all=True, order="file")
    store.decide(0, "1")  # decided in an earlier session
    page, _ = open_page(browser, url)
    expect(page.locator("#progress-text")).to_have_text("1 of 2 reviewed")
    expect(page.locator("#field")).to_have_text("field_2")
    page.close()


@pytest.mark.skipif(os.environ.get("DIGITIZE_SCREENSHOT") != "1",
                    reason="set DIGITIZE_SCREENSHOT=1 to remake docs/review-page.png")
def test_screenshot(browser, review):
    from playwright.sync_api import expect

    url, _ = review({path.name: path for path in SCREENSHOT_SAMPLES}, review_all=False, order="digit")
    page, _ = open_page(browser, url, height=620)
    expect(page.locator("#card")).to_be_visible()
    wait_for_crop(page)
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT))
    page.close()
    assert SCREENSHOT.stat().st_size < 300_000
