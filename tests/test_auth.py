"""The login gate and the role checks in the studio's actions (AppTest, no browser).

A replayed click comes in two kinds. On a button disabled on screen, Streamlit (1.67) itself discards the forged
value (`replay_click` checks that nothing happens). On a button that was enabled when drawn (the run changed hands,
the role changed) the click's callback runs before the page: there only the check inside the action stands, which
is what these tests exercise, also by calling the actions directly as such a callback would.
"""

from __future__ import annotations

import json
import subprocess
import time

import pytest
from streamlit.testing.v1 import AppTest

from core.paths import REPO_ROOT
from core.processes import process_start_time
from core.run_folder import RunFolder
from core.training.config import TrainConfig
from core.users.run_owners import record_owner
from core.users.store import UserStore

pytestmark = pytest.mark.slow  # each test runs the studio's script a few times (about 10 s each here)
MAIN = str(REPO_ROOT / "app" / "main.py")
PASSWORDS = {"ada": "ada-password", "bob": "bob-password"}


@pytest.fixture
def team(tmp_path, monkeypatch):
    monkeypatch.setenv("FER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FER_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setattr("core.inference.catalog.CHECKPOINTS_DIR", tmp_path / "checkpoints")
    users = UserStore()
    users.add("ada", "admin", PASSWORDS["ada"])
    users.add("bob", "annotator", PASSWORDS["bob"])
    return tmp_path


@pytest.fixture
def admins_run(team):
    """A run that ada is running (a sleeping stand-in for its worker)."""
    worker = subprocess.Popen(["sleep", "3600"])
    folder = team / "runs" / "ada-run"
    folder.mkdir(parents=True)
    RunFolder(folder).save_config(TrainConfig(epochs=1))
    (folder / "status.json").write_text(
        json.dumps(
            {
                "state": "running",
                "phase": "training",
                "created": time.time(),
                "pid": worker.pid,
                "pid_start": process_start_time(worker.pid),
                "epoch": 1,
                "progress": 0.1,
            }
        )
    )
    record_owner("ada-run", "ada")
    yield folder
    worker.kill()
    worker.wait()


def signed_in(name: str | None, page: str | None = None, **query) -> AppTest:
    app = AppTest.from_file(MAIN, default_timeout=120)
    for key, value in query.items():
        app.query_params[key] = value
    app.run()
    if name is not None:
        inputs = {t.label: t for t in app.text_input}
        inputs["Name"].input(name.upper())
        inputs["Password"].input(PASSWORDS[name])
        next(b for b in app.button if b.label == "Sign in").click().run()
    if page:
        app.switch_page(str(REPO_ROOT / "pages" / page))
        app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def replay_click(app: AppTest, key: str) -> AppTest:
    """Send a button's click as a client message would, disabled on screen or not (AppTest itself refuses
    disabled widgets, as a browser does; a hand-made websocket message does not)."""
    button = app.button(key=key)
    button.proto.disabled = False
    return button.click().run()


def test_with_accounts_only_the_login_form_runs(team):
    app = signed_in(None)
    assert [t.value for t in app.title] == ["FER Studio"]
    assert {t.label for t in app.text_input} == {"Name", "Password"}
    assert not app.metric and not app.sidebar.text_input  # no page ran, no annotator field


def test_a_wrong_password_signs_nobody_in(team):
    app = AppTest.from_file(MAIN, default_timeout=120)
    app.run()
    inputs = {t.label: t for t in app.text_input}
    inputs["Name"].input("bob")
    inputs["Password"].input("ada-password")
    next(b for b in app.button if b.label == "Sign in").click().run()
    assert any("Wrong name or password" in e.value for e in app.error)
    assert [t.value for t in app.title] == ["FER Studio"]


def test_signed_in_the_pages_run_under_the_account(team):
    app = signed_in("bob")
    assert "Data" in [t.value for t in app.title]
    assert any("Signed in as **bob** (annotator)" in c.value for c in app.sidebar.caption)
    assert not [t for t in app.sidebar.text_input if t.label == "Annotator"]


def test_a_replayed_import_click_from_an_annotator_imports_nothing(team, small_csvs):
    fer, plus, _ = small_csvs
    app = signed_in("bob")
    assert app.button(key="data_import_csv").disabled
    app.text_input(key="data_fer_path").set_value(str(fer))
    app.text_input(key="data_plus_path").set_value(str(plus))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FER_IMPORT_ROOTS", str(fer.parent))
        replay_click(app, "data_import_csv")
    assert not (team / "data" / "datasets").exists()


def test_an_admin_imports(team, small_csvs, monkeypatch):
    fer, plus, _ = small_csvs
    monkeypatch.setenv("FER_IMPORT_ROOTS", str(fer.parent))
    app = signed_in("ada")
    app.text_input(key="data_fer_path").set_value(str(fer))
    app.text_input(key="data_plus_path").set_value(str(plus))
    app.button(key="data_import_csv").click().run()
    assert not app.exception and not app.error
    assert any("Imported 21 images" in s.value for s in app.success)


def test_a_replayed_stop_of_an_admins_run_from_an_annotator_stops_nothing(team, admins_run):
    app = signed_in("bob", "train.py", run="ada-run")
    assert app.button(key="train_stop").disabled
    replay_click(app, "train_stop")
    assert "stop_requested" not in json.loads((admins_run / "status.json").read_text())


def test_a_stop_click_after_the_run_changed_hands_stops_nothing(team, admins_run):
    record_owner("ada-run", "bob")
    app = signed_in("bob", "train.py", run="ada-run")
    assert not app.button(key="train_stop").disabled  # drawn while bob's: the click's callback will run
    record_owner("ada-run", "ada")
    app.button(key="train_stop").click().run()
    assert "stop_requested" not in json.loads((admins_run / "status.json").read_text())
    assert any("Cannot stop" in e.value and "only they or an admin may" in e.value for e in app.error), [
        e.value for e in app.error
    ]


def test_the_actions_check_the_role_whoever_calls_them(team, admins_run, monkeypatch):
    from app import auth

    monkeypatch.setattr(auth.st, "session_state", {auth.ACCOUNT_KEY: "bob"})
    for action in (
        lambda: auth.require("import_data"),
        lambda: auth.stop_run("ada-run"),
        lambda: auth.resume_run("ada-run"),
    ):
        with pytest.raises(auth.NotAllowed):
            action()
    assert "stop_requested" not in json.loads((admins_run / "status.json").read_text())
    monkeypatch.setattr(auth.st, "session_state", {})  # accounts exist and nobody signed in
    with pytest.raises(auth.NotAllowed, match="Sign in first"):
        auth.require("relabel")
    UserStore().remove("bob")  # a removed account loses its rights at once
    monkeypatch.setattr(auth.st, "session_state", {auth.ACCOUNT_KEY: "bob"})
    with pytest.raises(auth.NotAllowed):
        auth.require("relabel")
    monkeypatch.setattr(auth.st, "session_state", {auth.ACCOUNT_KEY: "ada"})
    auth.stop_run("ada-run")
    assert json.loads((admins_run / "status.json").read_text()).get("stop_requested")


def test_an_admin_stops_anyones_run(team, admins_run):
    record_owner("ada-run", "bob")
    app = signed_in("ada", "train.py", run="ada-run")
    assert not app.button(key="train_stop").disabled
    app.button(key="train_stop").click().run()
    assert json.loads((admins_run / "status.json").read_text()).get("stop_requested")


def test_an_annotator_stops_their_own_run(team, admins_run):
    record_owner("ada-run", "bob")
    app = signed_in("bob", "train.py", run="ada-run")
    app.button(key="train_stop").click().run()
    assert json.loads((admins_run / "status.json").read_text()).get("stop_requested")


def test_without_accounts_a_typed_name_is_normalised(tmp_path, monkeypatch):
    monkeypatch.setenv("FER_DATA_DIR", str(tmp_path / "data"))
    app = AppTest.from_file(MAIN, default_timeout=120)
    app.query_params["annotator"] = "Alice\u200b"
    app.run()
    assert app.sidebar.text_input[0].value == "alice"
    app.sidebar.text_input[0].set_value("x" * 70).run()
    assert any("at most 64 characters, got 70" in e.value for e in app.sidebar.error)
