"""The small charts several pages draw: one image's FERPlus votes, one face's class probabilities, training curves."""
from __future__ import annotations

import pandas as pd

from core.data.dataset import FerDataset


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
            figure.add_scatter(x=tail["x"], y=tail[column], name=f"{column} (partial epoch)", mode="lines+markers",
                               line={"color": color, "dash": "dash"}, marker={"symbol": "circle-open", "size": 10})
    if steps is not None and not steps.empty:
        figure.add_scatter(x=steps["x"], y=steps["train_loss"], name="train_loss (steps)", mode="lines+markers",
                           line={"color": "lightgray", "width": 1}, marker={"size": 4})
    return figure
