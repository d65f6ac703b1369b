"""Real-browser tests of Browse: a face opens in a dialog, filters and page live in the URL, a phone shows three
faces a row. Headless Chromium via Playwright, on the shipped sample."""

from __future__ import annotations

import json
import urllib.parse

import pytest

from tests.browser_fixtures import ARTIFACTS, settle

pytestmark = pytest.mark.slow


def open_browse(browser, url: str, query: str = "", viewport=(1280, 900)):
    page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
    page.goto(f"{url}/browse{query}")
    page.get_by_text("images match").wait_for(timeout=120_000)
    settle(page)
    return page


def url_params(page) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(page.url).query))


def test_a_shared_link_restores_filters_and_page(studio, browser):
    url, _ = studio
    query = "?" + urllib.parse.urlencode({"splits": json.dumps(["PublicTest"]), "page": "2"})
    page = open_browse(browser, url, query)
    assert page.locator("[data-tag]").filter(has_text="PublicTest").count() == 1
    assert page.get_by_role("spinbutton", name="Page").input_value() == "2"
    page.get_by_text("FER2013 and FERPlus disagree").click()
    settle(page)
    params = url_params(page)
    assert json.loads(params["splits"]) == ["PublicTest"] and params["disagree"] == "true"
    page.reload()  # a reload keeps them
    page.get_by_text("images match").wait_for(timeout=120_000)
    settle(page)
    assert page.get_by_role("checkbox", name="FER2013 and FERPlus disagree").is_checked()
    page.close()


def test_a_face_opens_in_a_dialog(studio, browser):
    url, _ = studio
    page = open_browse(browser, url)
    assert page.get_by_text("Open image #").count() == 0  # the dialog replaced the number box
    page.get_by_role("button", name="open", exact=True).first.click()
    dialog = page.get_by_role("dialog")
    dialog.wait_for(timeout=60_000)
    dialog.locator("[data-testid=stPlotlyChart]").first.wait_for(timeout=60_000)  # the FERPlus votes
    assert "#0" in dialog.inner_text() and "FERPlus" in dialog.inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "browse_dialog.png"))
    page.close()


def test_a_phone_shows_three_faces_a_row(studio, browser):
    url, _ = studio
    page = open_browse(browser, url, viewport=(390, 844))
    faces = page.locator(".st-key-browse_grid [data-testid=stImage] img")
    faces.nth(2).wait_for(timeout=60_000)
    boxes = [faces.nth(i).bounding_box() for i in range(4)]
    assert abs(boxes[0]["y"] - boxes[2]["y"]) < 2 and boxes[0]["x"] < boxes[1]["x"] < boxes[2]["x"]
    assert boxes[3]["y"] > boxes[0]["y"] + boxes[0]["height"] / 2  # the fourth starts the next row
    assert boxes[2]["x"] + boxes[2]["width"] <= 390 and boxes[0]["width"] > 60
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "browse_phone.png"))
    page.close()
