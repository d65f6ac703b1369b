"""The small charts several pages draw: one image's FERPlus votes, one face's class probabilities (Plotly, or plain
HTML bars where a chart must show in the same frame as the face), every face of a prediction, a face as inline HTML,
and training curves."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable

import numpy as np
import pandas as pd
from PIL import Image

from core.data.classes import vote_column_name
from core.data.dataset import VOTE_COLUMNS, FerDataset
from core.inference.draw import face_colour


def votes_chart(dataset: FerDataset, row: int, height: int | None = None):
    """A bar chart of one image's ten FERPlus vote counts, the columns named as the studio names classes."""
    import plotly.express as px

    counts = dataset.meta.iloc[row][list(VOTE_COLUMNS)].astype(int).to_numpy()
    return px.bar(
        x=[vote_column_name(c.removeprefix("votes_")) for c in VOTE_COLUMNS],
        y=counts,
        height=height,
        labels={"x": "FERPlus vote", "y": "votes"},
        title="FERPlus votes",
    )


def probabilities_chart(probabilities: dict[str, float], title: str, height: int | None = None):
    """A bar chart of one face's class probabilities."""
    import plotly.express as px

    return px.bar(
        x=list(probabilities),
        y=list(probabilities.values()),
        height=height,
        title=title,
        labels={"x": "class", "y": "probability"},
    )


def faces_chart(result, height: int = 340):
    """Every face's class probabilities (a `core.inference.predictor.PredictionResult`): one group of bars per
    class, one bar per face, named and coloured as its box in `core.inference.draw.annotate`; None without faces.
    The studio's Predict page and the Gradio app both draw this one."""
    import plotly.graph_objects as go

    if not result.faces:
        return None
    figure = go.Figure(
        [
            go.Bar(
                name=f"face {i}",
                x=list(face.probabilities),
                y=list(face.probabilities.values()),
                marker_color=face_colour(i),
                hovertemplate="%{x}: %{y:.1%}<extra>" + f"face {i}</extra>",
            )
            for i, face in enumerate(result.faces, 1)
        ]
    )
    figure.update_layout(
        barmode="group",
        height=height,
        margin=dict(l=10, r=10, t=40, b=10),
        yaxis=dict(range=[0, 1], tickformat=".0%", title="probability"),
        legend=dict(orientation="h", y=1.02, yanchor="bottom", x=1, xanchor="right"),
    )
    return figure


def bars_html(values: dict[str, float], title: str, value_text: Callable[[float], str] = str) -> str:
    """A horizontal bar chart in plain HTML and CSS, drawn in the same frame as the rest of the page (Plotly
    draws later, in a script of its own). Names and title are escaped."""
    top = max(values.values(), default=0) or 1
    rows = "".join(
        f'<div style="display:flex;align-items:center;gap:6px;height:17px">'
        f'<span style="width:72px;text-align:right">{html.escape(name)}</span>'
        f'<span style="flex:1;height:11px;background:rgba(128,128,128,.15)">'
        f'<span style="display:block;height:100%;width:{100 * value / top:.1f}%;background:#ff4b4b"></span></span>'
        f'<span style="width:34px">{html.escape(value_text(value))}</span></div>'
        for name, value in values.items()
    )
    return f'<div style="font-size:12px;line-height:1"><b>{html.escape(title)}</b>{rows}</div>'


def face_html(image: np.ndarray, image_id: str, caption: str, size: int = 200) -> str:
    """A 48x48 face as an inline PNG (no second request, so it shows with the panels beside it), with its
    caption; `data-image-id` names the image for tests and the benchmark."""
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(image, dtype=np.uint8)).save(buffer, format="PNG")
    source = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
    return (
        f'<figure data-image-id="{html.escape(image_id)}" style="margin:0">'
        f'<img src="{source}" width="{size}" height="{size}" alt="{html.escape(image_id)}">'
        f'<figcaption style="font-size:12px;opacity:.7">{html.escape(caption)}</figcaption></figure>'
    )


def curve_chart(epochs, columns: list[str], title: str, steps=None, height: int = 320):
    """Epoch curves of `columns` (a partial epoch dashed, with an open marker, at the fractional epoch where it was
    stopped) and, when given, the step-level training loss; x is the fractional epoch."""
    import plotly.graph_objects as go
    from plotly.colors import DEFAULT_PLOTLY_COLORS as colors

    figure = go.Figure().update_layout(title=title, height=height, xaxis_title="epoch", legend_title_text="")
    full, partial = (epochs[~epochs["partial"]], epochs[epochs["partial"]]) if not epochs.empty else (epochs, epochs)
    for color, column in zip(colors, columns):
        if column in full and full[column].notna().any():
            figure.add_scatter(x=full["x"], y=full[column], name=column, mode="lines+markers", line_color=color)
        if column in partial and partial[column].notna().any():
            tail = pd.concat([full.tail(1), partial])
            figure.add_scatter(
                x=tail["x"],
                y=tail[column],
                name=f"{column} (partial epoch)",
                mode="lines+markers",
                line={"color": color, "dash": "dash"},
                marker={"symbol": "circle-open", "size": 10},
            )
    if steps is not None and not steps.empty:
        figure.add_scatter(
            x=steps["x"],
            y=steps["train_loss"],
            name="train_loss (steps)",
            mode="lines+markers",
            line={"color": "lightgray", "width": 1},
            marker={"size": 4},
        )
    return figure
