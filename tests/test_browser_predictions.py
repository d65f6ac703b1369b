"""Real-browser test of the predictions job in Browse: start it, see its progress and ETA, cancel it, start it again,
use its cache, and find the cache again after a restart of the studio (no second job). Chromium via Playwright."""

from __future__ import annotations

import json
import time
from contextlib import contextmanager

import numpy as np
import pandas as pd
import pytest

from core.data.dataset import FerDataset
from core.data.store import load_dataset, load_sample, save_dataset
from core.inference.catalog import default_checkpoint
from core.inference.dataset_predictions import predictions_cache_path
from tests.browser_fixtures import ARTIFACTS, need_browser, settle, studio_server

pytestmark = pytest.mark.slow
TOGGLE = "Filter and show by the model's predictions"


def eight_samples(root) -> FerDataset:
    """The shipped sample eight times over (3,776 images, 15 chunks): long enough to cancel the job midway."""
    need_browser()
    sample = load_sample()
    meta = pd.concat(
        [sample.meta.assign(image_id=sample.meta["image_id"] + f"-{k}") for k in range(8)], ignore_index=True
    )
    info = {k: v for k, v in sample.info.items() if k != "is_sample"} | {
        "source": "eight samples",
        "created": time.time(),
    }
    save_dataset(FerDataset(np.concatenate([np.asarray(sample.images)] * 8), meta, info), root / "data")
    return load_dataset(root / "data")


def open_browse(browser, url: str):
    """Browse with the predictions switch on; a click that lands during a rerun is lost, so it is checked."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{url}/browse")
    switch = page.get_by_label(TOGGLE)
    switch.wait_for(state="attached", timeout=120_000)
    for _ in range(3):
        settle(page)
        if switch.is_checked():
            break
        page.get_by_text(TOGGLE).click()
    settle(page)
    assert switch.is_checked()
    return page


@contextmanager
def screenshot_on_failure(page, name: str):
    """What the page showed when a wait timed out, under tests/artifacts/, for a failure in CI."""
    try:
        yield
    except Exception:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{name}_failure.png"), full_page=True)
        raise


def test_predictions_job_from_browse(tmp_path, browser):
    dataset = eight_samples(tmp_path)  # in tmp_path/data, the test's data folder (conftest), which the studio serves
    checkpoint = default_checkpoint()
    cache = predictions_cache_path(dataset, checkpoint)
    status_file = cache.with_suffix(".job") / "status.json"
    with studio_server(tmp_path) as url:
        page = open_browse(browser, url)
        with screenshot_on_failure(page, "browse_predictions"):
            page.get_by_role("button", name="Compute the model's predictions").click()  # a button: clicks wait
            page.get_by_text("of 3,776 images").first.wait_for(timeout=120_000)  # the bar, while the job runs
            page.get_by_role("button", name="Cancel").click()
            # "...was stopped: cancelled", or "stopped while queued" when the click beat the job's start
            page.get_by_text("The last run of the predictions was stopped").first.wait_for(timeout=120_000)
            assert json.loads(status_file.read_text())["state"] == "stopped" and not cache.exists()
            page.get_by_role("button", name="Compute the model's predictions").click()
            # "· about N s left" after a chunk, unless a fast machine finished the job first
            page.get_by_text("s left").or_(page.get_by_text("Predicted class")).first.wait_for(timeout=120_000)
            page.get_by_text("Predicted class").wait_for(timeout=600_000)  # the page reran with the cache
            assert cache.is_file() and json.loads(status_file.read_text())["state"] == "finished"
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "browse_predictions.png"))
        page.close()
    created = json.loads(status_file.read_text())["created"]
    with studio_server(tmp_path) as url:  # a restarted studio finds the cache: no button, no second job
        page = open_browse(browser, url)
        with screenshot_on_failure(page, "browse_predictions_restart"):
            page.get_by_text("Predicted class").wait_for(timeout=120_000)
        assert page.get_by_role("button", name="Compute the model's predictions").count() == 0
        assert json.loads(status_file.read_text())["created"] == created
        page.close()
