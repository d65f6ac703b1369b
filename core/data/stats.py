"""Tables that describe a data set's labels, shared by `python -m core info` and the Data page."""

from __future__ import annotations

import pandas as pd

from core.data.classes import ALL_CLASSES, FER2013_CLASSES, FERPLUS_CLASSES, NOT_A_FACE_TEXT
from core.data.dataset import VOTE_COLUMNS, FerDataset
from core.data.ferplus import majority_outcome

NO_MAJORITY = "no majority"


def ferplus_split_table(dataset: FerDataset) -> pd.DataFrame:
    """Split x class counts of the FERPlus majority, plus images with no majority and those disagreeing."""
    table = dataset.class_counts("ferplus")
    meta = dataset.meta
    table[NO_MAJORITY] = meta[meta["ferplus"] == ""].groupby("split").size()
    table["disagree w/ FER2013"] = meta[meta["disagree"]].groupby("split").size()
    return table.fillna(0).astype(int)


def label_agreement_table(dataset: FerDataset) -> pd.DataFrame:
    """Image counts, FER2013 label (rows) x FERPlus majority (columns), both in the one class order (so agreement
    is the diagonal), then columns for the images Microsoft's rule drops: a not-a-face or unknown majority, and no
    majority; so every row holds all of its images."""
    meta = dataset.meta
    dropped = majority_outcome(meta[list(VOTE_COLUMNS)].to_numpy())
    dropped = pd.Series(dropped, index=meta.index).replace("", NO_MAJORITY)
    majority = meta["ferplus"].where(meta["ferplus"] != "", dropped)
    table = pd.crosstab(meta["label"], majority)
    rows = [c for c in FER2013_CLASSES if c in table.index]
    columns = [c for c in ALL_CLASSES if c in FERPLUS_CLASSES] + [NOT_A_FACE_TEXT, "unknown", NO_MAJORITY]
    return table.reindex(index=rows, columns=columns, fill_value=0)
