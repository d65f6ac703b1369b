"""Label tables shared by `info` and the Data page."""

from __future__ import annotations

from core.data.classes import FER2013_CLASSES
from core.data.stats import NO_MAJORITY, ferplus_split_table, label_agreement_table
from core.data.store import load_sample


def test_agreement_table_is_in_class_order_and_keeps_every_image():
    dataset = load_sample()
    table = label_agreement_table(dataset)
    assert list(table.columns) == [*FER2013_CLASSES, "contempt", "not a face", "unknown", NO_MAJORITY]
    assert list(table.columns[: len(table.index)]) == list(table.index)  # agreement on the diagonal
    assert list(table.index) == [c for c in FER2013_CLASSES if c in set(dataset.meta["label"])]
    assert table.to_numpy().sum() == len(dataset)  # images with no majority are counted too
    happy = dataset.meta[(dataset.meta["label"] == "happy") & (dataset.meta["ferplus"] == "happy")]
    assert table.loc["happy", "happy"] == len(happy)


def test_split_table_counts_no_majority_and_disagreements():
    dataset = load_sample()
    table = ferplus_split_table(dataset)
    meta = dataset.meta
    assert table[NO_MAJORITY].sum() == (meta["ferplus"] == "").sum()
    assert table["disagree w/ FER2013"].sum() == meta["disagree"].sum()
