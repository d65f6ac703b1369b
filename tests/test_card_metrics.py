"""Accuracy read from the shipped model cards (the Models page shows it where no evaluation report exists)."""

from __future__ import annotations

import pytest

from core.evaluation.card_metrics import card_accuracy
from core.paths import CHECKPOINTS_DIR


def test_a_shipped_card_gives_accuracy_per_split_with_and_without_tta():
    table = card_accuracy(CHECKPOINTS_DIR / "fer2013_fernet.pt").set_index("split")
    assert list(table.index) == ["Training", "PublicTest", "PrivateTest"] and list(table.columns) == ["no TTA", "flip"]
    assert table.loc["PrivateTest", "flip"] == pytest.approx(0.7239)


def test_an_int8_card_gives_both_models_accuracy():
    table = card_accuracy(CHECKPOINTS_DIR / "fer2013_fernet_int8.onnx").set_index("split")
    assert table.loc["PublicTest", "int8, flip"] == pytest.approx(0.7013)
    assert set(table.columns) == {"fp32, no TTA", "int8, no TTA", "fp32, flip", "int8, flip"}


def test_no_card_or_no_table_is_none(tmp_path):
    assert card_accuracy(tmp_path / "x.pt") is None
    (tmp_path / "x.md").write_text("# x\n\n| split | ECE |\n| --- | --- |\n| PublicTest | 0.02 |\n")
    assert card_accuracy(tmp_path / "x.pt") is None
