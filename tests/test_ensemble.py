"""Ensembles as a model kind: the file (core/ensemble_format.py), its payload and model (core/models/checkpoint.py,
core/models/ensemble.py), and every caller that takes a model: evaluate, the predictor, the catalog, the
predictions job."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from core.checkpoint_format import peek_checkpoint
from core.cli.main import main
from core.data.preprocessing import Preprocessing
from core.data.store import load_sample
from core.ensemble_format import read_ensemble, write_ensemble
from core.evaluation.ensemble_card import ensemble_card, evaluate_ensemble
from core.evaluation.evaluate import evaluate_checkpoint
from core.inference.catalog import shipped_checkpoints
from core.inference.dataset_predictions import chosen_predictor
from core.inference.predictor import Predictor
from core.models.checkpoint import load_checkpoint


@pytest.fixture
def members(tiny_checkpoint, tmp_path):
    """Two members: the tiny model, and a copy with another temperature and flip TTA (so their outputs differ)."""
    first, second = tmp_path / "a.pt", tmp_path / "b.pt"
    shutil.copyfile(tiny_checkpoint, first)
    payload = load_checkpoint(tiny_checkpoint)
    payload["preprocessing"] = Preprocessing(tta="flip", temperature=0.5).to_dict()
    torch.save(payload, second)
    return first, second


def test_the_ensemble_is_the_weighted_mean_of_its_members_in_every_path(members, tmp_path):
    path = write_ensemble(tmp_path / "pair.ensemble.json", members, [3, 1])
    assert json.loads(path.read_text())["members"] == ["a.pt", "b.pt"]  # relative to the file
    faces = np.asarray(load_sample().images[:6])
    a, b = (Predictor.load(m).classify_crops(faces) for m in members)
    ensemble = Predictor.load(path)
    np.testing.assert_allclose(ensemble.classify_crops(faces), 0.75 * a + 0.25 * b, rtol=1e-4, atol=1e-6)
    assert ensemble.meta["model"] == "ensemble"
    report = evaluate_ensemble(path, dataset=load_sample())
    plain = evaluate_checkpoint(path, ["PrivateTest"], dataset=load_sample())
    assert plain["reports"]["PrivateTest"]["accuracy"] == pytest.approx(
        report["rows"]["ensemble"]["PrivateTest"]["accuracy"]
    )
    assert "**ensemble**" in ensemble_card("pair", report, "test CPU")


def test_the_catalog_and_peek_read_an_ensemble_without_torch(members, tmp_path):
    path = write_ensemble(tmp_path / "pair.ensemble.json", members, metrics={"private_accuracy": 0.5})
    meta = peek_checkpoint(path)
    assert meta["model"] == "ensemble" and len(meta["classes"]) == 7
    entries = {e.name: e for e in shipped_checkpoints(tmp_path)}
    assert entries["pair"].model == "ensemble" and entries["pair"].private_accuracy == 0.5


def test_the_predictions_job_runs_an_ensemble_in_torch(members, tmp_path):
    path = write_ensemble(tmp_path / "pair.ensemble.json", members)
    predict, backend = chosen_predictor(path, None, tmp_path, load_sample())
    assert backend in ("fp32", "bf16")
    probs = predict(np.asarray(load_sample().images[:4]))
    assert probs.shape == (4, 7) and np.allclose(probs.sum(1), 1, atol=1e-3)


def test_members_must_share_classes_and_input_size(members, tmp_path):
    payload = load_checkpoint(members[0])
    payload["classes"] = payload["classes"][:3]
    torch.save(payload, tmp_path / "three.pt")
    path = write_ensemble(tmp_path / "bad.ensemble.json", [members[0], tmp_path / "three.pt"])
    with pytest.raises(ValueError, match="has classes"):
        load_checkpoint(path)
    with pytest.raises(ValueError, match="has classes"):
        peek_checkpoint(path)
    payload = load_checkpoint(members[0])
    payload["input_size"], payload["preprocessing"] = 64, Preprocessing(input_size=64).to_dict()
    torch.save(payload, tmp_path / "big.pt")
    path = tmp_path / "big.ensemble.json"
    path.write_text(json.dumps({"format": "fer-studio-ensemble/1", "members": ["a.pt", "big.pt"]}))
    with pytest.raises(ValueError, match="64 px"):
        load_checkpoint(path)


def test_bad_ensemble_files_give_one_line_errors(members, tmp_path, capsys):
    path = tmp_path / "x.ensemble.json"
    path.write_text(json.dumps({"format": "fer-studio-ensemble/1", "members": ["a.pt"]}))
    with pytest.raises(ValueError, match="at least two"):
        read_ensemble(path)
    path.write_text(json.dumps({"format": "fer-studio-ensemble/1", "members": ["a.pt", "gone.pt"]}))
    assert main(["evaluate", "--checkpoint", str(path)]) == 1
    assert "gone.pt not found" in capsys.readouterr().err
