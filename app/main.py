"""FER Studio: `streamlit run app/main.py`. A thin router over the pages in `pages/`."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from app.auth import gate
from app.gc_pauses import freeze_long_lived
from app.sidebar import show_sidebar
from app.state import current_dataset
from app.url_state import carry_over, remember

PAGES = Path(__file__).resolve().parent.parent / "pages"

# an emoji favicon is drawn locally; a :material/...: one would be fetched from Google on every page view
st.set_page_config(page_title="FER Studio", page_icon="🙂", layout="wide")
gate()  # with accounts, nothing below runs until someone signs in
navigation = st.navigation(
    [
        st.Page(PAGES / "data.py", title="Data", icon=":material/dataset:", default=True),
        st.Page(PAGES / "browse.py", title="Browse", icon=":material/grid_view:"),
        st.Page(PAGES / "relabel.py", title="Relabel", icon=":material/label:"),
        st.Page(PAGES / "map.py", title="Map", icon=":material/scatter_plot:"),
        st.Page(PAGES / "train.py", title="Train", icon=":material/model_training:"),
        st.Page(PAGES / "predict.py", title="Predict", icon=":material/face:"),
        st.Page(PAGES / "models.py", title="Models", icon=":material/account_tree:"),
    ]
)
carry_over(navigation.url_path)  # Streamlit's page links drop the query: the session's choices come back
show_sidebar(current_dataset())
try:
    navigation.run()
finally:  # also after st.stop() and reruns: the page's imports and caches are what to freeze
    remember(navigation.url_path)
    freeze_long_lived()
