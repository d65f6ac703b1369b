"""Browse page: every image in pages of 48, filtered by split, labels, agreement, not-a-face votes and the model.

Filters and the page number live in the URL (app/url_state.py); a face opens in a dialog with its votes and the
model's probabilities, which come from the predictions job's cache, never from running the model here.
"""
import numpy as np
import streamlit as st

from app.audit_state import current_audit, selected_rows, show_group
from app.charts import probabilities_chart, votes_chart
from app.predictions import predictions_panel
from app.state import (current_dataset, current_label_quality, current_model_path, current_model_probabilities,
                       current_predictor)
from app.url_state import keep, restore
from core.data.classes import ALL_CLASSES
from core.data.fer2013 import SPLITS
from core.audit.problems import PROBLEM_NAMES
from core.data.filters import ImageFilter, filter_rows, page, worst_labels_first

PER_PAGE, COLUMNS = 48, 8
# st.columns stacks every column below 640 px (one face per row on a phone): wrap the grid's rows three across
NARROW_GRID_CSS = """<style>@media (max-width: 640px) {
  .st-key-browse_grid [data-testid="stHorizontalBlock"] { flex-flow: row wrap !important; gap: 0.5rem !important; }
  .st-key-browse_grid [data-testid="stColumn"] { flex: 0 0 calc(33.3% - 0.35rem) !important;
                                                  min-width: calc(33.3% - 0.35rem) !important; }
}</style>"""

dataset = current_dataset()
st.title("Browse")
predictor, model = current_predictor(), current_model_probabilities()  # the cached predictions, never the model
labels = sorted(set(dataset.meta["label"]) - {""})
defaults = {"browse_predictions": False, "browse_splits": [], "browse_labels": [], "browse_ferplus": [],
            "browse_disagree": False, "browse_agreement": (0.0, 1.0), "browse_notface": 0, "browse_predicted": [],
            "browse_confidence": (0.0, 1.0), "browse_issues": False, "browse_quality": 1.0, "browse_worst": False,
            "browse_copies": False, "browse_conflicts": False, "browse_problems": []}
options = {"browse_splits": SPLITS, "browse_labels": labels, "browse_ferplus": ALL_CLASSES + ("",),
           "browse_predicted": predictor.classes if predictor else [], "browse_problems": PROBLEM_NAMES}
for key, default in defaults.items():
    restore(key, default, options.get(key))
probabilities = None
if predictor is not None and st.toggle("Filter and show by the model's predictions", key="browse_predictions"):
    if model is None:
        predictions_panel(dataset, current_model_path(), "browse")  # a background job; this page goes on
    else:
        probabilities = model[0]

quality = current_label_quality()
with st.expander("Filters", expanded=True):
    left, middle, right = st.columns(3)
    plus, scored = dataset.has_ferplus, probabilities is not None
    spec = ImageFilter(
        splits=tuple(left.multiselect("Split", SPLITS, key="browse_splits")),
        labels=tuple(left.multiselect("FER2013 label", labels, key="browse_labels")),
        ferplus=tuple(middle.multiselect("FERPlus majority", ALL_CLASSES + ("",), format_func=lambda c: c or "(none)",
                                         key="browse_ferplus")) if plus else (),
        disagree_only=middle.checkbox("FER2013 and FERPlus disagree", key="browse_disagree") if plus else False,
        agreement=right.slider("FERPlus agreement", 0.0, 1.0, key="browse_agreement") if plus else (0.0, 1.0),
        min_not_face_votes=right.slider("At least this many not-a-face votes", 0, 10, key="browse_notface")
        if plus else 0,
        predicted=tuple(left.multiselect("Predicted class", predictor.classes, key="browse_predicted"))
        if scored else (),
        confidence=middle.slider("Model confidence", 0.0, 1.0, key="browse_confidence") if scored else (0.0, 1.0),
        issues_only=right.checkbox("Only labels flagged as wrong", key="browse_issues") if quality else False,
        max_quality=right.slider("Label quality at most", 0.0, 1.0, key="browse_quality") if quality else 1.0)
    worst_first = quality is not None and right.checkbox("Worst labels first", key="browse_worst")
    audited = current_audit()
    if audited is not None:
        spec.duplicates_only = left.checkbox("Only images with a near copy", key="browse_copies")
        spec.conflicting_copies_only = middle.checkbox("Only copies whose labels conflict", key="browse_conflicts")
        spec.problems = tuple(right.multiselect("Image problems", PROBLEM_NAMES, key="browse_problems"))
    spec.rows = selected_rows()
    if spec.rows:
        st.caption(f"Showing the {len(spec.rows):,} faces selected on the map (remove `rows` from the URL for all).")
    if quality is None:
        right.caption("Label quality appears here once `python -m core label-issues --compute` has run "
                      "(it ships for the full FER2013 import).")
rows = filter_rows(dataset, spec, probabilities, predictor.classes if predictor else None, quality,
                   audited and audited[1])
rows = worst_labels_first(rows, quality) if worst_first else rows
pages = max(1, -(-len(rows) // PER_PAGE))
restore("browse_page", 1, bounds=(1, pages))
st.session_state.browse_page = min(st.session_state.browse_page, pages)  # fewer pages since the filters changed
number = st.number_input(f"Page (of {pages:,}; {len(rows):,} images match)", 1, pages, key="browse_page")
keep({**defaults, "browse_page": 1})
shown = page(rows, number, PER_PAGE)


def caption(row: int) -> str:
    """Plain words: "FER2013 fear · FERPlus neutral 50 % · model fear · label quality 0.03 (suggests neutral)"."""
    record = dataset.meta.iloc[row]
    parts = [f"{'FER2013' if dataset.has_ferplus else 'label'} {record['label'] or '(none)'}"]
    if dataset.has_ferplus:
        parts.append(f"FERPlus {record['ferplus'] or 'no majority'} {record['agreement']:.0%}")
    if probabilities is not None:
        parts.append(f"model {predictor.classes[int(probabilities[row].argmax())]}")
    if quality is not None and not np.isnan(quality.score[row]):
        parts.append(f"label quality {quality.score[row]:.2f}" + (f" (suggests {quality.suggested[row]})"
                                                                   if quality.flagged[row] else ""))
    return " · ".join(parts)


@st.dialog("Image", width="large")
def open_face(row: int) -> None:
    """One face large, with its FERPlus votes and the model's probabilities (from the cache)."""
    record = dataset.meta.iloc[row]
    st.markdown(f"**#{row}** · {record['image_id']} · {record['split']}")
    face, votes, chart = st.columns([1, 2, 2])
    face.image(np.asarray(dataset.images[row]), width=200, caption=caption(row))
    if dataset.has_ferplus:
        votes.plotly_chart(votes_chart(dataset, row, height=300), width="stretch")
    if model is not None:
        values = dict(zip(model[1], model[0][row].tolist()))
        chart.plotly_chart(probabilities_chart(values, f"Model: {max(values, key=values.get)}", height=300),
                           width="stretch")
    elif predictor is not None:
        chart.caption("The model's chart shows here once its predictions are computed (the switch above the "
                      "filters).")


@st.dialog("Duplicate group", width="large")
def open_group(group: int) -> None:
    show_group(dataset, audited[0], group)


st.html(NARROW_GRID_CSS)
with st.container(key="browse_grid"):
    for start in range(0, len(shown), COLUMNS):
        for cell, row in zip(st.columns(COLUMNS), shown[start:start + COLUMNS]):
            cell.image(np.asarray(dataset.images[row]), caption=caption(int(row)), width="stretch")
            if cell.button("open", key=f"open-{row}", width="stretch", help=f"Image #{row}, large, with its votes"):
                open_face(int(row))
            group = -1 if audited is None else int(audited[1].group[row])
            if group >= 0 and cell.button("copies", key=f"group-{row}", width="stretch",
                                          help=f"Image #{row}'s duplicate group, side by side"):
                open_group(group)
