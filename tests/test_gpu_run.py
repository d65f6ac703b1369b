"""The prepared GPU run (bench/gpu_run.py): the pack round trip, and the whole run on the CPU with --tiny."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from core.data.store import load_sample

SCRIPT = Path(__file__).resolve().parents[1] / "bench" / "gpu_run.py"


def gpu_run():
    spec = importlib.util.spec_from_file_location("gpu_run", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_pack_keeps_public_test_exact_and_training_close(tmp_path):
    module, sample = gpu_run(), load_sample()
    path = module.pack(sample, tmp_path / "pack.npz")
    back = module.unpack(path)
    split = sample.meta["split"].to_numpy()
    assert set(back.meta["split"]) == {"Training", "PublicTest"}  # PrivateTest stays here
    kept = np.flatnonzero(split != "PrivateTest")
    assert back.meta["image_id"].tolist() == sample.meta["image_id"].iloc[kept].tolist()
    public = back.meta["split"].to_numpy() == "PublicTest"
    assert np.array_equal(back.images[public], np.asarray(sample.images)[split == "PublicTest"])
    error = np.abs(back.images[~public].astype(int) - np.asarray(sample.images)[split == "Training"]).mean()
    assert error < 4  # JPEG quality 90: about 2 grey levels
    with pytest.raises(ValueError, match="over"):
        module.pack(sample, tmp_path / "big.npz", max_mb=0.001)


@pytest.mark.slow
def test_the_tiny_run_trains_members_and_a_student_and_checks_runner_and_torchrun(tmp_path, monkeypatch):
    module = gpu_run()
    monkeypatch.setenv("FER_RUNS_DIR", str(tmp_path / "runs"))
    data = module.pack(load_sample(), tmp_path / "pack.npz")
    out = tmp_path / "out"
    code = module.main(
        ["run", "--data", str(data), "--out", str(out), "--work", str(tmp_path / "work"), "--tiny", "--members", "2"]
    )
    summary = json.loads((out / "summary.json").read_text())
    assert code == 0, summary
    assert summary["steps"]["runner"]["state"] == "finished" and summary["steps"]["torchrun"]["returncode"] == 0
    assert sorted(p.name for p in out.iterdir()) == ["member0.pt", "member1.pt", "student.pt", "summary.json"]
    assert len(list(out.iterdir())) <= module.MAX_FILES
