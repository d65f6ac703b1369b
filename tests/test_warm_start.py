"""Warm start (core/training/warm_start.py and the loop's --init-from): weights carried over, the head matched by
class name, other architectures or inputs refused, and the card saying where a run started."""

from __future__ import annotations

import pytest
import torch

from core.data.preprocessing import Preprocessing
from core.evaluation.model_card import start_lines
from core.models.checkpoint import load_checkpoint
from core.models.registry import create_model
from core.training.config import TrainConfig
from core.training.loop import fit
from core.training.warm_start import warm_start
from tests.test_loop import TINY, bright_dark_dataset

FERPLUS8 = ["neutral", "happy", "surprise", "sad", "angry", "disgust", "fear", "contempt"]


def head_key(state: dict) -> str:
    return next(key for key, value in reversed(state.items()) if value.ndim == 2)


def test_head_rows_follow_the_class_names_and_new_classes_stay_fresh(tiny_checkpoint):
    payload = load_checkpoint(tiny_checkpoint)  # fer7: angry, disgust, fear, happy, sad, surprise, neutral
    model = create_model("fernet", num_classes=8, **payload["model_options"])
    fresh = {key: value.clone() for key, value in model.state_dict().items()}
    info = warm_start(model, tiny_checkpoint, "fernet", payload["model_options"], FERPLUS8, Preprocessing(48))
    state, source = model.state_dict(), payload["state_dict"]
    head = head_key(state)
    for row, name in enumerate(FERPLUS8[:7]):
        assert torch.equal(state[head][row], source[head][payload["classes"].index(name)])
    assert torch.equal(state[head][7], fresh[head][7])  # contempt: never seen by the FER2013 model
    trunk = next(iter(source))
    assert torch.equal(state[trunk], source[trunk])
    assert info["new_classes"] == ["contempt"] and info["head_remapped"]


def test_another_architecture_or_input_is_refused(tiny_checkpoint):
    options = load_checkpoint(tiny_checkpoint)["model_options"]
    classes = list(TrainConfig(classes="fer7").class_names())
    wider = create_model("fernet", num_classes=7, width=0.5)
    with pytest.raises(ValueError, match="same model and model options"):
        warm_start(wider, tiny_checkpoint, "fernet", {"width": 0.5}, classes, Preprocessing(48))
    model = create_model("fernet", num_classes=7, **options)
    with pytest.raises(ValueError, match="48px"):
        warm_start(model, tiny_checkpoint, "fernet", options, classes, Preprocessing(64))


def test_a_warm_started_run_begins_where_its_checkpoint_ended(tmp_path):
    dataset = bright_dark_dataset(240)
    list(fit(TrainConfig(**TINY, classes="happy,sad", epochs=3), tmp_path / "first", dataset=dataset))
    start = str(tmp_path / "first" / "best.pt")
    cold = list(fit(TrainConfig(**TINY, classes="happy,sad", epochs=1, lr=1e-6), tmp_path / "cold", dataset=dataset))
    warm = list(
        fit(
            TrainConfig(**TINY, classes="happy,sad", epochs=1, lr=1e-6, init_from=start),
            tmp_path / "warm",
            dataset=dataset,
        )
    )
    first = load_checkpoint(start)["metrics"]["public_accuracy"]
    assert warm[-1]["public_accuracy"] == pytest.approx(first, abs=0.05)  # a tiny lr keeps what it started from
    assert warm[-1]["public_accuracy"] > cold[-1]["public_accuracy"]
    config = load_checkpoint(tmp_path / "warm" / "best.pt")["config"]
    assert config["init_from"] == start and "warm start" in start_lines(config)[0]
    assert start_lines(load_checkpoint(tmp_path / "cold" / "best.pt")["config"]) == []
