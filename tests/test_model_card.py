"""Shipping a run: the checkpoint is copied and its model card holds the command, timing and metric tables."""

from __future__ import annotations

import pytest

from core.cli.main import main
from core.data.store import load_sample
from core.evaluation.model_card import ship
from core.models.checkpoint import load_checkpoint
from core.paths import SAMPLE_DIR


def test_ship_command_parses(monkeypatch, tmp_path, capsys):
    seen = {}
    monkeypatch.setattr(
        "core.evaluation.model_card.ship", lambda run, name: seen.update(run=run, name=name) or tmp_path / "x.pt"
    )
    assert main(["ship", "--run", "runs/abc", "--name", "demo"]) == 0
    assert str(seen["run"]) == "runs/abc" and seen["name"] == "demo"


@pytest.mark.slow
def test_ship_writes_checkpoint_card_and_confusion(tmp_path, capsys):
    run = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "--data-path",
                str(SAMPLE_DIR),
                "--model-option",
                "width=0.25",
                "--epochs",
                "1",
                "--max-steps-per-epoch",
                "2",
                "--batch-size",
                "16",
                "--tta",
                "flip",
                "--out",
                str(run),
            ]
        )
        == 0
    )
    capsys.readouterr()
    target = ship(run, "demo", tmp_path / "shipped", dataset=load_sample())
    card = (tmp_path / "shipped" / "demo.md").read_text()
    assert target.is_file() and (tmp_path / "shipped" / "demo_confusion.png").is_file()
    assert "python -m core train --data-path" in card and "--tta flip" in card
    assert "## Metrics without test-time augmentation" in card and "## Metrics with `flip`" in card
    assert card.count("| Accuracy Score |") == 2 and "| disgust |" in card
    metrics = load_checkpoint(target)["metrics"]
    assert 0 <= metrics["private_accuracy"] <= 1 and "private_accuracy_without_tta" in metrics
