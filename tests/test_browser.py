"""Real-browser tests of the studio: headless Chromium (Debian's) driven by Playwright against the app on 127.0.0.1
(relabel with the keyboard and undo, two annotators at once, a training run from the Train page, a hostile annotator
name). The browser and studio fixtures come from tests/browser_fixtures.py; screenshots land in tests/artifacts/.
"""

from __future__ import annotations

import urllib.parse

import pytest

from core.data.classes import ALL_CLASSES
from core.labels.relabels import RelabelStore
from tests.browser_fixtures import ARTIFACTS, settle, wait_until

pytestmark = pytest.mark.slow

UNDIAGNOSED = "failed in Chromium on the tree that merged issues 21-25 (2026-12-03), cause not found yet: see the note"


def open_relabel(browser, url: str, who: str):
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    page.goto(f"{url}/relabel?annotator={who}")
    page.locator("[data-image-id]").first.wait_for(timeout=90_000)
    return page


def press(page, key: str, store: RelabelStore, events: int) -> None:
    settle(page)
    page.locator("h1").first.click()  # focus the page, not an input, so shortcuts reach the buttons
    page.keyboard.press(key)
    wait_until(lambda: store.count() >= events)
    settle(page)


def shown_id(page) -> str:
    return page.locator("[data-image-id]").first.get_attribute("data-image-id")


def test_relabel_with_the_keyboard_back_and_undo(studio, browser):
    url, root = studio
    store = RelabelStore(root / "data" / "labels.sqlite")
    page = open_relabel(browser, url, "alice")
    first = shown_id(page)
    press(page, "1", store, 1)
    page.get_by_text(f"{first} → {ALL_CLASSES[0]} · U to undo").wait_for(timeout=60_000)
    press(page, "2", store, 2)
    assert store.count() == 2 and sorted(store.current_labels().values()) == sorted(ALL_CLASSES[:2])
    for _ in range(2):
        settle(page)
        page.locator("h1").first.click()
        page.keyboard.press("b")
    settle(page)
    assert shown_id(page) == first and store.count() == 2  # back writes nothing
    press(page, "u", store, 3)
    assert store.count() == 3 and list(store.current_labels().values()) == [ALL_CLASSES[0]]
    page.locator("[data-image-id]").first.wait_for(timeout=60_000)
    for name in ("surprise", "contempt", "undo"):  # full names, above the fold at 1280x720
        box = page.get_by_role("button", name=name).first.bounding_box()
        assert box is not None and box["y"] + box["height"] <= 720 and box["width"] > 60
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "relabel.png"))
    page.close()


@pytest.mark.skip(reason=UNDIAGNOSED)
def test_two_annotators_at_once_lose_nothing(studio, browser):
    url, root = studio
    store = RelabelStore(root / "data" / "labels.sqlite")
    before = store.count()
    pages = [open_relabel(browser, url, who) for who in ("carol", "dave")]
    for round_ in range(4):
        for page in pages:
            settle(page)
        for page in pages:  # back to back: both sessions write at the same moment
            page.locator("h1").first.click()
            page.keyboard.press(str(round_ % 7 + 1))
        wait_until(lambda: store.count() >= before + 2 * (round_ + 1))
    history = store.history()
    assert (history["annotator"] == "carol").sum() == 4 and (history["annotator"] == "dave").sum() == 4
    for page in pages:
        page.close()


def test_train_a_tiny_run_and_see_its_curve(studio, browser):
    url, _ = studio
    page = browser.new_page(viewport={"width": 1400, "height": 1400})
    page.goto(f"{url}/train")
    page.get_by_text("Start training").wait_for(timeout=90_000)
    page.get_by_text("Advanced").click()  # batch size and steps per epoch are advanced options
    for label, value in (("Epochs", "3"), ("Batch size", "8"), ("Steps per epoch at most (0: whole epochs)", "2")):
        field = page.get_by_role("spinbutton", name=label, exact=True)
        field.fill(value)
        field.press("Tab")
    page.get_by_text("Start training").click()
    page.locator("[data-testid=stPlotlyChart]").first.wait_for(timeout=180_000)
    page.get_by_text("finished").first.wait_for(timeout=180_000)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "train.png"), full_page=True)
    page.close()


def test_hostile_annotator_names_are_shown_as_text(studio, browser):
    url, _ = studio
    name = "<img src=x onerror=window.pwned=1>![t](http://evil.invalid/t)"  # within the 64 characters allowed
    page = browser.new_page()
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{url}/relabel?annotator={urllib.parse.quote(name)}")
    page.get_by_text("Recording as").wait_for(timeout=90_000)
    settle(page)
    shown = page.get_by_text("Recording as").inner_text()
    assert shown.replace("\u2060", "") == f"Recording as {name}"  # word joiners keep URLs from becoming links
    assert page.evaluate("window.pwned") is None
    assert page.locator("img[src*='evil.invalid'], a[href*='evil.invalid']").count() == 0
    assert {urllib.parse.urlsplit(u).hostname for u in requested if not u.startswith("data:")} == {"127.0.0.1"}
    page.close()
