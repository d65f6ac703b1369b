"""The Streamlit studio renders every page on the shipped sample and on an import (AppTest, no browser)."""
from __future__ import annotations

import shutil
import time

import pytest
from streamlit.testing.v1 import AppTest

from core.data.dataset import build_fer2013_dataset
from core.paths import REPO_ROOT
from core.data.store import save_dataset

MAIN = str(REPO_ROOT / "app" / "main.py")


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """Empty data, runs and checkpoint folders, so the app shows the sample and no models."""
    monkeypatch.setenv("FER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FER_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setattr("core.inference.catalog.CHECKPOINTS_DIR", tmp_path / "checkpoints")
    return tmp_path


@pytest.fixture
def tiny_model(isolated, tiny_run):
    """A finished run the catalog lists (so pages have a model): a copy of the session's tiny run."""
    run = shutil.copytree(tiny_run, isolated / "runs" / "tiny")
    (run / "status.json").write_text('{"state": "finished", "created": 1}')
    return run / "best.pt"


def run_page(page: str | None = None, **query) -> AppTest:
    app = AppTest.from_file(MAIN, default_timeout=120)
    for key, value in query.items():
        app.query_params[key] = value
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
    assert [m.value for m in app.metric][1:4] == ["160", "155", "157"]
    assert any("Fleiss" in m.label for m in app.metric)


def test_data_page_imports_from_a_server_path(small_csvs, monkeypatch):
    fer_path, plus_path, _ = small_csvs
    monkeypatch.setenv("FER_IMPORT_ROOTS", str(fer_path.parent))  # typed paths must lie inside the import roots
    app = run_page()
    app.text_input(key="data_fer_path").set_value(str(fer_path))
    app.text_input(key="data_plus_path").set_value(str(plus_path))
    app.button(key="data_import_csv").click().run()
    assert not app.exception
    app = run_page()
    assert app.metric[0].value == "21" and not any("sample" in i.value for i in app.info)


def test_data_page_on_an_import(small_csvs, isolated):
    fer_path, plus_path, _ = small_csvs
    save_dataset(build_fer2013_dataset(fer_path, plus_path), isolated / "data")
    app = run_page()
    assert app.metric[0].value == "21"
    assert "21 images" in app.sidebar.success[0].value


def test_browse_page_pages_and_filters():
    app = run_page("browse.py")
    assert "472 images match" in app.number_input(key="browse_page").label
    app.multiselect(key="browse_splits").set_value(["PrivateTest"]).run()
    assert not app.exception and "157 images match" in app.number_input(key="browse_page").label


def test_predict_page_without_a_model_says_how_to_get_one():
    app = run_page("predict.py")
    assert any("Train page" in w.value for w in app.warning)


def test_predict_page_with_a_model(tiny_model):
    app = run_page("predict.py")
    assert not any("Train page" in w.value for w in app.warning) and any("7 classes" in c.value for c in app.caption)


def test_train_page_starts_a_run_that_shows_in_the_runs_table(isolated):
    app = run_page("train.py")
    app.selectbox(key="train_classes").set_value("fer3")
    app.number_input(key="train_epochs").set_value(1)
    app.number_input(key="train_batch_size").set_value(8)
    app.number_input(key="train_max_steps_per_epoch").set_value(2)
    app.button[0].click().run()
    assert not app.exception
    run_id = app.query_params["run"]
    from core.training import runner
    deadline = time.time() + 120
    while runner.refresh_status(run_id, isolated / "runs")["state"] in runner.ACTIVE and time.time() < deadline:
        time.sleep(0.5)
    assert runner.refresh_status(run_id, isolated / "runs")["state"] == "finished"
    app = run_page("train.py")
    assert run_id in list(app.dataframe[0].value["id"])


def test_models_page_lists_every_registered_model():
    from core.models.registry import list_models

    app = run_page("models.py")
    assert list(app.dataframe[0].value["model"]) == list_models()


def test_relabel_page_asks_for_a_name_first():
    app = run_page("relabel.py")
    assert any("Annotator" in w.value for w in app.warning)


def test_relabel_page_records_events_and_undo(isolated):
    from core.labels.relabels import RelabelStore

    app = run_page("relabel.py", annotator="ann")
    app.button(key="class-happy").click().run()
    assert not app.exception
    store = RelabelStore(isolated / "data" / "labels.sqlite")
    assert list(store.current_labels().values()) == ["happy"]
    app.button(key="class-sad").click().run()
    assert sorted(store.current_labels().values()) == ["happy", "sad"]  # two images: it moved on by itself
    app.button(key="relabel_undo").click().run()
    assert list(store.current_labels().values()) == ["happy"]
    history = store.history(annotator="ann")
    assert len(history) == 3 and history["undone"].sum() == 1


def fake_run(root, run_id: str, created: float, **status):
    """A run folder with a config and the given status.json, no worker behind it."""
    from core.files import write_json
    from core.training.config import TrainConfig
    from core.training.run_folder import STATUS, RunFolder

    folder = RunFolder(root / "runs" / run_id)
    folder.save_config(TrainConfig(model="fernet", classes="fer3"))
    write_json(folder.file(STATUS), {"created": created, **status})
    return folder


def alive() -> dict:
    """pid fields that make a fake active run look alive: this test process."""
    import os

    from core.processes import process_start_time
    return {"pid": os.getpid(), "pid_start": process_start_time(os.getpid())}


def test_train_page_run_picker_follows_and_sets_the_url(isolated):
    fake_run(isolated, "older", 1, state="finished")
    fake_run(isolated, "newer", 2, state="stopped")
    app = run_page("train.py")
    picker = app.selectbox(key="train_run")
    assert picker.options == ["newer", "older"] and picker.value == "newer"
    picker.set_value("older").run()
    assert not app.exception and app.query_params["run"] == "older"
    assert "Run older: finished" in app.subheader[0].value
    app = run_page("train.py", run="older")
    assert app.selectbox(key="train_run").value == "older"


def test_train_page_resumes_a_stopped_run(isolated, tiny_run, monkeypatch):
    from core.training import runner

    run = shutil.copytree(tiny_run, isolated / "runs" / "halted")
    (run / "status.json").write_text('{"state": "stopped", "created": 1}')
    launched = []
    monkeypatch.setattr(runner, "launch", lambda path, resume: launched.append((path.name, resume)))
    app = run_page("train.py")
    assert not app.button(key="train_resume").disabled
    app.button(key="train_resume").click().run()
    assert not app.exception and launched == [("halted", True)]
    assert runner.read_status(run)["state"] == "queued"
    assert "Run halted: queued" in app.subheader[0].value
    assert not [b for b in app.button if b.key == "train_resume"] and app.button(key="train_stop")


def test_train_page_says_what_an_active_run_is_doing(isolated):
    fake_run(isolated, "scoring", 1, state="running", phase="evaluating best.pt", progress=1.0, epoch=1, step=60,
             steps=60, eta_seconds=0, **alive())
    app = run_page("train.py")
    assert "Run scoring: running (evaluating best.pt)" in app.subheader[0].value
    assert any("Evaluating best.pt on every split" in i.value for i in app.info)
    assert list(app.dataframe[0].value["phase"]) == ["evaluating best.pt"]
    fake_run(isolated, "scoring", 1, state="running", phase="training", epoch=1, step=20, steps=60, eta_seconds=90,
             stop_requested=5, **alive())
    app = run_page("train.py")
    assert "(stopping…)" in app.subheader[0].value and any("Stopping" in i.value for i in app.info)
    assert "left" not in app.get("progress")[0].proto.text and not [b for b in app.button if b.key == "train_stop"]
