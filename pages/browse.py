"""Browse page: every image in pages of 48, filtered by split, labels, agreement, not-a-face votes and the model.

Filters and the page number live in the URL (app/url_state.py); a face opens in a dialog with its votes, the
model's probabilities (from the predictions job's cache, never from running the model here) and the Relabel keys
(app/face_dialog.py); picked faces get one label at once (app/bulk_label.py).
"""

import numpy as np
import streamlit as st

from app.audit_state import current_audit, selected_rows, show_group
from app.bulk_label import bulk_bar, pick_box
from app.face_dialog import open_face
from app.predictions import predictions_panel
from app.state import (
    annotator,
    current_dataset,
    current_label_quality,
    current_model_path,
    current_model_probabilities,
    current_predictor,
)
from app.url_state import keep, restore
from core.audit.problems import PROBLEM_NAMES
from core.data.classes import ALL_CLASSES
from core.data.dataset import VOTE_COLUMNS
from core.data.fer2013 import SPLITS
from core.data.ferplus import majority_outcome
from core.data.filters import ImageFilter, filter_rows, page, worst_labels_first
from core.labels.relabels import RelabelStore
from core.labels.session import shown as shown_label

PER_PAGE, COLUMNS = 48, 6  # six across: short captions stay on two lines on a desktop
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
defaults = {
    "browse_predictions": False,
    "browse_splits": [],
    "browse_labels": [],
    "browse_ferplus": [],
    "browse_disagree": False,
    "browse_agreement": (0.0, 1.0),
    "browse_notface": 0,
    "browse_predicted": [],
    "browse_confidence": (0.0, 1.0),
    "browse_issues": False,
    "browse_quality": 1.0,
    "browse_worst": False,
    "browse_copies": False,
    "browse_conflicts": False,
    "browse_problems": [],
}
options = {
    "browse_splits": SPLITS,
    "browse_labels": labels,
    "browse_ferplus": ALL_CLASSES + ("",),
    "browse_predicted": predictor.classes if predictor else [],
    "browse_problems": PROBLEM_NAMES,
}
bounds = {
    "browse_agreement": (0.0, 1.0),
    "browse_notface": (0, 10),
    "browse_confidence": (0.0, 1.0),
    "browse_quality": (0.0, 1.0),
}  # the sliders' ranges: a value off them is dropped
for key, default in defaults.items():
    restore(key, default, options.get(key), bounds.get(key))
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
        ferplus=tuple(
            middle.multiselect(
                "FERPlus majority", ALL_CLASSES + ("",), format_func=lambda c: c or "(none)", key="browse_ferplus"
            )
        )
        if plus
        else (),
        disagree_only=middle.checkbox("FER2013 and FERPlus disagree", key="browse_disagree") if plus else False,
        agreement=right.slider("FERPlus agreement", 0.0, 1.0, key="browse_agreement") if plus else (0.0, 1.0),
        min_not_face_votes=right.slider("At least this many not-a-face votes", 0, 10, key="browse_notface")
        if plus
        else 0,
        predicted=tuple(left.multiselect("Predicted class", predictor.classes, key="browse_predicted"))
        if scored
        else (),
        confidence=middle.slider("Model confidence", 0.0, 1.0, key="browse_confidence") if scored else (0.0, 1.0),
        issues_only=right.checkbox("Only labels flagged as wrong", key="browse_issues") if quality else False,
        max_quality=right.slider("Label quality at most", 0.0, 1.0, key="browse_quality") if quality else 1.0,
    )
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
        right.caption(
            "Label quality appears here once `python -m core label-issues --compute` has run "
            "(it ships for the full FER2013 import)."
        )
rows = filter_rows(
    dataset, spec, probabilities, predictor.classes if predictor else None, quality, audited and audited[1]
)
rows = worst_labels_first(rows, quality) if worst_first else rows
pages = max(1, -(-len(rows) // PER_PAGE))
restore("browse_page", 1, bounds=(1, pages), clamp=True)
st.session_state.browse_page = min(st.session_state.browse_page, pages)  # fewer pages since the filters changed
number = st.number_input(f"Page (of {pages:,}; {len(rows):,} images match)", 1, pages, key="browse_page")
keep({**defaults, "browse_page": 1})
shown = page(rows, number, PER_PAGE)
store, who = RelabelStore(), annotator()
relabels = store.current_labels()  # one query: captions show a face's label from the store


def caption(row: int) -> str:
    """Short plain words: "fear · FERPlus neutral 50 % · model fear · quality 0.03 (neutral?)"."""
    record = dataset.meta.iloc[row]
    parts = [
        f"{record['label'] or '(none)'}"
        + (f" → {shown_label(relabels[record['image_id']])}" if record["image_id"] in relabels else "")
    ]
    if dataset.has_ferplus:
        majority = record["ferplus"] or majority_outcome(record[list(VOTE_COLUMNS)].to_numpy(dtype=int))[0]
        parts.append(f"FERPlus {majority or 'no majority'} {record['agreement']:.0%}")
    if probabilities is not None:
        parts.append(f"model {predictor.classes[int(probabilities[row].argmax())]}")
    if quality is not None and not np.isnan(quality.score[row]):
        parts.append(
            f"quality {quality.score[row]:.2f}" + (f" ({quality.suggested[row]}?)" if quality.flagged[row] else "")
        )
    return " · ".join(parts)


def set_page(number: int) -> None:
    st.session_state.browse_page = min(max(number, 1), pages)


@st.dialog("Duplicate group", width="large")
def open_group(group: int) -> None:
    show_group(dataset, audited[0], group)


bulk_bar(dataset, store, shown, who, relabels)
face_args = (dataset, caption, model, predictor is not None, who)
st.html(NARROW_GRID_CSS)
with st.container(key="browse_grid"):
    for start in range(0, len(shown), COLUMNS):
        for offset, (cell, row) in enumerate(zip(st.columns(COLUMNS), shown[start : start + COLUMNS])):
            cell.image(np.asarray(dataset.images[row]), caption=caption(int(row)), width="stretch")
            pick_box(cell, int(row))  # stacked, not nested columns: the phone layout wraps the grid's columns
            if cell.button("open", key=f"open-{row}", width="stretch", help=f"Image #{row}, large, with its votes"):
                open_face(rows, (number - 1) * PER_PAGE + start + offset, *face_args)
            group = -1 if audited is None else int(audited[1].group[row])
            if group >= 0 and cell.button(
                "copies", key=f"group-{row}", width="stretch", help=f"Image #{row}'s duplicate group, side by side"
            ):
                open_group(group)
pager = st.container(horizontal=True, vertical_alignment="center", key="browse_pager_bottom")
pager.button("previous page", key="browse_page_back", on_click=set_page, args=(number - 1,), disabled=number == 1)
pager.caption(f"page {number:,} of {pages:,}")
pager.button("next page", key="browse_page_next", on_click=set_page, args=(number + 1,), disabled=number == pages)
