"""What every page shares: the cached data set, model and label store, and the sidebar. No ML logic here.

Choices a person makes (annotator name, model) live in the URL's query parameters, so a browser refresh or a
bookmark keeps them; everything else lives on disk through `core`.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import streamlit as st

from core.data.dataset import FerDataset
from core.data.store import current_dataset_dir, load_dataset

# Markdown and Streamlit directive characters (`:red[...]`, `$math$`, links, images): text that people or files supply
# is shown literally, never interpreted (Streamlit already escapes raw HTML).
MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|~<>$:&=])")
IMPORT_HINT = ("python -m core import-data --fer2013 ../shared/data/fer2013/fer2013.csv.gz "
               "--ferplus ../shared/data/fer2013/fer2013new.csv")


# GitHub-style autolinks (http://..., www...., a@b.c) ignore backslash escapes: an invisible word joiner breaks them.
AUTOLINK_STARTS = re.compile(r"(://|www\.|@)", re.IGNORECASE)


def escape_markdown(text: object) -> str:
    """`text` on one line with every Markdown special character escaped and no autolink, for st.markdown & co."""
    flat = AUTOLINK_STARTS.sub(lambda m: m.group(1)[0] + "\u2060" + m.group(1)[1:], " ".join(str(text).split()))
    return MARKDOWN_SPECIALS.sub(r"\\\1", flat)


@st.cache_resource(show_spinner="Loading the data set ...")
def cached_dataset(folder_key: str) -> FerDataset:
    """One shared copy per imported data set; a new import changes the key and so reloads."""
    return load_dataset()


def current_dataset() -> FerDataset:
    """The data set in use (the shipped sample until something is imported)."""
    return cached_dataset(str(current_dataset_dir()))


@st.cache_resource(show_spinner="Loading the model ...")
def cached_predictor(path: str, mtime_ns: int):
    from core.inference.predictor import Predictor

    return Predictor.load(path)


def current_model_path() -> Path | None:
    """The model chosen in the sidebar (kept in the URL), else the default one."""
    from core.inference.catalog import default_checkpoint

    chosen = st.query_params.get("model")
    if chosen and Path(chosen).is_file():
        return Path(chosen)
    return default_checkpoint()


def current_predictor():
    path = current_model_path()
    return None if path is None else cached_predictor(str(path), path.stat().st_mtime_ns)


def annotator() -> str:
    return st.query_params.get("annotator", "").strip()


def streamlit_progress(text: str):
    """A core `Track` that drives an st.progress bar."""
    bar = st.progress(0.0, text=text)

    def track(items: Iterable, total: int, description: str):
        for i, item in enumerate(items):
            if i % max(1, total // 100) == 0:
                bar.progress(min(i / max(total, 1), 1.0), text=f"{text}: {description} {i:,}/{total:,}")
            yield item
        bar.progress(1.0, text=f"{text}: done")
    return track


def show_sidebar(dataset: FerDataset) -> None:
    """Which data set is loaded, who is annotating, and which model is in use."""
    from core.inference.catalog import list_checkpoints

    with st.sidebar:
        if dataset.is_sample:
            st.warning(f"Showing the shipped **sample** ({len(dataset)} images). Import the full data set on "
                       "the Data page, or with:")
            st.code(IMPORT_HINT, language="bash", wrap_lines=True)
        else:
            st.success(f"Data set: **{escape_markdown(dataset.info.get('source'))}**, {len(dataset):,} images "
                       f"(imported {dataset.info.get('created', '?')})")
        name = st.text_input("Annotator", value=annotator(), max_chars=64, placeholder="your name (for relabels)")
        if name.strip() != annotator():
            st.query_params["annotator"] = name.strip()
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


def votes_chart(dataset: FerDataset, row: int, height: int | None = None):
    """A bar chart of one image's ten FERPlus vote counts."""
    import plotly.express as px

    from core.data.dataset import VOTE_COLUMNS

    counts = dataset.meta.iloc[row][list(VOTE_COLUMNS)].astype(int).to_numpy()
    return px.bar(x=[c.removeprefix("votes_") for c in VOTE_COLUMNS], y=counts, height=height,
                  labels={"x": "FERPlus column", "y": "votes"}, title="FERPlus votes")


def probabilities_chart(probabilities: dict[str, float], title: str, height: int | None = None):
    """A bar chart of one face's class probabilities."""
    import plotly.express as px

    return px.bar(x=list(probabilities), y=list(probabilities.values()), height=height, title=title,
                  labels={"x": "class", "y": "probability"})
