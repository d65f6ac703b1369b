"""Tables that describe a data set's labels, shared by `python -m core info` and the Data page."""
from __future__ import annotations

import pandas as pd

from core.data.classes import FER2013_CLASSES, FERPLUS_CLASSES
from core.data.dataset import FerDataset

NO_MAJORITY = "no majority"


def ferplus_split_table(dataset: FerDataset) -> pd.DataFrame:
    """Split x class counts of the FERPlus majority, plus images with no majority and those disagreeing."""
    table = dataset.class_counts("ferplus")
    meta = dataset.meta
    table[NO_MAJORITY] = meta[meta["ferplus"] == ""].groupby("split").size()
    table["disagree w/ FER2013"] = meta[meta["disagree"]].groupby("split").size()
    return table.fillna(0).astype(int)


def label_agreement_table(dataset: FerDataset) -> pd.DataFrame:
    """Image counts, FER2013 label (rows) x FERPlus majority (columns), both in class order, with a column for
    images whose votes reach no majority (Microsoft's rule drops them), so every row holds all of its images."""
    meta = dataset.meta
    majority = meta["ferplus"].where(meta["ferplus"] != "", NO_MAJORITY)
    table = pd.crosstab(meta["label"], majority)
    rows = [c for c in FER2013_CLASSES if c in table.index]
    return table.reindex(index=rows, columns=[*FERPLUS_CLASSES, NO_MAJORITY], fill_value=0)
