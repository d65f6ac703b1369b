"""The label store behind the Relabel page and the `relabeled` label source: append-only events in SQLite.

Every change is one row of `events`: a `label` event (image, old label, new label, annotator, UTC time) or an `undo`
event naming the label event it cancels. Images labelled at once (Browse's bulk relabel) share a `batch` number:
one transaction writes them, one undo cancels them all, and the history lists them as one action. An image's current
label is derived, never stored: its latest label
event that no undo cancelled. Rows are only ever appended, so history and undo come free.

Each thread gets its own connection, because sqlite3 connections must not cross threads and Streamlit serves
every session from its own thread. Writes are one BEGIN IMMEDIATE transaction each (the write lock is taken up
front, so concurrent writers queue on `busy_timeout` instead of failing mid-transaction), in WAL mode with
synchronous=FULL so that an event, once `relabel` returns, survives kill -9 and (disk permitting) a power cut.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from core.data.classes import canonical_class
from core.data.dataset import FerDataset, with_relabels
from core.paths import data_dir

NOT_A_FACE = "not_a_face"  # a label that takes the image out of training
MAX_ANNOTATOR_CHARS = 64
MAX_IMAGE_ID_CHARS = 1024  # folder data sets use relative paths as ids
BUSY_TIMEOUT_MS = 15_000

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        image_id TEXT NOT NULL,
        old_label TEXT,
        new_label TEXT,
        annotator TEXT NOT NULL,
        time TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('label', 'undo')),
        undoes INTEGER REFERENCES events (id),
        batch INTEGER)""",
    "CREATE INDEX IF NOT EXISTS events_by_image ON events (image_id, id)",
    "CREATE INDEX IF NOT EXISTS events_by_annotator ON events (annotator, id)",
    # a label event can be cancelled once: a racing second undo of the same event fails instead of counting twice
    "CREATE UNIQUE INDEX IF NOT EXISTS events_by_undoes ON events (undoes) WHERE undoes IS NOT NULL",
)
LIVE_EVENTS = (
    "SELECT * FROM events AS e WHERE kind = 'label' AND NOT EXISTS (SELECT 1 FROM events AS u WHERE u.undoes = e.id)"
)
CURRENT_LABELS = (
    f"SELECT image_id, new_label FROM (SELECT image_id, new_label, ROW_NUMBER() OVER "
    f"(PARTITION BY image_id ORDER BY id DESC) AS newness FROM ({LIVE_EVENTS})) WHERE newness = 1"
)
DISAGREEMENTS = (
    f"WITH latest AS (SELECT image_id, annotator, new_label AS label, time, ROW_NUMBER() OVER "
    f"(PARTITION BY image_id, annotator ORDER BY id DESC) AS newness FROM ({LIVE_EVENTS})), "
    "mine AS (SELECT * FROM latest WHERE newness = 1) "
    "SELECT image_id, annotator, label, time FROM mine WHERE image_id IN "
    "(SELECT image_id FROM mine GROUP BY image_id HAVING COUNT(DISTINCT label) > 1) ORDER BY image_id, annotator"
)
INSERT_EVENT = (
    "INSERT INTO events (image_id, old_label, new_label, annotator, time, kind, undoes, batch) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)


def check_label(label: str) -> str:
    """A class name or synonym as its canonical name, or NOT_A_FACE; ValueError otherwise."""
    if not isinstance(label, str):
        raise ValueError(f"a label must be a class name, got {label!r}")
    if label.strip().lower().replace(" ", "_") == NOT_A_FACE:
        return NOT_A_FACE
    return canonical_class(label)


def check_annotator(annotator: str) -> str:
    """The annotator's name stripped; ValueError when empty or longer than MAX_ANNOTATOR_CHARS."""
    name = annotator.strip() if isinstance(annotator, str) else ""
    if not name:
        raise ValueError("an annotator name is required")
    if len(name) > MAX_ANNOTATOR_CHARS:
        raise ValueError(f"an annotator name has at most {MAX_ANNOTATOR_CHARS} characters, got {len(name)}")
    return name


def check_image_id(image_id: str) -> str:
    """The image id unchanged (it must match the data set's); ValueError when blank or implausibly long."""
    if not isinstance(image_id, str) or not image_id.strip() or len(image_id) > MAX_IMAGE_ID_CHARS:
        raise ValueError(f"an image id must be 1 to {MAX_IMAGE_ID_CHARS} characters, got {image_id!r}")
    return image_id


def utc_now() -> str:
    """The time of an event: UTC, ISO 8601, to the millisecond."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class RelabelStore:
    """Relabels and their history in one SQLite file (default `<data>/labels.sqlite`); safe to share between
    threads and to use from several processes at once."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path is not None else data_dir() / "labels.sqlite"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.local = threading.local()
        connection = self.connect()
        enable_wal(connection)
        if connection.execute("SELECT 1 FROM sqlite_master WHERE name = 'events'").fetchone() is None:
            with self.transaction():  # pages build a store per rerun: only a new file needs the write lock
                for statement in SCHEMA:
                    connection.execute(statement)
        elif "batch" not in {row[1] for row in connection.execute("PRAGMA table_info(events)")}:
            with self.transaction() as locked:  # a store written before batches existed gains the column
                if "batch" not in {row[1] for row in locked.execute("PRAGMA table_info(events)")}:
                    locked.execute("ALTER TABLE events ADD COLUMN batch INTEGER")

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path}  # connections stay behind: a pickled store reconnects where it lands

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.path, self.local = state["path"], threading.local()

    def connect(self) -> sqlite3.Connection:
        """This thread's connection, opened on first use and then kept: reopening per operation would make
        every close checkpoint the WAL, which costs more than the write itself."""
        connection = getattr(self.local, "connection", None)
        if connection is None or self.local.pid != os.getpid():  # a forked child must not use its parent's
            connection = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
            connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            connection.execute("PRAGMA synchronous = FULL")  # per connection; WAL's usual NORMAL may lose commits
            connection.row_factory = sqlite3.Row
            self.local.connection, self.local.pid = connection, os.getpid()
        return connection

    def close(self) -> None:
        """Close this thread's connection (other threads' close when their thread ends)."""
        connection = getattr(self.local, "connection", None)
        if connection is not None and self.local.pid == os.getpid():
            connection.close()
        self.local.connection = None

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, holding the write lock from the start so what it reads stays true."""
        connection = self.connect()
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield connection
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:  # SQLite rolls back by itself after some errors; a kept connection
                connection.execute("ROLLBACK")  # left mid-transaction would refuse every later BEGIN
            raise

    def relabel(self, image_id: str, new_label: str, annotator: str, old_label: str | None = None) -> int:
        """Record `annotator` labelling `image_id` as `new_label`; return the event id.

        `old_label` is the label the annotator saw (the page knows the original); without it, the store's
        current label for the image is recorded, or NULL when it has none.
        """
        image_id, new_label = check_image_id(image_id), check_label(new_label)
        annotator = check_annotator(annotator)
        old = check_label(old_label) if old_label else None
        with self.transaction() as connection:
            if old is None:
                old = current_label(connection, image_id)
            cursor = connection.execute(
                INSERT_EVENT, (image_id, old, new_label, annotator, utc_now(), "label", None, None)
            )
            return int(cursor.lastrowid)

    def relabel_many(
        self, image_ids: list[str], new_label: str, annotator: str, old_labels: Mapping[str, str | None] | None = None
    ) -> int:
        """Record `annotator` labelling every image of `image_ids` as `new_label`: one event per image, all in one
        transaction under one new batch number, which is returned. `old_labels` works as `relabel`'s old_label."""
        ids = list(dict.fromkeys(check_image_id(i) for i in image_ids))
        if not ids:
            raise ValueError("select at least one image to label")
        new_label, annotator = check_label(new_label), check_annotator(annotator)
        given = {i: check_label(label) for i, label in (old_labels or {}).items() if label and i in ids}
        with self.transaction() as connection:
            batch = int(connection.execute("SELECT COALESCE(MAX(batch), 0) + 1 FROM events").fetchone()[0])
            now = utc_now()
            connection.executemany(
                INSERT_EVENT,
                [
                    (i, given.get(i) or current_label(connection, i), new_label, annotator, now, "label", None, batch)
                    for i in ids
                ],
            )
            return batch

    def undo(self, annotator: str) -> dict[str, Any] | None:
        """Cancel `annotator`'s latest label event not yet undone, or all of its batch; return it (plus `undo_id`
        and `label_now`, the image's label after the undo, and `count`, how many images the undo restored), or
        None when nothing is left to undo. Other annotators are untouched."""
        annotator = check_annotator(annotator)
        with self.transaction() as connection:
            target = connection.execute(
                f"{LIVE_EVENTS} AND annotator = ? ORDER BY id DESC LIMIT 1", (annotator,)
            ).fetchone()
            if target is None:
                return None
            events = (
                [target]
                if target["batch"] is None
                else connection.execute(
                    f"{LIVE_EVENTS} AND annotator = ? AND batch = ? ORDER BY id DESC", (annotator, target["batch"])
                ).fetchall()
            )
            now, undo_id, target_label_now, count = utc_now(), None, None, 0
            for event in events:
                label_now = current_label(connection, event["image_id"], excluding=event["id"])
                cursor = connection.execute(
                    INSERT_EVENT,
                    (
                        event["image_id"],
                        event["new_label"],
                        label_now,
                        annotator,
                        now,
                        "undo",
                        event["id"],
                        event["batch"],
                    ),
                )
                count += 1
                if event["id"] == target["id"]:
                    undo_id, target_label_now = int(cursor.lastrowid), label_now
            return {**dict(target), "undo_id": undo_id, "label_now": target_label_now, "count": count}

    def current_labels(self) -> dict[str, str]:
        """image_id -> its current label, for every image with a live relabel."""
        return {row["image_id"]: row["new_label"] for row in self.connect().execute(CURRENT_LABELS)}

    def history(self, annotator: str | None = None, image_id: str | None = None) -> pd.DataFrame:
        """Every event, newest first, optionally of one annotator and/or image; `undone` marks cancelled labels."""
        who = check_annotator(annotator) if annotator is not None else None
        which = check_image_id(image_id) if image_id is not None else None
        query = (
            "SELECT e.*, EXISTS (SELECT 1 FROM events AS u WHERE u.undoes = e.id) AS undone FROM events AS e "
            "WHERE (:who IS NULL OR annotator = :who) AND (:which IS NULL OR image_id = :which) ORDER BY id DESC"
        )
        frame = pd.read_sql_query(query, self.connect(), params={"who": who, "which": which})
        return frame.astype({"id": "int64", "undoes": "Int64", "undone": bool, "batch": "Int64"})

    def actions(self, annotator: str | None = None) -> pd.DataFrame:
        """The history with each batch as one row ("48 images", the label they got, `images` counts them),
        newest first: what a person did, rather than every event."""
        events = self.history(annotator=annotator)
        events["images"] = 1
        single, batched = events[events["batch"].isna()], events[events["batch"].notna()]
        if batched.empty:
            return events
        first = {
            "id": "max",
            "old_label": lambda labels: labels.iloc[0] if labels.nunique() == 1 else "(mixed)",
            "new_label": "first",
            "annotator": "first",
            "time": "first",
            "undoes": "max",
            "undone": "all",
            "images": "sum",
            "image_id": lambda ids: f"{len(ids)} images",
        }
        grouped = batched.groupby(["batch", "kind"], as_index=False).agg(first)
        return pd.concat([single, grouped], ignore_index=True).sort_values("id", ascending=False, ignore_index=True)[
            events.columns
        ]

    def labels_by_annotator(self) -> pd.DataFrame:
        """Each annotator's latest live label per image: columns image_id, annotator, label."""
        query = (
            f"SELECT image_id, annotator, label FROM (SELECT image_id, annotator, new_label AS label, "
            f"ROW_NUMBER() OVER (PARTITION BY image_id, annotator ORDER BY id DESC) AS newness "
            f"FROM ({LIVE_EVENTS})) WHERE newness = 1 ORDER BY image_id, annotator"
        )
        return pd.read_sql_query(query, self.connect())

    def annotators(self) -> list[str]:
        """Everyone who ever wrote an event, sorted."""
        return [row[0] for row in self.connect().execute("SELECT DISTINCT annotator FROM events ORDER BY annotator")]

    def disagreements(self) -> pd.DataFrame:
        """One row per (image, annotator) for images whose annotators' latest live labels differ: image_id,
        annotator, label, time."""
        return pd.read_sql_query(DISAGREEMENTS, self.connect())

    def count(self) -> int:
        """How many events (labels and undos) the store holds."""
        return int(self.connect().execute("SELECT COUNT(*) FROM events").fetchone()[0])


def enable_wal(connection: sqlite3.Connection) -> None:
    """Put the file in WAL mode (it stays so, but only a new file has it yet). While another connection writes,
    SQLite refuses the switch at once instead of waiting on busy_timeout: processes opening a new store together
    met "database is locked" here, so wait as busy_timeout would."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            connection.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
        time.sleep(0.01)


def current_label(connection: sqlite3.Connection, image_id: str, excluding: int | None = None) -> str | None:
    """The image's current label inside an open transaction, optionally as if event `excluding` were undone."""
    row = connection.execute(
        f"{LIVE_EVENTS} AND image_id = ? AND id IS NOT ? ORDER BY id DESC LIMIT 1", (image_id, excluding)
    ).fetchone()
    return row["new_label"] if row is not None else None


def resolve_relabels(relabels: Mapping[str, str] | RelabelStore | None) -> dict[str, str]:
    """Relabels given as a mapping (checked like the store checks them) or a store; None means the default store."""
    if relabels is None:
        relabels = RelabelStore()
    if isinstance(relabels, RelabelStore):
        return relabels.current_labels()
    return {image_id: check_label(label) for image_id, label in relabels.items()}


def relabeled_dataset(dataset: FerDataset, store: RelabelStore | None = None) -> FerDataset:
    """The data set with its `relabeled` column filled from the store; not-a-face images get "" (no label)."""
    relabels = resolve_relabels(store)
    return with_relabels(dataset, {key: "" if label == NOT_A_FACE else label for key, label in relabels.items()})
