"""The audit in the workflow: Relabel queue reasons, Browse filters, evaluate --exclude-leaks, the jobs."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest

from core.audit.embeddings import compute_features, cosine_pairs
from core.audit.face_map import layout, load_cached_map
from core.audit.leak_free import leak_free
from core.audit.report import audit_dir, load_audit, run_audit
from core.audit.signs import audit_flags
from core.cli.main import main
from core.data.filters import ImageFilter, filter_rows
from core.data.store import load_dataset, save_dataset
from core.jobs import audit_job as job
from core.labels.queue import disputed_queue
from tests.audit_data import BLANK, DARK, EXACT_PRIVATE, EXACT_TRAIN, NEAR_PUBLIC, write_planted


@pytest.fixture
def planted(tmp_path):
    return write_planted(tmp_path)


def test_queue_raises_conflicting_copies_and_image_problems(planted):
    flags = audit_flags(run_audit(planted))
    plain = disputed_queue(planted).set_index("row")
    queue = disputed_queue(planted, audit=flags).set_index("row")
    assert queue.at[EXACT_TRAIN, "copy_conflict"] and queue.at[EXACT_PRIVATE, "copy_conflict"]
    assert queue.at[EXACT_TRAIN, "score"] == pytest.approx(plain.at[EXACT_TRAIN, "score"] + 1.0)
    assert "a copy of this image has another label" in queue.at[EXACT_TRAIN, "reasons"]
    assert "image problem: uniform, low information" in queue.at[BLANK, "reasons"]
    assert not queue.at[NEAR_PUBLIC, "copy_conflict"]  # its copy has the same labels
    disputed = disputed_queue(planted, audit=flags, disputed_only=True)["row"].tolist()
    assert {EXACT_TRAIN, EXACT_PRIVATE, BLANK, DARK} <= set(disputed)


def test_browse_filters_on_the_audit(planted):
    flags = audit_flags(run_audit(planted))
    assert filter_rows(planted, ImageFilter(conflicting_copies_only=True), audit=flags).tolist() == [
        EXACT_TRAIN,
        EXACT_PRIVATE,
    ]
    assert filter_rows(planted, ImageFilter(problems=("dark",)), audit=flags).tolist() == [DARK]
    assert len(filter_rows(planted, ImageFilter(duplicates_only=True), audit=flags)) == 6
    assert filter_rows(planted, ImageFilter(rows=(7, 3, 999))).tolist() == [3, 7]


def test_leak_free_leaves_out_the_test_images_with_a_copy_in_training(planted):
    kept, left_out = leak_free(planted)
    assert left_out == 2 and len(kept) == len(planted) - 2
    assert set(planted.meta["image_id"].iloc[[EXACT_PRIVATE, NEAR_PUBLIC]]).isdisjoint(kept.meta["image_id"])


@pytest.mark.slow
def test_evaluate_exclude_leaks_scores_fewer_images(planted, tmp_path, tiny_checkpoint, capsys):
    save_dataset(planted, tmp_path / "data")
    common = [
        "--data-dir",
        str(tmp_path / "data"),
        "evaluate",
        "--checkpoint",
        str(tiny_checkpoint),
        "--data-path",
        str(tmp_path / "data"),
        "--json",
    ]
    assert main([*common, "--out", str(tmp_path / "all")]) == 0
    everything = json.loads(capsys.readouterr().out)["reports"]
    assert main([*common, "--exclude-leaks", "--out", str(tmp_path / "free")]) == 0
    free = json.loads(capsys.readouterr().out)["reports"]
    assert free["PrivateTest"]["n"] == everything["PrivateTest"]["n"] - 1
    assert free["PublicTest"]["n"] == everything["PublicTest"]["n"] - 1
    assert free["Training"]["n"] == everything["Training"]["n"]


def test_cosine_pairs_find_parallel_features_only():
    features = np.eye(5, dtype=np.float32)
    features[4] = features[1] * 3
    first, second = cosine_pairs(features, 0.99, block=2)
    assert list(zip(first.tolist(), second.tolist())) == [(1, 4)]


@pytest.mark.slow
def test_features_and_map_of_every_face(planted, tiny_checkpoint):
    features = compute_features(planted.images, tiny_checkpoint)
    assert features.shape[0] == len(planted) and np.isfinite(features).all()
    coordinates = layout(features)
    assert coordinates.shape == (len(planted), 2) and np.isfinite(coordinates).all()


@pytest.mark.slow
def test_audit_job_runs_in_the_background_and_saves_the_audit(planted, tmp_path, monkeypatch):
    monkeypatch.setenv("FER_DATA_DIR", str(tmp_path / "data"))
    save_dataset(planted)
    dataset = load_dataset()
    status = job.start(dataset, "audit")
    assert status["state"] in ("queued", "running")
    folder = job.job_dir(dataset, "audit")
    for _ in range(600):
        status = job.job_status(folder)
        if status["state"] not in ("queued", "running"):
            break
        threading.Event().wait(0.2)
    assert status["state"] == "finished", (folder / "log.txt").read_text()
    assert load_audit(audit_dir(dataset)).summary["leaks"] == {"PublicTest": 1, "PrivateTest": 1}


def test_a_cancelled_map_job_caches_nothing(planted, tmp_path, monkeypatch, tiny_checkpoint):
    monkeypatch.setenv("FER_DATA_DIR", str(tmp_path / "data"))
    save_dataset(planted)
    dataset = load_dataset()
    folder = job.job_dir(dataset, "map", tiny_checkpoint)
    folder.mkdir(parents=True)
    (folder / job.JOB).write_text(
        json.dumps(
            {
                "kind": "map",
                "dataset_dir": None,
                "checkpoint": str(tiny_checkpoint),
                "hamming": 6,
                "cosine": 0.97,
                "images": len(dataset),
            }
        )
    )
    (folder / "status.json").write_text('{"state": "queued"}')
    stop = threading.Event()
    stop.set()
    assert job.run(folder, stop) == "stopped"
    assert load_cached_map(dataset, tiny_checkpoint) is None
