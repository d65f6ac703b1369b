"""Security: no pickled code runs from a model file, UI paths stay inside their folders, free text is shown escaped,
and the dependency audit fails on a fixable vulnerability."""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import pickle
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

from app.text import escape_markdown
from core.errors import DataError
from core.inference.catalog import list_checkpoints
from core.inference.predictor import Predictor
from core.jobs.runner import list_runs, run_path, start_run
from core.models.checkpoint import load_checkpoint
from core.models.transfer import load_local_state_dict
from core.paths import REPO_ROOT, check_run_name, contained_path, safe_file_name
from core.training.config import TrainConfig
from core.users.names import normalise_name

MAIN = str(REPO_ROOT / "app" / "main.py")


class RunsCode:
    """Unpickling this calls Path.touch(marker): proof that code in a pickle ran."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return Path.touch, (self.marker,)


@pytest.fixture
def crafted(tmp_path) -> tuple[Path, Path]:
    """A .pt file that looks like a checkpoint but runs code when unpickled without weights_only."""
    marker = tmp_path / "code-ran"
    path = tmp_path / "runs" / "evil" / "best.pt"
    path.parent.mkdir(parents=True)
    torch.save({"format": "fer-studio-checkpoint", "state_dict": {}, "payload": RunsCode(marker)}, path)
    with zipfile.ZipFile(path) as archive:  # the file is a real attack: plain unpickling of its record runs it
        pickle.loads(archive.read(next(n for n in archive.namelist() if n.endswith("data.pkl"))))
    assert marker.exists()
    marker.unlink()
    return path, marker


@pytest.mark.parametrize("loader", [load_checkpoint, Predictor.load, load_local_state_dict], ids=lambda f: f.__name__)
def test_a_crafted_pickle_is_refused_and_its_code_never_runs(crafted, loader):
    path, marker = crafted
    with pytest.raises(ValueError if loader is not load_local_state_dict else Exception):
        loader(path)
    assert not marker.exists()


def test_the_model_list_skips_a_crafted_checkpoint_without_running_it(crafted, tmp_path):
    path, marker = crafted
    (path.parent / "status.json").write_text('{"state": "finished"}')
    entries = list_checkpoints(checkpoints_dir=tmp_path / "none", runs_root=tmp_path / "runs")
    assert [e.path for e in entries] == [] and not marker.exists()


@pytest.mark.slow
def test_cli_predict_refuses_a_crafted_checkpoint(crafted, tmp_path):
    path, marker = crafted
    image = REPO_ROOT / "docs" / "predict.png"
    done = subprocess.run(
        [sys.executable, "-m", "core", "predict", "--checkpoint", str(path), "--path", str(image)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0 and "not a loadable checkpoint" in done.stderr
    assert "Traceback" not in done.stderr and not marker.exists()


def test_every_torch_load_in_the_code_passes_weights_only_true():
    calls = []
    for folder in ("core", "app", "pages", "bench"):
        for file in (REPO_ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(file.read_text())):
                if isinstance(node, ast.Call) and ast.unparse(node.func) == "torch.load":
                    safe = any(k.arg == "weights_only" and ast.unparse(k.value) == "True" for k in node.keywords)
                    calls.append((file.name, node.lineno, safe))
    assert calls and all(safe for *_, safe in calls), calls


@pytest.mark.parametrize(
    "typed", ["../../etc/passwd", "/etc/passwd", "data/../../../etc", "~/.ssh/id_rsa", "data/\x00x", ""]
)
def test_typed_paths_cannot_leave_their_folders(typed, tmp_path):
    with pytest.raises(DataError):
        contained_path(typed, [REPO_ROOT / "data"])


def test_a_symlink_inside_the_folder_cannot_lead_outside(tmp_path):
    root, outside = tmp_path / "data", tmp_path / "secret"
    root.mkdir(), outside.mkdir()
    (outside / "fer2013.csv").write_text("emotion,pixels,Usage\n")
    (root / "link").symlink_to(outside)
    (root / "inside.csv").write_text("x")
    assert contained_path(root / "inside.csv", [root]) == (root / "inside.csv").resolve()
    with pytest.raises(DataError, match="outside the folders"):
        contained_path(root / "link" / "fer2013.csv", [root])


@pytest.mark.parametrize(
    "name, expected",
    [
        ("../../etc/passwd", "passwd"),
        ("..", "upload"),
        ("", "upload"),
        (".bashrc", "bashrc"),
        ("C:\\x\\fer2013.csv.gz", "fer2013.csv.gz"),
        ("a b(1).csv", "a_b_1_.csv"),
    ],
)
def test_upload_names_are_cut_to_a_plain_file_name(name, expected):
    assert safe_file_name(name) == expected


@pytest.mark.parametrize("name", ["../x", "/tmp/x", "a/b", ".hidden", "", "x" * 101, "a\nb"])
def test_run_names_are_plain_folder_names(name, tmp_path):
    with pytest.raises(DataError):
        check_run_name(name)
    if name:  # an empty name asks start_run for a generated one
        with pytest.raises(DataError):
            start_run(TrainConfig(), run_id=name, root=tmp_path / "runs")
    assert not any(tmp_path.rglob("config.json"))


def test_a_symlinked_run_folder_is_neither_listed_nor_opened(tmp_path):
    runs, outside = tmp_path / "runs", tmp_path / "elsewhere"
    runs.mkdir(), outside.mkdir()
    (outside / "config.json").write_text("{}")
    (runs / "sneaky").symlink_to(outside)
    assert list_runs(runs) == []
    with pytest.raises(ValueError, match="no run"):
        run_path("sneaky", runs)


def test_escape_markdown_shows_text_literally():
    text = "**bold** <b>x</b> ![img](http://evil.invalid/t.png) [link](http://x) :red[x] $x$ # h\n=="
    escaped = escape_markdown(text)
    for mark in ("*", "[", "]", "(", ")", "!", "<", ":", "$", "#", "="):
        assert f"\\{mark}" in escaped
    assert "\n" not in escaped


@pytest.fixture
def studio_dirs(tmp_path, monkeypatch):
    monkeypatch.setattr("core.inference.catalog.CHECKPOINTS_DIR", tmp_path / "checkpoints")
    return tmp_path


def page(name: str, **query) -> AppTest:
    app = AppTest.from_file(MAIN, default_timeout=120)
    for key, value in query.items():
        app.query_params[key] = value
    app.run()
    app.switch_page(str(REPO_ROOT / "pages" / name))
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


@pytest.mark.slow
@pytest.mark.parametrize("typed", ["/etc/passwd", "../../../etc/passwd"])
def test_the_data_page_refuses_a_path_outside_the_import_folders(studio_dirs, typed):
    app = page("data.py")
    app.text_input(key="data_fer_path").set_value(typed)
    app.button(key="data_import_csv").click().run()
    assert not app.exception
    assert any("Nothing was imported" in e.value and "outside the folders" in e.value for e in app.error)
    assert not (studio_dirs / "data").exists() or not any((studio_dirs / "data").rglob("meta.parquet"))


@pytest.mark.slow
def test_the_train_form_refuses_a_weights_path_outside_alike_whether_or_not_it_exists(studio_dirs):
    app = page("train.py")
    shown = []
    for weights in ("/etc/passwd", "/etc/no-such-file-here"):
        app.selectbox(key="train_model").set_value("efficientnet_b0")
        app.text_input(key="train_model_options").set_value(f"weights={weights}")
        next(b for b in app.button if b.label == "Start training").click().run()
        assert not app.exception, [e.value for e in app.exception]
        shown += [e.value.replace(escape_markdown(weights), "PATH") for e in app.error if "Cannot start" in e.value]
    assert len(shown) == 2 and shown[0] == shown[1] and "outside the folders allowed here" in shown[0], shown
    assert not (studio_dirs / "runs").exists() or not any((studio_dirs / "runs").iterdir())


@pytest.mark.slow
def test_annotator_names_and_run_names_from_the_url_are_shown_escaped(studio_dirs):
    name = "**Eve** ![t](http://evil.invalid/t.png)"
    relabel = page("relabel.py", annotator=name)
    shown = [c.value for c in relabel.caption if "Recording as" in c.value]
    assert shown == [f"Recording as **{escape_markdown(normalise_name(name))}**"]  # typed names are normalised
    train = page("train.py", run="../../etc")
    assert any("no run called" in w.value and "\\.\\./\\.\\./etc" in w.value for w in train.warning)


@pytest.mark.slow
def test_relabel_export_refuses_a_symlink_leading_out_of_the_data_folder(studio_dirs):
    outside = studio_dirs / "outside"
    outside.mkdir()
    (studio_dirs / "data").mkdir()
    (studio_dirs / "data" / "exports").symlink_to(outside)
    app = page("relabel.py", annotator="ann")
    app.button(key="relabel_export").click().run()
    assert any("Not exported" in e.value for e in app.error) and list(outside.iterdir()) == []


def load_audit():
    spec = importlib.util.spec_from_file_location("ci_audit", REPO_ROOT / ".ci" / "audit.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_audit_fails_on_a_fixable_vulnerability_and_passes_without(monkeypatch, capsys):
    audit = load_audit()
    installed = [
        {"name": d.metadata["Name"], "version": d.version, "vulns": []} for d in importlib.metadata.distributions()
    ]
    monkeypatch.setattr(audit, "run_pip_audit", lambda: installed)
    assert audit.main() == 0
    vulnerable = [dict(installed[0], vulns=[{"id": "PYSEC-0000-1", "fix_versions": ["999"]}])] + installed[1:]
    monkeypatch.setattr(audit, "run_pip_audit", lambda: vulnerable)
    assert audit.main() == 1
    assert "VULNERABLE" in capsys.readouterr().out


def test_the_audit_falls_back_to_pypi_project_pages(monkeypatch, capsys):
    audit = load_audit()
    monkeypatch.setattr(audit, "run_pip_audit", lambda: [])
    versions = {d.metadata["Name"].lower(): d.version for d in importlib.metadata.distributions()}
    monkeypatch.setattr(audit, "newest_release", lambda name: (versions[name], []))
    assert audit.main() == 0
    monkeypatch.setattr(
        audit,
        "newest_release",
        lambda name: (versions[name], [{"id": "GHSA-x", "fixed_in": ["9999"]}] if name == "pillow" else []),
    )
    assert audit.main() == 1
    assert "VULNERABLE: pillow" in capsys.readouterr().out
