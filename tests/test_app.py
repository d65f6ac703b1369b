"""The Streamlit studio renders on the shipped sample and on an imported data set (AppTest, no browser)."""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from core.dataset import build_fer2013_dataset
from core.paths import REPO_ROOT
from core.store import save_dataset

MAIN = str(REPO_ROOT / "app" / "main.py")


@pytest.fixture(autouse=True)
def empty_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("FER_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def run_page(page: str | None = None) -> AppTest:
    app = AppTest.from_file(MAIN, default_timeout=60)
    app.run()
    if page:
        app.switch_page(str(REPO_ROOT / "pages" / page))
        app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def test_data_page_on_the_sample_says_it_is_a_sample():
    app = run_page()
    assert app.title[0].value == "Data"
    assert any("sample" in i.value for i in app.info)
    assert any("import-data" in w.value or "sample" in w.value for w in app.sidebar.warning)
    assert [m.value for m in app.metric][1:] == ["160", "155", "157"]


def test_data_page_on_an_import(small_csvs, empty_data_dir):
    fer_path, plus_path, _ = small_csvs
    save_dataset(build_fer2013_dataset(fer_path, plus_path), empty_data_dir)
    app = run_page()
    assert not app.info and app.metric[0].value == "21"
    assert "21 images" in app.sidebar.success[0].value


def test_models_page_lists_every_registered_model():
    from core.registry import list_models

    app = run_page("models.py")
    names = list(app.dataframe[0].value["model"])
    assert names == list_models()
