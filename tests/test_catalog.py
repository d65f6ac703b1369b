"""The model catalog: shipped checkpoints and finished runs listed from their own metadata, broken files skipped."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from core.data.preprocessing import Preprocessing
from core.inference.catalog import (
    CheckpointEntry,
    default_checkpoint,
    default_live_checkpoint,
    describe,
    list_checkpoints,
)
from core.models.checkpoint import save_checkpoint
from core.models.registry import create_model

CLASSES7 = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]


def write_checkpoint(path: Path, classes: list[str] = CLASSES7, metrics: dict | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    model = create_model("fernet", num_classes=len(classes), width=0.25)
    config = {"model": "fernet", "model_options": {"width": 0.25}, "label_source": "fer2013"}
    return save_checkpoint(
        path, model, config=config, classes=classes, preprocessing=Preprocessing(48), metrics=metrics or {}, epoch=1
    )


def write_run(root: Path, run_id: str, state: str, created: float, best: bool = True) -> Path:
    run = root / run_id
    run.mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({"model": "fernet"}))
    (run / "status.json").write_text(json.dumps({"state": state, "created": created}))
    if best:
        write_checkpoint(run / "best.pt", classes=["happy", "sad", "neutral"], metrics={"public_accuracy": 0.5})
    return run


@pytest.fixture
def shipped(tmp_path: Path) -> Path:
    folder = tmp_path / "checkpoints"
    write_checkpoint(folder / "a_first.pt")
    write_checkpoint(folder / "fer2013_fernet.pt", metrics={"public_accuracy": 0.681, "private_accuracy": 0.69})
    (folder / "broken.pt").write_bytes(b"not a checkpoint at all")
    (folder / "broken.onnx").write_bytes(b"\x00\x01garbage")
    (folder / "README.md").write_text("model cards")
    return folder


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    root = tmp_path / "runs"
    now = time.time()
    write_run(root, "old-finished", "finished", now - 100)
    write_run(root, "new-finished", "finished", now)
    write_run(root, "failed-run", "failed", now + 10)
    write_run(root, "finished-no-best", "finished", now + 20, best=False)
    (root / "not-a-run").mkdir()
    return root


def test_lists_shipped_then_finished_runs_and_skips_broken_files(shipped, runs):
    entries = list_checkpoints(shipped, runs)
    assert [(e.name, e.source) for e in entries] == [
        ("a_first", "shipped"),
        ("fer2013_fernet", "shipped"),
        ("new-finished", "run"),
        ("old-finished", "run"),
    ]
    fer = entries[1]
    assert fer.path == shipped / "fer2013_fernet.pt" and fer.classes == CLASSES7 and fer.model == "fernet"
    assert fer.public_accuracy == pytest.approx(0.681) and fer.private_accuracy == pytest.approx(0.69)
    assert entries[2].path == runs / "new-finished" / "best.pt" and entries[2].classes == ["happy", "sad", "neutral"]
    assert entries[2].private_accuracy is None


def test_label_says_source_classes_and_accuracy(shipped):
    fer = describe(shipped / "fer2013_fernet.pt", "shipped", name="fer2013_fernet")
    assert fer.label == "fer2013_fernet (shipped, 7 classes, PublicTest 68.1%, PrivateTest 69.0%)"
    plain = CheckpointEntry("x", Path("x.pt"), "run", classes=["happy", "sad"])
    assert plain.label == "x (run, 2 classes)"


def test_onnx_exports_are_listed(tmp_path):
    pytest.importorskip("onnx")
    from core.export.onnx import export_onnx

    folder = tmp_path / "checkpoints"
    source = write_checkpoint(tmp_path / "source.pt", metrics={"public_accuracy": 0.6})
    export_onnx(source, folder / "fer2013_fernet.onnx")
    entries = list_checkpoints(folder, tmp_path / "no-runs")
    assert [(e.name, e.classes, e.model) for e in entries] == [("fer2013_fernet", CLASSES7, "fernet")]


def test_missing_folders_give_an_empty_list(tmp_path):
    assert list_checkpoints(tmp_path / "nothing", tmp_path / "nothing either") == []
    assert default_checkpoint(tmp_path / "nothing", tmp_path / "nothing either") is None


def test_default_prefers_a_fer2013_shipped_model(shipped, runs):
    assert default_checkpoint(shipped, runs) == shipped / "fer2013_fernet.pt"


def test_live_default_is_the_shipped_int8_model_and_the_studio_keeps_the_pt(shipped, runs, tiny_checkpoint):
    from core.export.onnx import export_onnx

    assert default_live_checkpoint(shipped, runs) == shipped / "fer2013_fernet.pt"  # no int8 file: the usual default
    export_onnx(tiny_checkpoint, shipped / "fer2013_fernet_int8.onnx")  # the name is what marks the live model
    assert default_live_checkpoint(shipped, runs) == shipped / "fer2013_fernet_int8.onnx"
    assert default_checkpoint(shipped, runs) == shipped / "fer2013_fernet.pt"
    for other in ("fer2013_a_int8.onnx", "fer2013_fernet_tiny_int8.onnx"):  # sorted before and after it
        export_onnx(tiny_checkpoint, shipped / other)
    assert default_live_checkpoint(shipped, runs) == shipped / "fer2013_fernet_int8.onnx"


def test_default_takes_the_first_shipped_without_fer2013_in_a_name(tmp_path, runs):
    folder = tmp_path / "other"
    write_checkpoint(folder / "b.pt")
    write_checkpoint(folder / "a.pt")
    assert default_checkpoint(folder, runs) == folder / "a.pt"


def test_default_falls_back_to_the_newest_finished_run(tmp_path, runs):
    assert default_checkpoint(tmp_path / "empty", runs) == runs / "new-finished" / "best.pt"


def test_describe_rereads_a_rewritten_file(tmp_path):
    path = write_checkpoint(tmp_path / "best.pt", metrics={"public_accuracy": 0.3})
    assert describe(path).public_accuracy == pytest.approx(0.3)
    assert describe(path).name == f"{tmp_path.name}/best.pt"
    before = path.stat().st_mtime_ns
    write_checkpoint(path, metrics={"public_accuracy": 0.4})
    os.utime(path, ns=(before + 10**9, before + 10**9))  # a distinct mtime even on coarse-clock file systems
    assert describe(path).public_accuracy == pytest.approx(0.4)
    assert describe(tmp_path / "missing.pt") is None


def test_pt_metadata_is_read_without_torch_and_matches_load_checkpoint(tmp_path):
    from core.checkpoint_format import peek_checkpoint
    from core.models.checkpoint import load_checkpoint

    path = write_checkpoint(tmp_path / "m.pt", metrics={"public_accuracy": 0.5})
    keys = ("classes", "model", "metrics", "input_size", "preprocessing")
    payload, peeked = load_checkpoint(path), peek_checkpoint(path)
    assert {key: peeked[key] for key in keys} == {key: payload[key] for key in keys}
    (tmp_path / "bad.pt").write_bytes(b"not a zip")
    with pytest.raises(ValueError):
        peek_checkpoint(tmp_path / "bad.pt")
