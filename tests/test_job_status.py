"""core/job_status.py: the ETA every job reports, and a job whose process is gone is settled, never left running.

(The runner's tests, tests/test_runner.py, drive the same protocol through real worker processes.)
"""

from __future__ import annotations

import time

from core import job_status
from core.job_status import (
    ACTIVE,
    FAILED,
    QUEUED,
    RUNNING,
    STOPPED,
    Eta,
    current_status,
    read_status,
    request_stop,
    write_status,
)


def test_the_eta_counts_from_the_first_report_so_start_up_time_is_not_pace(monkeypatch):
    now = [100.0]
    monkeypatch.setattr(job_status.time, "time", lambda: now[0])
    eta = Eta()
    assert eta.report(10, 110) == {"progress": 10 / 110, "eta_seconds": None}  # resumed at step 10: no pace yet
    now[0] = 120.0  # 20 s for the next 10 steps: 2 s a step, 90 steps to go
    assert eta.report(20, 110) == {"progress": 20 / 110, "eta_seconds": 180}
    started = Eta(start=0)  # a job that reports after its first piece of work counts from its start
    now[0] = 130.0
    assert started.report(5, 10)["eta_seconds"] == 10  # 10 s for 5 of 10: 10 s to go


def test_an_active_job_whose_process_is_gone_is_settled_as_failed(tmp_path):
    write_status(tmp_path, {"state": RUNNING, "pid": 2**22 + 1, "pid_start": "1", "created": time.time()})
    settled = current_status(tmp_path)
    assert settled["state"] == FAILED and "ended without reporting" in settled["reason"]
    assert read_status(tmp_path)["state"] == FAILED  # written down, not only reported


def test_a_stop_asked_before_the_process_started_is_a_stop(tmp_path):
    write_status(tmp_path, {"state": QUEUED, "created": time.time() - job_status.LAUNCH_GRACE_S - 1})
    request_stop(tmp_path, read_status(tmp_path))
    assert read_status(tmp_path)["phase"] == job_status.STOPPING
    assert current_status(tmp_path)["state"] == STOPPED


def test_a_missing_status_reads_as_failed_and_an_ended_job_is_not_asked_to_stop(tmp_path):
    assert read_status(tmp_path)["state"] == FAILED and FAILED not in ACTIVE
    write_status(tmp_path, {"state": STOPPED})
    request_stop(tmp_path, read_status(tmp_path))
    assert "stop_requested" not in read_status(tmp_path)
