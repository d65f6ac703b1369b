"""Browse page: every image in pages of 48, filtered by split, labels, agreement, not-a-face votes and the model."""
import numpy as np
import streamlit as st

from app.charts import probabilities_chart, votes_chart
from app.state import current_dataset, current_label_quality, current_model_path, current_predictor
from core.data.filters import ImageFilter, filter_rows, page, worst_labels_first
from core.inference.dataset_predictions import dataset_probabilities
from core.data.classes import ALL_CLASSES
from core.data.fer2013 import SPLITS

PER_PAGE, COLUMNS = 48, 8

dataset = current_dataset()
st.title("Browse")
predictor = current_predictor()
probabilities = None
if predictor is not None and st.toggle("Filter and show by the model's predictions", value=False):
    with st.spinner("Predicting every image once (cached afterwards) ..."):
        probabilities = dataset_probabilities(dataset, current_model_path())

quality = current_label_quality()
with st.expander("Filters", expanded=True):
    left, middle, right = st.columns(3)
    spec = ImageFilter(
        splits=tuple(left.multiselect("Split", SPLITS, key="browse_splits")),
        labels=tuple(left.multiselect("FER2013 label", sorted(set(dataset.meta["label"]) - {""}))),
        ferplus=tuple(middle.multiselect("FERPlus majority", ALL_CLASSES + ("",), format_func=lambda c: c or "(none)"))
        if dataset.has_ferplus else (),
        disagree_only=middle.checkbox("FER2013 and FERPlus disagree") if dataset.has_ferplus else False,
        agreement=right.slider("FERPlus agreement", 0.0, 1.0, (0.0, 1.0)) if dataset.has_ferplus else (0.0, 1.0),
        min_not_face_votes=right.slider("At least this many not-a-face votes", 0, 10, 0) if dataset.has_ferplus else 0,
        predicted=tuple(left.multiselect("Predicted class", predictor.classes)) if probabilities is not None else (),
        confidence=middle.slider("Model confidence", 0.0, 1.0, (0.0, 1.0)) if probabilities is not None else (0.0, 1.0),
        issues_only=right.checkbox("Only labels flagged as wrong", key="browse_issues") if quality else False,
        max_quality=right.slider("Label quality at most", 0.0, 1.0, 1.0, key="browse_quality") if quality else 1.0)
    worst_first = quality is not None and right.checkbox("Worst labels first", key="browse_worst_first")
    if quality is None:
        right.caption("Label quality appears here once `python -m core label-issues --compute` has run "
                      "(it ships for the full FER2013 import).")
rows = filter_rows(dataset, spec, probabilities, predictor.classes if predictor else None, quality)
rows = worst_labels_first(rows, quality) if worst_first else rows
pages = max(1, -(-len(rows) // PER_PAGE))
number = st.number_input(f"Page (of {pages:,}; {len(rows):,} images match)", 1, pages, 1, key="browse_page")
shown = page(rows, number, PER_PAGE)


def caption(row: int) -> str:
    """Plain words: "#12 FER2013 fear · FERPlus neutral 50 % · label quality 0.03 (suggests neutral)"."""
    record = dataset.meta.iloc[row]
    parts = [f"#{row} {'FER2013' if dataset.has_ferplus else 'label'} {record['label'] or '(none)'}"]
    if dataset.has_ferplus:
        parts.append(f"FERPlus {record['ferplus'] or 'no majority'} {record['agreement']:.0%}")
    if probabilities is not None:
        parts.append(f"model {predictor.classes[int(probabilities[row].argmax())]}")
    if quality is not None and not np.isnan(quality.score[row]):
        parts.append(f"label quality {quality.score[row]:.2f}" + (f" (suggests {quality.suggested[row]})"
                                                                   if quality.flagged[row] else ""))
    return " · ".join(parts)


for start in range(0, len(shown), COLUMNS):
    for cell, row in zip(st.columns(COLUMNS), shown[start:start + COLUMNS]):
        cell.image(np.asarray(dataset.images[row]), caption=caption(row), width="stretch")

st.divider()
chosen = st.number_input("Open image #", 0, len(dataset) - 1, int(shown[0]) if len(shown) else 0)
face, votes, model = st.columns([1, 2, 2])
face.image(np.asarray(dataset.images[chosen]), width=240, caption=caption(chosen))
if dataset.has_ferplus:
    votes.plotly_chart(votes_chart(dataset, int(chosen)), width="stretch")
if predictor is not None:
    face_result = predictor.predict(np.asarray(dataset.images[chosen]), whole=True).faces[0]
    model.plotly_chart(probabilities_chart(face_result.probabilities, f"Model: {face_result.label}"), width="stretch")
