"""One annotator's pass over the relabel queue: where they are, what they labelled, and the line that confirms it.

Pure (no Streamlit): the Relabel page keeps one `RelabelSession` in its session state and calls these methods from
its buttons. Every label and undo goes straight to the `RelabelStore`; the session only remembers positions, so
Back shows an image labelled a moment ago (with its new label) and Undo returns to the image it undid.
"""

from __future__ import annotations

import pandas as pd

from core.labels.relabels import NOT_A_FACE, RelabelStore


class RelabelSession:
    """A queue (from `core.labels.queue.disputed_queue`), a position in it and this session's labels."""

    def __init__(self, queue: pd.DataFrame, store: RelabelStore, annotator: str):
        self.queue, self.store, self.annotator = queue.reset_index(drop=True), store, annotator
        self.position = 0
        self.done: dict[str, str] = {}  # image_id -> the label given in this session (undone ones leave)
        self.message = ""
        self.positions = {image_id: i for i, image_id in enumerate(self.queue["image_id"])}

    @property
    def item(self) -> pd.Series | None:
        """The queue row on show, with this session's label as `label`; None past the end."""
        if self.position >= len(self.queue):
            return None
        row = self.queue.iloc[self.position].copy()
        row["label"] = self.done.get(row["image_id"], row["label"])
        return row

    @property
    def left(self) -> int:
        """Queue images not labelled in this session."""
        return len(self.queue) - len(self.done)

    def label(self, label: str) -> None:
        """Record `label` for the image on show (one event in the store) and move on."""
        item = self.item
        if item is None:
            return
        self.store.relabel(item["image_id"], label, self.annotator, old_label=item["label"] or None)
        self.done[item["image_id"]] = label
        self.message = f"{item['image_id']} → {shown(label)} · U to undo"
        self.position += 1

    def skip(self) -> None:
        self.position = min(self.position + 1, len(self.queue))
        self.message = ""

    def back(self) -> None:
        self.position = max(self.position - 1, 0)
        self.message = ""

    def undo(self) -> None:
        """Cancel this annotator's latest label (in the store) and show that image again when it is queued."""
        event = self.store.undo(self.annotator)
        if event is None:
            self.message = "Nothing to undo."
            return
        image_id = event["image_id"]
        self.done.pop(image_id, None)
        if image_id in self.positions:
            self.position = self.positions[image_id]
        count = event.get("count", 1)
        self.message = (
            f"Undid {image_id} → {shown(event['new_label'])}"
            if count == 1
            else f"Undid a bulk label of {count} images → {shown(event['new_label'])}"
        )


def shown(label: str | None) -> str:
    """A label as the page words it."""
    return "not a face" if label == NOT_A_FACE else (label or "unlabelled")
