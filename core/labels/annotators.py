"""Each annotator's work at a glance: how many images they labelled, and how often they agree with the FERPlus
majority and with the other annotators (on the images both labelled). Read from the label store's live events."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.data.dataset import FerDataset
from core.labels.relabels import NOT_A_FACE, RelabelStore

COLUMNS = ["annotator", "images labelled", "labels undone", "agrees with FERPlus", "agrees with others"]


def annotator_summary(store: RelabelStore, dataset: FerDataset) -> pd.DataFrame:
    """One row per annotator (most images first): images labelled (their latest live label each), labels undone,
    the share agreeing with the FERPlus majority (images that have one) and with other annotators' latest labels
    (pairs of annotators on one image; empty where nobody else labelled their images)."""
    latest = store.labels_by_annotator()
    history = store.history()
    undone = history[(history["kind"] == "label") & history["undone"]].groupby("annotator").size()
    if latest.empty:
        return pd.DataFrame(columns=COLUMNS)
    majority = (
        dict(zip(dataset.meta["image_id"], dataset.meta["ferplus"].astype(object))) if dataset.has_ferplus else {}
    )
    # FERPlus's "no majority" is "" and its not-a-face votes have no class: neither counts as an opinion here
    ferplus = latest["image_id"].map(majority).fillna("")
    latest = latest.assign(
        ferplus=ferplus.replace({"": np.nan}), label=latest["label"].replace({NOT_A_FACE: "not a face"})
    )
    pairs = latest.merge(latest, on="image_id", suffixes=("", "_other"))
    pairs = pairs[pairs["annotator"] != pairs["annotator_other"]]
    rows = []
    for name, mine in latest.groupby("annotator"):
        judged = mine.dropna(subset=["ferplus"])
        others = pairs[pairs["annotator"] == name]
        rows.append(
            {
                "annotator": name,
                "images labelled": len(mine),
                "labels undone": int(undone.get(name, 0)),
                "agrees with FERPlus": (judged["label"] == judged["ferplus"]).mean() if len(judged) else np.nan,
                "agrees with others": (others["label"] == others["label_other"]).mean() if len(others) else np.nan,
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS).sort_values("images labelled", ascending=False, ignore_index=True)
