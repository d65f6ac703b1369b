"""The run folder owns its file names; evaluation reports never land in checkpoints/."""

from __future__ import annotations

import json
import os

from core.evaluation.report import default_report_dir
from core.paths import CHECKPOINTS_DIR
from core.processes import process_start_time, still_running
from core.run_folder import CONFIG, METRICS, RunFolder, is_run_folder, report_name
from core.training.config import TrainConfig


def test_config_round_trips_and_marks_the_folder_a_run(tmp_path):
    run = RunFolder(tmp_path / "r1")
    assert not is_run_folder(run.path)
    config = TrainConfig(epochs=3, lr=0.01)
    run.save_config(config)
    assert is_run_folder(run.path) and (run.path / CONFIG).is_file()
    assert TrainConfig.load(run.config_path) == config
    assert not [p for p in run.path.iterdir() if p.name.endswith(".tmp")]  # written via a temporary, renamed


def test_records_filter_by_kind_and_skip_a_line_being_written(tmp_path):
    run = RunFolder(tmp_path)
    run.log({"kind": "step", "epoch": 1, "step": 5})
    run.log({"kind": "epoch", "epoch": 1})
    with open(tmp_path / METRICS, "a") as handle:
        handle.write('{"kind": "ep')  # a writer mid-line
    assert [r["kind"] for r in run.records()] == ["step", "epoch"]
    assert run.records("epoch") == [{"kind": "epoch", "epoch": 1}]


def test_report_and_confusion_are_found_by_checkpoint_name(tmp_path):
    run = RunFolder(tmp_path)
    assert run.report() is None and run.confusion("PrivateTest") is None
    (tmp_path / report_name(run.best)).write_text(json.dumps({"reports": {}}))
    assert run.report() == {"reports": {}}


def test_shipped_checkpoints_report_under_the_data_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("FER_DATA_DIR", str(tmp_path))
    assert default_report_dir(CHECKPOINTS_DIR / "fer2013_fernet.pt") == tmp_path / "reports" / "fer2013_fernet"
    assert default_report_dir(tmp_path / "runs" / "r" / "best.pt") == (tmp_path / "runs" / "r").resolve()


def test_a_process_is_known_by_pid_and_start_time():
    me = os.getpid()
    assert still_running(me, process_start_time(me))
    assert not still_running(me, "not-my-start-time")
    assert not still_running(None, None)
