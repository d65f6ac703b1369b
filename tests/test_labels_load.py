"""The label store under load and under kill -9: real OS processes writing at once while another exports.

Each writer follows a plan drawn from its own seed (labels over a few hundred images, so labels are overwritten
often, and now and then an undo), so the test knows exactly what every annotator wrote and in what order.
Writers run `run_writer` from this module in a subprocess and print each event id once `relabel`/`undo` has
returned, i.e. once the event is committed: those ids must survive anything.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import closing
from datetime import datetime
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path

import pandas as pd
import pytest

from conftest import fake_faces, write_fer2013, write_ferplus
from core.data.classes import FER2013_CLASSES
from core.data.dataset import FerDataset, build_fer2013_dataset
from core.labels.exports import export_fer2013_csv, export_ferplus_csv
from core.labels.relabels import NOT_A_FACE, RelabelStore
from core.paths import REPO_ROOT

IMAGES = 300
LABELS = (*FER2013_CLASSES, "contempt", NOT_A_FACE)
UNDO_EVERY = 10  # about one operation in ten is an undo
TESTS_DIR = Path(__file__).resolve().parent


def plan(seed: int, n: int) -> list[tuple[str, str] | None]:
    """`n` operations: (image_id, label) for a relabel, None for an undo (never first, so one is always possible)."""
    rng = random.Random(seed)
    steps: list[tuple[str, str] | None] = []
    for i in range(n):
        if i > 0 and rng.randrange(UNDO_EVERY) == 0:
            steps.append(None)
        else:
            steps.append((f"fer{rng.randrange(IMAGES):07d}", rng.choice(LABELS)))
    return steps


def run_writer(path: str, annotator: str, seed: int, n: int, pause_us: int = 0) -> None:
    """Subprocess entry point: say ready, wait for a line on stdin, then carry out the plan, printing event ids,
    pausing `pause_us` microseconds between events."""
    store = RelabelStore(path)
    print("ready", flush=True)
    sys.stdin.readline()
    for step in plan(seed, n):
        event = store.relabel(step[0], step[1], annotator) if step else store.undo(annotator)["undo_id"]
        print(event, flush=True)  # only after the call returned: the event is committed
        time.sleep(pause_us / 1e6)


def start_writer(path: Path, annotator: str, seed: int, n: int, pause_us: int = 0) -> subprocess.Popen:
    code = (
        f"import sys; sys.path[:0] = [{str(TESTS_DIR)!r}, {str(REPO_ROOT)!r}]\n"
        f"from test_labels_load import run_writer; run_writer(*sys.argv[1:3], *map(int, sys.argv[3:]))"
    )
    arguments = [str(path), annotator, str(seed), str(n), str(pause_us)]
    return subprocess.Popen(
        [sys.executable, "-c", code, *arguments],
        cwd=REPO_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def go(*writers: subprocess.Popen) -> None:
    """Once every writer says it is ready, start them all at once."""
    for writer in writers:
        assert writer.stdout.readline() == "ready\n", writer.stderr.read()
    for writer in writers:
        writer.stdin.write("go\n")
        writer.stdin.flush()


def expected_rows(seed: int, n: int, ids: list[int]) -> list[tuple]:
    """(id, kind, image_id, new_label or None, undoes) of the first len(ids) planned operations, given their ids.
    An undo's image and target follow from the annotator's own events alone; its new label depends on others."""
    live: list[tuple[int, str]] = []  # this annotator's label events not undone: (id, image_id)
    rows = []
    for event, step in zip(ids, plan(seed, n)):
        if step is None:
            target, image = live.pop()
            rows.append((event, "undo", image, None, target))
        else:
            live.append((event, step[0]))
            rows.append((event, "label", step[0], step[1], None))
    return rows


def stored_rows(events: pd.DataFrame, annotator: str) -> list[tuple]:
    mine = events[events["annotator"] == annotator].sort_values("id")
    return [
        (
            int(r.id),
            r.kind,
            r.image_id,
            r.new_label if r.kind == "label" else None,
            None if pd.isna(r.undoes) else int(r.undoes),
        )
        for r in mine.itertuples()
    ]


def all_events(path: Path) -> pd.DataFrame:
    with closing(sqlite3.connect(path)) as connection:
        return pd.read_sql_query("SELECT * FROM events ORDER BY id", connection).astype({"undoes": "Int64"})


def labels_after(events: pd.DataFrame) -> list[dict[str, str]]:
    """The current labels after each prefix of the event log: item k holds those of events with id <= k."""
    live: dict[str, list[tuple[int, str]]] = {}  # image -> its live label events in order
    where: dict[int, str] = {}
    states = [{}]
    for event in events.itertuples():
        if event.kind == "label":
            live.setdefault(event.image_id, []).append((event.id, event.new_label))
            where[event.id] = event.image_id
        else:
            image = where[int(event.undoes)]
            live[image] = [pair for pair in live[image] if pair[0] != int(event.undoes)]
        states.append({image: pairs[-1][1] for image, pairs in live.items() if pairs})
    return states


def exported_relabels(path: Path) -> dict[str, str]:
    """image_id -> relabel from either export format (the FER2013 one is in image-id order)."""
    table = pd.read_csv(path, keep_default_na=False, dtype=str)
    ids = (
        table["Image name"].str.removesuffix(".png")
        if "Image name" in table
        else pd.Series([f"fer{i:07d}" for i in range(len(table))])
    )
    return {image: label for image, label in zip(ids, table["relabel"]) if label}


@pytest.fixture
def dataset(tmp_path: Path) -> FerDataset:
    faces = fake_faces(IMAGES)
    usage = ["Training"] * IMAGES
    fer = write_fer2013(tmp_path / "fer2013.csv", faces, [i % 7 for i in range(IMAGES)], usage)
    plus = write_ferplus(tmp_path / "fer2013new.csv", [[10, 0, 0, 0, 0, 0, 0, 0, 0, 0]] * IMAGES, usage)
    return build_fer2013_dataset(fer, plus)


def newest_id(store: RelabelStore) -> int:
    return store.connect().execute("SELECT COALESCE(MAX(id), 0) FROM events").fetchone()[0]


def read_while_running(
    store: RelabelStore, dataset: FerDataset, out: Path, writers: list[subprocess.Popen]
) -> tuple[list[tuple[int, int, dict[str, str]]], list[tuple[int, dict[str, str]]]]:
    """Until the writers exit, export in turn to both formats and read the current labels. Return the exports
    as (newest id before, newest id after, relabels) and the reads as (newest id, labels) of one snapshot."""
    exports, reads = [], []
    while any(writer.poll() is None for writer in writers):
        before = newest_id(store)
        export = export_ferplus_csv if len(exports) % 2 else export_fer2013_csv
        export(dataset, out, relabels=store)
        exports.append((before, newest_id(store), exported_relabels(out)))
        store.connect().execute("BEGIN")  # one read transaction: both queries see the same snapshot
        reads.append((newest_id(store), store.current_labels()))
        store.connect().execute("COMMIT")
    return exports, reads


def rest_of_output(writer: subprocess.Popen) -> str:
    """What the writer printed and the test has not read yet, once it exits. Read through `writer.stdout`, not
    `communicate`, which reads the pipe directly and would miss lines already buffered by `readline`."""
    writer.stdin.close()
    rest = writer.stdout.read()
    writer.wait(timeout=120)
    return rest


def finish(writer: subprocess.Popen) -> list[int]:
    """The ids a writer printed, after it exits cleanly."""
    out = rest_of_output(writer)
    assert writer.returncode == 0, writer.stderr.read()
    return [int(line) for line in out.split()]


@pytest.mark.slow
@pytest.mark.parametrize("pause_us", [0, 1000], ids=["flat-out", "paced"])
def test_two_writers_and_an_exporter_lose_nothing(dataset, tmp_path, pause_us):
    n, path = 1000, tmp_path / "labels.sqlite"
    store = RelabelStore(path)
    writers = [start_writer(path, name, seed, n, pause_us) for seed, name in enumerate(("alice", "bob"))]
    start = time.perf_counter()
    go(*writers)
    exports, reads = read_while_running(store, dataset, tmp_path / "export.csv", writers)
    seconds = time.perf_counter() - start
    ids = [finish(writer) for writer in writers]
    events = all_events(path)
    turns = (events["annotator"] != events["annotator"].shift()).sum() - 1
    print(
        f"\n{2 * n} events from 2 processes in {seconds:.1f} s ({2 * n / seconds:.0f} events/s), "
        f"{turns} changes of writer, {len(exports)} exports and {len(reads)} reads meanwhile"
    )

    assert len(events) == 2 * n and events["id"].tolist() == list(range(1, 2 * n + 1))
    # flat out, SQLite's busy wait lets one writer hold on for long runs; paced like people, they interleave
    assert turns > n / 10 or not pause_us
    for seed, name in enumerate(("alice", "bob")):
        assert stored_rows(events, name) == expected_rows(seed, n, ids[seed])
    states = labels_after(events)
    assert store.current_labels() == states[-1]
    assert exported_relabels(export_ferplus_csv(dataset, tmp_path / "final.csv", relabels=store)) == states[-1]
    assert len(exports) >= 2 and exports[0][1] < 2 * n  # at least one export ran while events were pouring in
    for before, after, relabels in exports:  # every export shows the labels as of one moment, never a mix
        assert any(states[k] == relabels for k in range(before, after + 1))
    assert all(states[newest] == labels for newest, labels in reads)


def check_store_intact(path: Path) -> pd.DataFrame:
    """Integrity check passes and every row is whole; return the events."""
    with closing(sqlite3.connect(path)) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    events = all_events(path)
    assert events["id"].tolist() == list(range(1, len(events) + 1))  # no gap left by a half-written event
    assert events[["image_id", "annotator", "time", "kind"]].notna().all().all()
    assert events["new_label"].dropna().isin(LABELS).all() and events["old_label"].dropna().isin(LABELS).all()
    assert events.loc[events["kind"] == "label", "new_label"].notna().all()
    assert all(datetime.fromisoformat(stamp).tzinfo is not None for stamp in events["time"])
    return events


@pytest.mark.slow
def test_kill_9_mid_write_keeps_every_committed_event(tmp_path):
    path, kills = tmp_path / "labels.sqlite", (30, 100, 200, 300)
    # flat out, a writer spends most of its time inside a transaction, which is where the kills should land
    doomed = [start_writer(path, f"doomed{seed}", seed, 10_000) for seed in range(len(kills))]
    survivor = start_writer(path, "steady", 100, 2000, 500)  # all started first: each round is then short
    go(survivor)
    reported: dict[str, list[int]] = {}
    for seed, (writer, after) in enumerate(zip(doomed, kills)):
        go(writer)
        lines = [writer.stdout.readline() for _ in range(after)]
        time.sleep(random.Random(seed).uniform(0, 0.003))  # land anywhere in the next few events, not just after one
        os.kill(writer.pid, signal.SIGKILL)
        rest = rest_of_output(writer)
        assert writer.returncode == -signal.SIGKILL and survivor.poll() is None
        reported[f"doomed{seed}"] = [int(line) for line in [*lines, *rest.split()]]
    reported["steady"] = finish(survivor)  # the other writer never noticed

    events = check_store_intact(path)
    for seed, after in enumerate(kills):
        stored, ids = stored_rows(events, f"doomed{seed}"), reported[f"doomed{seed}"]
        assert len(ids) <= len(stored) <= len(ids) + 1  # the last may have committed but not yet printed
        assert [row[0] for row in stored[: len(ids)]] == ids
        assert stored == expected_rows(seed, 10_000, [row[0] for row in stored])  # each a whole planned event
        print(f"\nkilled after {after} printed: {len(ids)} reported, {len(stored)} stored", end="")
    assert stored_rows(events, "steady") == expected_rows(100, 2000, reported["steady"])
    assert RelabelStore(path).relabel("fer0000000", "sad", "after") == len(events) + 1  # still writable


def test_opening_a_store_waits_while_another_connection_writes(tmp_path):
    path = tmp_path / "labels.sqlite"
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("CREATE TABLE unrelated (x)")
    other.execute("BEGIN IMMEDIATE")  # a write in progress, as when another process is creating the store
    release = threading.Timer(0.3, other.execute, ["COMMIT"])
    release.start()
    started = time.perf_counter()
    store = RelabelStore(path)  # used to fail at once with "database is locked"
    waited = time.perf_counter() - started
    release.join()
    assert waited >= 0.2 and store.connect().execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.relabel("fer0000001", "sad", "alice") == 1


def open_and_relabel(path: Path, start: Barrier, errors: Queue) -> None:
    try:
        start.wait()
        RelabelStore(path).relabel("fer0000001", "sad", f"p{os.getpid()}")
    except BaseException as exc:  # a child's exception would otherwise only reach its stderr
        errors.put(repr(exc))


@pytest.mark.slow
def test_processes_opening_a_new_store_together_all_succeed(tmp_path):
    context = multiprocessing.get_context("fork")  # cheap: each child only opens the store
    processes_per_round, rounds = 8, 6
    for round_ in range(rounds):
        path, start, errors = tmp_path / f"labels{round_}.sqlite", context.Barrier(processes_per_round), context.Queue()
        children = [
            context.Process(target=open_and_relabel, args=(path, start, errors)) for _ in range(processes_per_round)
        ]
        for child in children:
            child.start()
        for child in children:
            child.join(timeout=60)
        assert errors.empty(), errors.get()
        assert [child.exitcode for child in children] == [0] * processes_per_round
        assert RelabelStore(path).count() == processes_per_round
