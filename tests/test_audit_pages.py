"""The Map page and Browse's audit filters and group view, on the planted data set (AppTest, no browser)."""

from __future__ import annotations

import base64
import json
import shutil

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core.audit.face_map import map_cache_path
from core.audit.report import audit_dir, run_audit, save_audit
from core.data.store import load_dataset, save_dataset
from core.paths import REPO_ROOT
from tests.audit_data import EXACT_PRIVATE, EXACT_TRAIN, write_planted

MAIN = str(REPO_ROOT / "app" / "main.py")


@pytest.fixture
def audited(tmp_path, monkeypatch, tiny_run):
    """The planted data set imported and audited, a model in the runs folder, and its map cached."""
    monkeypatch.setenv("FER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FER_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setattr("core.inference.catalog.CHECKPOINTS_DIR", tmp_path / "checkpoints")
    save_dataset(write_planted(tmp_path))
    dataset = load_dataset()
    save_audit(run_audit(dataset), audit_dir(dataset))
    run = shutil.copytree(tiny_run, tmp_path / "runs" / "tiny")
    (run / "status.json").write_text('{"state": "finished", "created": 1}')
    checkpoint = run / "best.pt"
    coordinates = np.random.default_rng(0).normal(size=(len(dataset), 2)).astype(np.float32)
    cache = map_cache_path(dataset, checkpoint)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.save(cache, coordinates)
    return checkpoint


def point_count(values) -> int:
    """Points in a plotly trace's x: a list, or a typed array ({"dtype": "f4", "bdata": base64})."""
    if isinstance(values, list):
        return len(values)
    return len(base64.b64decode(values["bdata"])) // np.dtype(values["dtype"]).itemsize


def open_page(page: str, **query) -> AppTest:
    app = AppTest.from_file(MAIN, default_timeout=120)
    for key, value in query.items():
        app.query_params[key] = value
    app.run()
    app.switch_page(str(REPO_ROOT / "pages" / page))
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


@pytest.mark.slow
def test_map_page_draws_every_face_coloured_by_label(audited):
    app = open_page("map.py", model=str(audited))
    assert app.title[0].value == "Map"
    traces = json.loads(app.get("plotly_chart")[0].proto.spec)["data"]
    assert sum(point_count(trace["x"]) for trace in traces) == 50
    assert {trace["name"] for trace in traces} == set(load_dataset().meta["label"])
    assert "duplicate group" in app.get("button_group")[0].proto.options[-1].content


@pytest.mark.slow
def test_map_page_offers_the_job_when_the_map_is_missing(audited):
    map_cache_path(load_dataset(), audited).unlink()
    app = open_page("map.py", model=str(audited))
    assert [b.label for b in app.button] == ["Run the audit again", "Compute the map"]
    assert [m.value for m in app.metric] == ["2", "3", "2", "3"]


@pytest.mark.slow
def test_browse_shows_the_map_selection_and_the_group_view(audited):
    app = open_page("browse.py", rows=f"{EXACT_TRAIN},{EXACT_PRIVATE},7")
    assert "3 images match" in app.number_input[0].label
    app.checkbox(key="browse_conflicts").check().run()
    assert "2 images match" in app.number_input[0].label
    app.button(key=f"group-{EXACT_TRAIN}").click().run()
    assert not app.exception
    text = " ".join(m.value for m in app.markdown)
    assert "the labels conflict" in text and "PrivateTest,Training" in text
