"""The sidebar on every page: which data set is loaded, who is annotating, and which model is in use."""

from __future__ import annotations

import streamlit as st

from app.auth import accounts_on, annotator_name
from app.state import annotator, current_model_path
from app.text import IMPORT_HINT, escape_markdown, readable_date
from core.data.dataset import FerDataset
from core.inference.catalog import list_checkpoints

# Enter in a one-line text field means "done": focus leaves the field, so the next key press reaches the Relabel
# keys instead of typing into it (Streamlit's shortcuts ignore keys while a text field has focus). A select's
# search box keeps focus (Enter picks there). Once per browser tab; the handler runs after Streamlit's own, which
# commits the value on Enter.
BLUR_ON_ENTER = """<script>
if (!window.ferBlurOnEnter) {
  window.ferBlurOnEnter = true;
  document.addEventListener("keydown", (event) => {
    const field = event.target;
    if (event.key === "Enter" && field instanceof HTMLInputElement && field.type === "text"
        && field.getAttribute("role") !== "combobox" && !field.hasAttribute("aria-autocomplete")) {
      setTimeout(() => field.blur(), 0);
    }
  });
}
</script>"""


def show_sidebar(dataset: FerDataset) -> None:
    """Which data set is loaded, who is annotating, and which model is in use."""
    with st.sidebar:
        st.html(BLUR_ON_ENTER, unsafe_allow_javascript=True)
        if dataset.is_sample:
            st.warning(
                f"Showing the shipped **sample** ({len(dataset)} images). Import the full data set on "
                "the Data page, or with:"
            )
            st.code(IMPORT_HINT, language="bash", wrap_lines=True)
        else:
            st.success(
                f"Data set: **{escape_markdown(dataset.info.get('source'))}**, {len(dataset):,} images "
                f"(imported {readable_date(dataset.info.get('created'))})"
            )
        if not accounts_on():  # with accounts, label events are recorded under the signed-in account
            typed = st.query_params.get("annotator", "")
            name = st.text_input("Annotator", value=annotator() or typed, placeholder="your name (for relabels)")
            if name.strip() != typed.strip():
                st.query_params["annotator"] = name.strip()
            if annotator_name(name)[1]:  # too long, or only invisible characters: said, never cut
                st.error(annotator_name(name)[1])
        entries = list_checkpoints()
        current = current_model_path()
        paths = [str(e.path) for e in entries]
        if entries:
            index = paths.index(str(current)) if current is not None and str(current) in paths else 0
            chosen = st.selectbox("Model", paths, index=index, format_func=lambda p: entries[paths.index(p)].label)
            if chosen != st.query_params.get("model"):
                st.query_params["model"] = chosen
        else:
            st.info("No trained model yet: train one on the Train page.")
