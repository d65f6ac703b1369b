"""The small charts several pages draw: one image's FERPlus votes, one face's class probabilities."""
from __future__ import annotations

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
