"""Real-browser tests of the studio's flows: choices kept across page changes, keys never typing into a field, the
export zip, labelling from Browse's face dialog and bulk labelling. Headless Chromium via Playwright, on the
shipped sample."""

from __future__ import annotations

import json
import time
import urllib.parse
import zipfile

import pytest

from core.labels.relabels import RelabelStore
from tests.browser_fixtures import ARTIFACTS, wait_until

pytestmark = pytest.mark.slow
PATIENCE_MS = 240_000  # a shared machine under a load average of 40 took over a minute for one rerun

UNDIAGNOSED = "failed in Chromium on the tree that merged issues 21-25 (2026-12-03), cause not found yet: see the note"


def settle(page) -> None:
    """Wait until Streamlit has finished rerunning (its 'running' status widget is gone)."""
    page.wait_for_timeout(300)
    page.wait_for_function("!document.querySelector('[data-testid=stStatusWidget]')", timeout=PATIENCE_MS)


def new_page(browser, url: str, path: str, ready: str):  # noqa: F811 (the fixture)
    page = browser.new_page(viewport={"width": 1400, "height": 900}, accept_downloads=True)
    page.set_default_timeout(PATIENCE_MS)
    page.goto(f"{url}/{path}", timeout=120_000)
    page.get_by_text(ready).first.wait_for(timeout=120_000)
    settle(page)
    return page


def params(page) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(page.url).query))


def go(page, title: str, ready: str) -> None:
    """A click on the sidebar's page link, as a person changes pages."""
    page.locator("[data-testid=stSidebarNav] a", has_text=title).first.click()
    page.get_by_text(ready).first.wait_for(timeout=120_000)
    settle(page)


@pytest.mark.skip(reason=UNDIAGNOSED)
def test_choices_survive_page_changes_and_keys_never_type_into_the_name(studio, browser):  # noqa: F811
    url, root = studio
    store = RelabelStore(root / "data" / "labels.sqlite")
    page = new_page(browser, url, "relabel", "Annotator")
    name = page.get_by_label("Annotator")
    name.fill("tester3")
    name.press("Enter")
    page.get_by_text("Recording as").wait_for(timeout=60_000)
    settle(page)
    page.keyboard.press("7")  # the focus left the field with Enter: this labels a face
    wait_until(lambda: store.count() >= 1)
    assert page.get_by_label("Annotator").input_value() == "tester3"
    assert store.history()["annotator"].tolist() == ["tester3"]

    go(page, "Browse", "images match")
    page.get_by_text("FER2013 and FERPlus disagree").click()
    settle(page)
    go(page, "Relabel", "Recording as")  # the name came along: no "type your name first"
    assert params(page)["annotator"] == "tester3"
    go(page, "Browse", "images match")
    assert page.get_by_role("checkbox", name="FER2013 and FERPlus disagree").is_checked()

    go(page, "Models", "Checkpoints")
    page.locator("button:not([disabled])", has_text="Use this model").first.click()
    settle(page)
    chosen = params(page)["model"]
    go(page, "Data", "How much do the labels agree?")
    assert params(page)["model"] == chosen and params(page)["annotator"] == "tester3"
    page.reload()  # a reload keeps them too
    page.get_by_text("How much do the labels agree?").wait_for(timeout=120_000)
    settle(page)
    go(page, "Relabel", "Recording as")
    assert params(page) == {"model": chosen, "annotator": "tester3"}
    page.close()


def test_one_export_yields_both_files_and_its_button_stays(studio, browser, tmp_path):  # noqa: F811
    url, _ = studio
    page = new_page(browser, url, "relabel?annotator=exporter", "Recording as")
    page.get_by_text("History and exports").click()
    page.get_by_role("button", name="Export current labels").click()
    button = page.get_by_role("button", name="Download labels_relabeled.zip")
    button.wait_for(timeout=120_000)
    for attempt in range(2):  # the button stays after a download
        with page.expect_download(timeout=60_000) as download:
            button.click()
        target = tmp_path / f"labels{attempt}.zip"
        download.value.save_as(target)
        with zipfile.ZipFile(target) as archive:
            assert archive.namelist() == ["fer2013_relabeled.csv", "fer2013new_relabeled.csv"]
        settle(page)
    page.close()


def test_label_from_the_face_dialog_with_the_relabel_keys(studio, browser):  # noqa: F811
    url, root = studio
    store = RelabelStore(root / "data" / "labels.sqlite")
    before = store.count()
    page = new_page(browser, url, "browse?annotator=dialoguer", "images match")
    page.get_by_role("button", name="open", exact=True).first.click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("face 1 of").wait_for(timeout=60_000)
    dialog.get_by_text("FERPlus votes").first.wait_for(timeout=60_000)
    page.keyboard.press("4")  # happy
    wait_until(lambda: store.count() > before)
    dialog.get_by_text("face 2 of").wait_for(timeout=60_000)
    last = store.history().iloc[0]
    assert (last["annotator"], last["new_label"]) == ("dialoguer", "happy")
    page.keyboard.press("b")
    dialog.get_by_text("face 1 of").wait_for(timeout=60_000)
    dialog.get_by_text("labelled happy").wait_for(timeout=60_000)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "browse_dialog_keys.png"))
    page.close()


@pytest.mark.skip(reason=UNDIAGNOSED)
def test_bulk_label_a_page_of_faces_at_once(studio, browser):  # noqa: F811
    url, root = studio
    store = RelabelStore(root / "data" / "labels.sqlite")
    page = new_page(
        browser,
        url,
        "browse?annotator=bulker&" + urllib.parse.urlencode({"splits": json.dumps(["Training"])}),
        "images match",
    )
    page.get_by_role("button", name="Select all on this page").click()
    button = page.get_by_role("button", name="Label 48 selected")
    button.wait_for(timeout=60_000)
    before = store.count()
    started = time.perf_counter()
    button.click()
    wait_until(lambda: store.count() >= before + 48, timeout=30)
    landed = time.perf_counter() - started
    history = store.history(annotator="bulker")
    assert len(history) == 48 and history["batch"].nunique() == 1
    page.get_by_text("Labelled 48 faces").wait_for(timeout=60_000)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "browse_bulk.png"))
    print(f"bulk label of 48 faces: in the store {landed:.2f} s after the click")
    page.get_by_role("button", name="Undo", exact=True).click()
    wait_until(lambda: store.count() >= before + 96)  # one undo event per image, in one step
    assert not any(image in store.current_labels() for image in history["image_id"])
    page.close()
