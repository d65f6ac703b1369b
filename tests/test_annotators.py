"""Each annotator's count and agreement, from the label store's live events."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest

from core.labels.annotators import COLUMNS, annotator_summary
from core.labels.relabels import RelabelStore


def dataset(**majority: str) -> SimpleNamespace:
    return SimpleNamespace(
        has_ferplus=True, meta=pd.DataFrame({"image_id": list(majority), "ferplus": list(majority.values())})
    )


def test_counts_and_agreement_per_annotator(tmp_path):
    store = RelabelStore(tmp_path / "labels.sqlite")
    store.relabel("a", "happy", "bob")
    store.relabel("b", "sad", "bob")
    store.relabel("c", "angry", "bob")
    store.undo("bob")  # c no longer counts
    store.relabel("a", "sad", "cy")
    store.relabel("b", "sad", "cy")
    summary = annotator_summary(store, dataset(a="happy", b="neutral", c="angry")).set_index("annotator")
    assert summary.loc["bob", "images labelled"] == 2 and summary.loc["bob", "labels undone"] == 1
    assert summary.loc["bob", "agrees with FERPlus"] == pytest.approx(0.5)  # a yes, b no
    assert summary.loc["cy", "agrees with FERPlus"] == pytest.approx(0.0)
    assert summary.loc["bob", "agrees with others"] == pytest.approx(0.5)  # a: happy vs sad, b: sad vs sad
    assert summary.loc["cy", "agrees with others"] == pytest.approx(0.5)


def test_no_majority_and_nobody_else_leave_agreement_empty(tmp_path):
    store = RelabelStore(tmp_path / "labels.sqlite")
    store.relabel("a", "happy", "bob")
    row = annotator_summary(store, dataset(a="")).iloc[0]
    assert pd.isna(row["agrees with FERPlus"]) and pd.isna(row["agrees with others"])


def test_an_empty_store_gives_an_empty_table(tmp_path):
    assert list(annotator_summary(RelabelStore(tmp_path / "labels.sqlite"), dataset(a="happy")).columns) == COLUMNS
