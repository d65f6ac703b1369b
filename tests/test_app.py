"""The Streamlit studio renders every page on the shipped sample and on an import (AppTest, no browser)."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core import job_status
from core.data.dataset import build_fer2013_dataset
from core.data.store import save_dataset
from core.paths import REPO_ROOT

MAIN = str(REPO_ROOT / "app" / "main.py")


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """Empty data, runs and checkpoint folders, so the app shows the sample and no models."""
    monkeypatch.setattr("core.inference.catalog.CHECKPOINTS_DIR", tmp_path / "checkpoints")
    return tmp_path


@pytest.fixture
def tiny_model(isolated, tiny_run):
    """A finished run the catalog lists (so pages have a model): a copy of the session's tiny run."""
    run = shutil.copytree(tiny_run, isolated / "runs" / "tiny")
    (run / "status.json").write_text('{"state": "finished", "created": 1}')
    return run / "best.pt"


def run_page(page_file: str | None = None, **query) -> AppTest:
    app = AppTest.from_file(MAIN, default_timeout=120)
    for key, value in query.items():
        app.query_params[key] = value
    app.run()
    if page_file:
        app.switch_page(str(REPO_ROOT / "pages" / page_file))
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
    assert "Imported 21 images." in [s.value for s in app.success]  # the result line outlives the rerun
    assert app.metric[0].value == "21" and not any("sample" in i.value for i in app.info)
    assert app.button(key="data_import_csv").disabled  # a second import replaces this one: confirm first
    app.checkbox(key="data_replace_confirm").check().run()
    assert not app.button(key="data_import_csv").disabled


def test_data_page_prefills_the_shared_data_and_imports_it_as_is(small_csvs, monkeypatch, tmp_path):
    fer_path, plus_path, _ = small_csvs
    shared = tmp_path / "shared"
    (shared / "fer2013").mkdir(parents=True)
    (shared / "fer2013" / "fer2013.csv.gz").write_bytes(gzip.compress(fer_path.read_bytes()))
    shutil.copy(plus_path, shared / "fer2013" / "fer2013new.csv")
    monkeypatch.setenv("FER_SHARED_DATA", str(shared))
    app = run_page()
    assert app.text_input(key="data_fer_path").value == str(shared / "fer2013" / "fer2013.csv.gz")
    app.button(key="data_import_csv").click().run()
    assert "Imported 21 images." in [s.value for s in app.success]


def test_data_page_says_why_a_path_is_refused(small_csvs):
    app = run_page()
    app.text_input(key="data_fer_path").set_value("/etc/passwd")
    app.button(key="data_import_csv").click().run()
    assert any("outside the folders allowed" in e.value for e in app.error)


def chart_spec(app: AppTest, key: str) -> dict:
    """The plotly figure of the chart with `key`, as JSON."""
    return next(json.loads(c.proto.spec) for c in app.get("plotly_chart") if key in c.proto.id)


def test_data_page_counts_as_shares_or_on_own_axes_and_agreement_in_class_order():
    app = run_page()
    layout = chart_spec(app, "data_counts_chart")["layout"]
    assert layout["yaxis"]["tickformat"] == ".0%"
    app.radio(key="data_count_scale").set_value("images (each split its own y-axis)").run()
    layout = chart_spec(app, "data_counts_chart")["layout"]
    assert "matches" not in layout["yaxis2"] and layout["yaxis2"]["showticklabels"]
    heat = chart_spec(app, "data_agreement_chart")["data"][0]
    assert list(heat["x"][:7]) == list(heat["y"]) and heat["customdata"]  # one order: agreement on the diagonal
    assert list(heat["x"][7:]) == ["contempt", "not a face", "unknown", "no majority"]


def test_data_page_picks_the_augmentation_face_by_class():
    app = run_page()
    app.selectbox(key="data_augment_class").set_value("disgust").run()
    assert any(": disgust (" in c.value for c in app.caption)
    app.button(key="data_augment_next").click().run()
    assert not app.exception and any(": disgust (" in c.value for c in app.caption)


def test_dates_read_as_words():
    from app.text import readable_date

    assert readable_date("2026-12-01T13:23:05") == "1 Dec 2026, 13:23"
    assert readable_date(None) == "?" and readable_date("yesterday") == "yesterday"


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


def test_browse_page_reads_its_filters_and_page_from_the_url():
    app = run_page("browse.py", splits=json.dumps(["PrivateTest"]), page="2")
    assert "157 images match" in app.number_input(key="browse_page").label
    assert app.number_input(key="browse_page").value == 2
    app.multiselect(key="browse_splits").set_value([]).run()
    assert "splits" not in app.query_params  # defaults leave the URL
    app.checkbox(key="browse_disagree").check().run()
    assert app.query_params["disagree"] == "true"


def test_browse_bulk_label_is_one_batch_undone_at_once(isolated):
    from core.labels.relabels import RelabelStore

    app = run_page("browse.py", annotator="ann")
    assert app.button(key="browse_bulk_apply").disabled  # nothing picked yet
    app.button(key="browse_select_page").click().run()
    assert app.button(key="browse_bulk_apply").label == "Label 48 selected"
    app.selectbox(key="browse_bulk_label").set_value("happy").run()
    app.button(key="browse_bulk_apply").click().run()
    assert not app.exception
    store = RelabelStore(isolated / "data" / "labels.sqlite")
    history = store.history()
    assert len(history) == 48 and history["batch"].nunique() == 1 and set(history["annotator"]) == {"ann"}
    assert set(store.current_labels().values()) == {"happy"} and not app.checkbox(key="browse_pick_0").value
    assert len(store.actions()) == 1
    app.button(key="browse_bulk_undo").click().run()
    assert store.current_labels() == {}


def test_browse_dialog_labels_with_the_relabel_keys_and_moves_on(isolated):
    from core.labels.relabels import RelabelStore

    app = run_page("browse.py", annotator="ann")
    app.button(key="open-0").click().run()  # AppTest reruns the whole page on a click in the dialog (a browser
    assert any("face 1 of 472" in m.value for m in app.markdown)  # reruns the dialog: tests/test_browser_flows.py)
    assert app.button(key="browse_face_back").disabled and app.button(key="browse_face_happy").proto.shortcut
    app.button(key="browse_face_happy").click().run()
    assert not app.exception and app.session_state["browse_face"] == 1  # the next face
    assert list(RelabelStore(isolated / "data" / "labels.sqlite").current_labels().values()) == ["happy"]


def test_browse_page_ignores_a_stale_link():
    app = run_page("browse.py", splits=json.dumps(["Nope"]), agreement="[2]", page="9999", disagree="{")
    assert "472 images match" in app.number_input(key="browse_page").label
    assert app.number_input(key="browse_page").value == 10  # the last page


def test_url_values_read_back_as_the_widget_takes_them():
    from app.url_state import decoded

    assert decoded('["a", "x"]', [], ("a", "b")) == ["a"]
    assert decoded("[0.2, 0.8]", (0.0, 1.0), None) == (0.2, 0.8)
    assert decoded("[0.2]", (0.0, 1.0), None) is None and decoded("true", 0, None) is None
    assert decoded("3", 1, None) == 3 and decoded("false", True, None) is False and decoded("{", 1, None) is None


def test_browse_page_runs_the_predictions_job_in_the_background(tiny_model, isolated):
    from core.data.store import load_sample
    from core.inference.dataset_predictions import load_cached
    from core.jobs import prediction_job

    app = run_page("browse.py")
    app.toggle(key="browse_predictions").set_value(True).run()
    assert app.button(key="browse_predict").label == "Compute the model's predictions"
    app.button(key="browse_predict").click().run()
    assert not app.exception
    status = prediction_job.job_status(load_sample(), tiny_model)
    assert status is not None and status["pid"]  # a process of its own: the page did not wait for it
    deadline = time.time() + 300
    while load_cached(load_sample(), tiny_model) is None and time.time() < deadline:
        time.sleep(0.5)
    app.run()
    assert app.multiselect(key="browse_predicted").options  # the page uses the cache
    assert prediction_job.job_status(load_sample(), tiny_model)["state"] == "finished"


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
    app.text_input(key="train_name").set_value("first-run")
    app.button(key="train_start").click().run()
    assert not app.exception
    run_id = app.query_params["run"]
    assert run_id == "first-run"
    from core.jobs import runner

    deadline = time.time() + 400  # a shared 2-core machine took 209 s for this run
    while runner.refresh_status(run_id, isolated / "runs")["state"] in job_status.ACTIVE and time.time() < deadline:
        time.sleep(0.5)
    assert runner.refresh_status(run_id, isolated / "runs")["state"] == "finished"
    app = run_page("train.py")
    row = app.dataframe[0].value.set_index("name").loc[run_id]
    assert (row["model"], row["classes"], row["label source"]) == ("fernet", "fer3", "fer2013")
    assert 0 <= row["best PublicTest"] <= 1 and row["duration (min)"] >= 0
    app.text_input(key="train_name").set_value("first-run")
    app.button(key="train_start").click().run()
    assert "already exists" in app.error[0].value
    use = app.button(key="train_use")  # the only model there is, so already the studio's default: shown as in use
    assert use.disabled and use.label == "Using this model"
    app.button(key="train_delete").click().run()
    assert not (isolated / "runs" / run_id).exists() and not app.exception


def test_train_form_is_short_and_shows_an_option_only_where_it_applies(isolated):
    app = run_page("train.py")
    labels = [w.label for w in app.main.selectbox] + [w.label for w in app.main.number_input]
    assert "Tta" not in labels and "Amp" not in labels and "Test-time augmentation" in labels
    keys = {w.key for w in [*app.selectbox, *app.text_input, *app.number_input]}
    assert "train_cleaning" not in keys and "train_milestones" not in keys and "train_plateau_patience" not in keys
    app.selectbox(key="train_label_source").set_value("cleaned").run()
    assert app.selectbox(key="train_cleaning")
    app.selectbox(key="train_schedule").set_value("step").run()
    assert app.text_input(key="train_milestones") and not any(
        w.key == "train_plateau_patience" for w in app.number_input
    )
    app.selectbox(key="train_schedule").set_value("plateau").run()
    assert app.number_input(key="train_plateau_patience")
    short = app.main.expander[0]  # the Advanced expander holds the rest
    assert {w.key for w in short.selectbox} >= {"train_schedule", "train_tta"}


def test_train_page_refuses_a_class_without_training_images(isolated):
    app = run_page("train.py")
    app.selectbox(key="train_classes").set_value("custom")
    app.multiselect(key="train_custom_classes").set_value(["happy", "contempt"])
    app.button(key="train_start").click().run()
    assert "contempt has no Training image under fer2013 labels" in app.error[0].value
    assert "run" not in app.query_params and not (isolated / "runs").exists()


def test_models_page_lists_every_registered_model_on_request():
    from core.models.registry import list_models

    app = run_page("models.py")
    assert not app.dataframe  # counting parameters builds every model: only after the toggle
    app.toggle(key="models_architectures").set_value(True).run()
    assert list(app.dataframe[0].value["model"]) == list_models()


@pytest.fixture
def shipped(isolated, tiny_run, monkeypatch):
    """The session's tiny model as a shipped checkpoint `tiny.pt`, with a card and an image beside it."""
    folder = isolated / "checkpoints"
    folder.mkdir()
    monkeypatch.setattr("core.evaluation.report.CHECKPOINTS_DIR", folder)
    path = Path(shutil.copy(tiny_run / "best.pt", folder / "tiny.pt"))
    shutil.copy(REPO_ROOT / "checkpoints" / "fer2013_fernet_confusion.png", folder / "tiny_confusion.png")
    (folder / "tiny.md").write_text("# tiny\n\nA card.\n\n![confusion matrix](tiny_confusion.png)\n")
    return path


def test_models_page_offers_to_evaluate_a_checkpoint_without_report(shipped):
    app = run_page("models.py")
    assert app.button(key="models_evaluate_0")
    assert "A card." in [m.value for m in app.markdown][1]
    assert not app.dataframe


def test_models_page_shows_the_accuracy_a_card_holds(shipped):
    card = (REPO_ROOT / "checkpoints" / "fer2013_fernet_int8.md").read_text()
    (shipped.parent / "tiny.md").write_text(card)
    app = run_page("models.py")
    assert app.dataframe[0].value.set_index("split").loc["PrivateTest", "int8, flip"] == pytest.approx(0.7247)
    assert not any(b.key == "models_evaluate_0" for b in app.button)


def test_models_page_shows_a_shipped_checkpoint_with_its_report_and_sets_the_model(shipped, tiny_model, isolated):
    from core.evaluation.report import default_report_dir
    from core.run_folder import report_name

    folder = default_report_dir(shipped)
    assert folder == isolated / "data" / "reports" / "tiny"
    folder.mkdir(parents=True)
    calibration = {"ece": 0.05, "ece_before": 0.08}
    report = {
        "tta": "none",
        "temperature": 1.0,
        "label_source": "fer2013",
        "reports": {
            "PublicTest": {"n": 10, "accuracy": 0.6, "calibration": calibration},
            "PrivateTest": {"n": 10, "accuracy": 0.7, "calibration": calibration},
        },
    }
    (folder / report_name(shipped)).write_text(json.dumps(report))
    app = run_page("models.py", model=str(tiny_model))  # the run is the current model, the shipped one is not
    table = app.dataframe[0].value
    assert list(table["accuracy"]) == [0.6, 0.7] and list(table["ECE"]) == [0.05, 0.05]
    app.button(key="models_use_0").click().run()
    assert not app.exception and app.query_params["model"] == str(shipped)
    assert "current model" in app.markdown[0].value


def test_models_page_first_paint_imports_no_torch(isolated):
    script = (
        f"import sys\nfrom streamlit.testing.v1 import AppTest\n"
        f"app = AppTest.from_file({MAIN!r}, default_timeout=120)\n"
        f"app.switch_page({str(REPO_ROOT / 'pages' / 'models.py')!r})\napp.run()\n"
        "assert not app.exception, [e.value for e in app.exception]\n"
        "assert app.markdown, 'the shipped checkpoints are listed'\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    assert done.returncode == 0, done.stderr[-2000:]


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
    app.button(key="relabel_export").click().run()
    download = app.get("download_button")[0]
    assert not app.exception and "labels_relabeled.zip" in download.proto.label
    assert (isolated / "data" / "exports" / "labels_relabeled.zip").is_file()


def test_relabel_page_scores_annotators_and_keeps_the_table_across_key_presses(isolated, monkeypatch):
    import pandas as pd

    import core.jobs.label_issues

    app = run_page("relabel.py", annotator="ann")
    app.button(key="relabel_annotators").click().run()  # the sample has no out-of-fold probabilities
    assert any("label-issues --compute" in i.value for i in app.info)
    stats = pd.DataFrame({"annotator": ["annotator:ann", "ferplus_1"], "annotator_quality": [0.9, 0.6]})
    monkeypatch.setattr(core.jobs.label_issues, "load_consensus", lambda dataset: (pd.DataFrame(), stats))
    app.button(key="relabel_annotators").click().run()
    app.button(key="class-happy").click().run()
    assert list(app.dataframe[0].value["annotator"]) == ["annotator:ann", "ferplus_1"]


def test_relabel_fragment_flow_writes_each_event_once(isolated):
    from core.labels.relabels import RelabelStore

    app = run_page("relabel.py", annotator="ann")
    session = app.session_state["relabel_session"]
    first = session.item["image_id"]
    app.button(key="class-happy").click().run()
    store = RelabelStore(isolated / "data" / "labels.sqlite")
    assert store.count() == 1 and store.current_labels() == {first: "happy"}
    assert session.message == f"{first} → happy · U to undo"
    app.button(key="relabel_back").click().run()
    assert store.count() == 1 and session.item["image_id"] == first and session.item["label"] == "happy"
    app.button(key="relabel_skip").click().run()
    app.button(key="relabel_undo").click().run()
    assert store.count() == 2 and store.current_labels() == {} and session.item["image_id"] == first
    assert not app.exception


def test_relabel_queue_is_disputed_only_without_privatetest(isolated):
    from app.state import current_dataset
    from core.labels.queue import disputed_queue

    app = run_page("relabel.py", annotator="ann")
    queue = app.session_state["relabel_session"].queue
    assert "PrivateTest" not in set(queue["split"]) and queue["disputed"].all()
    assert any("benchmark" in c.value for c in app.sidebar.caption)
    dataset = current_dataset()
    expected = disputed_queue(dataset, disputed_only=True, splits=["Training", "PublicTest"])
    assert len(queue) == len(expected) < len(dataset)
    app.multiselect(key="relabel_splits").set_value(["PrivateTest"]).run()
    assert set(app.session_state["relabel_session"].queue["split"]) == {"PrivateTest"}


def fake_run(root, run_id: str, created: float, **status):
    """A run folder with a config and the given status.json, no worker behind it."""
    from core.files import write_json
    from core.job_status import STATUS
    from core.run_folder import RunFolder
    from core.training.config import TrainConfig

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
    from core.jobs import runner

    run = shutil.copytree(tiny_run, isolated / "runs" / "halted")
    (run / "status.json").write_text('{"state": "stopped", "created": 1}')
    launched = []
    monkeypatch.setattr(runner, "launch", lambda path, resume: launched.append((path.name, resume)))
    app = run_page("train.py")
    assert not app.button(key="train_resume").disabled
    app.button(key="train_resume").click().run()
    assert not app.exception and launched == [("halted", True)]
    assert job_status.read_status(run)["state"] == "queued"
    assert "Run halted: queued" in app.subheader[0].value
    assert not [b for b in app.button if b.key == "train_resume"] and app.button(key="train_stop")


def test_train_page_says_what_an_active_run_is_doing(isolated):
    fake_run(
        isolated,
        "scoring",
        1,
        state="running",
        phase="evaluating best.pt",
        progress=1.0,
        epoch=1,
        step=60,
        steps=60,
        eta_seconds=0,
        **alive(),
    )
    app = run_page("train.py")
    assert "Run scoring: running (evaluating best.pt)" in app.subheader[0].value
    assert any("Evaluating best.pt on every split" in i.value for i in app.info)
    assert list(app.dataframe[0].value["state"]) == ["evaluating best.pt"]
    fake_run(
        isolated,
        "scoring",
        1,
        state="running",
        phase="training",
        epoch=1,
        step=20,
        steps=60,
        eta_seconds=90,
        stop_requested=5,
        **alive(),
    )
    app = run_page("train.py")
    assert "(stopping…)" in app.subheader[0].value and any("Stopping" in i.value for i in app.info)
    assert "left" not in app.get("progress")[0].proto.text and not [b for b in app.button if b.key == "train_stop"]


def test_a_model_path_in_the_url_counts_only_inside_checkpoints_and_runs(
    tiny_model, isolated, tmp_path_factory, monkeypatch
):
    import app.state as state

    second = shutil.copytree(tiny_model.parent, isolated / "runs" / "second") / "best.pt"  # listed, not the default
    elsewhere = tmp_path_factory.mktemp("elsewhere") / "model.pt"
    shutil.copyfile(tiny_model, elsewhere)  # a real checkpoint, but not one the sidebar lists
    monkeypatch.setattr(state.st, "query_params", {"model": str(elsewhere)})
    default = state.current_model_path()
    assert default != elsewhere and default in (tiny_model, second)
    other = second if default == tiny_model else tiny_model
    monkeypatch.setattr(state.st, "query_params", {"model": str(other)})
    assert state.current_model_path() == other  # a listed model named in the URL is the one used


@pytest.mark.parametrize(
    "readiness, shown", [("ready", "link"), ("starting", "Starting the live app"), ("failed", "stopped while starting")]
)
def test_predict_page_shows_the_live_apps_state(tiny_model, monkeypatch, readiness, shown):
    """The live-app section runs to the end whichever state the Gradio process is in (a name the page lost once
    raised here on every rerun, after the predictions, where no test looked)."""
    from app.gradio import server as gradio_server

    monkeypatch.setattr(gradio_server, "ensure_started", lambda **_: {"url": "http://127.0.0.1:7999", "pid": 1})
    monkeypatch.setattr(gradio_server, "readiness", lambda state: readiness)
    monkeypatch.setattr(gradio_server, "log_tail", lambda: "the log")
    app = run_page("predict.py")
    app.button(key="gradio_start").click().run()
    assert not app.exception, [e.value for e in app.exception]
    if shown == "link":
        url = urllib.parse.urlsplit(app.get("link_button")[0].proto.url)  # carries the studio's current model
        assert url.netloc == "127.0.0.1:7999" and urllib.parse.parse_qs(url.query)["model"] == [str(tiny_model)]
    else:
        texts = [c.value for c in app.caption] + [e.value for e in app.error]
        assert any(shown in t for t in texts), texts


def test_predict_page_under_apptest_does_not_start_the_live_app(tiny_model, monkeypatch):
    """Loading the page starts the Gradio app only under `streamlit run`: under AppTest nothing could open it, and the
    process would outlive the test. The button still starts it."""
    from app.gradio import server as gradio_server

    started = []
    monkeypatch.setenv("FER_GRADIO_AUTOSTART", "1")
    monkeypatch.setattr(gradio_server, "ensure_started", lambda **_: started.append(1) or {"url": "http://x", "pid": 1})
    monkeypatch.setattr(gradio_server, "readiness", lambda state: "ready")
    app = run_page("predict.py")
    assert not app.exception, [e.value for e in app.exception]
    assert not started and app.button(key="gradio_start")
    app.button(key="gradio_start").click().run()
    assert started
