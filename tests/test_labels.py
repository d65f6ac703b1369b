"""The label store: derived current labels, undo, history, disagreements, exports, and concurrent writers."""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.data.classes import FER2013_CLASSES, FERPLUS_VOTE_COLUMNS
from core.data.dataset import FerDataset, build_fer2013_dataset
from core.data.fer2013 import read_fer2013
from core.data.ferplus import read_ferplus
from core.labels.exports import export_fer2013_csv, export_ferplus_csv, export_label_zip
from core.labels.relabels import NOT_A_FACE, RelabelStore, relabeled_dataset
from core.paths import REPO_ROOT

WRITER = """
import sys
from core.labels.relabels import RelabelStore
store, who, n = RelabelStore(sys.argv[1]), sys.argv[2], int(sys.argv[3])
i = 0
while n < 0 or i < n:
    event = store.relabel(f"img{i:05d}", "happy", who)
    if n < 0:
        print(event, flush=True)  # printed only once committed: the parent checks these survive kill -9
    i += 1
"""


@pytest.fixture
def store(tmp_path: Path) -> RelabelStore:
    return RelabelStore(tmp_path / "labels.sqlite")


@pytest.fixture
def dataset(small_csvs) -> FerDataset:
    fer_path, plus_path, _ = small_csvs
    return build_fer2013_dataset(fer_path, plus_path)


def start_writer(path: Path, annotator: str, n: int) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), annotator, str(n)],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_relabel_then_current_labels(store):
    first = store.relabel("fer0000001", "sad", "alice", old_label="angry")
    second = store.relabel("fer0000002", " Happiness ", "alice")
    store.relabel("fer0000003", "Not a face", "bob")
    assert second > first and store.count() == 3
    assert store.current_labels() == {"fer0000001": "sad", "fer0000002": "happy", "fer0000003": NOT_A_FACE}
    store.relabel("fer0000001", "neutral", "bob")
    assert store.current_labels()["fer0000001"] == "neutral"
    assert store.history(image_id="fer0000001")["old_label"].tolist() == ["sad", "angry"]  # derived when not given


def test_undo_restores_previous_label_and_walks_back(store):
    store.relabel("img", "sad", "alice")
    store.relabel("img", "neutral", "alice")
    undone = store.undo("alice")
    assert undone["new_label"] == "neutral" and undone["label_now"] == "sad" and undone["undo_id"] > undone["id"]
    assert store.current_labels() == {"img": "sad"}
    assert store.undo("alice")["new_label"] == "sad"
    assert store.current_labels() == {}
    assert store.undo("alice") is None
    assert store.count() == 4  # nothing is deleted: two labels and two undos


def test_undo_by_one_annotator_leaves_the_others(store):
    store.relabel("img", "sad", "alice")
    store.relabel("img", "happy", "bob")
    store.relabel("other", "fear", "bob")
    assert store.undo("alice")["new_label"] == "sad"
    assert store.current_labels() == {"img": "happy", "other": "fear"}
    assert store.undo("alice") is None
    assert store.undo("bob")["image_id"] == "other"
    assert store.current_labels() == {"img": "happy"}
    assert not store.history(annotator="bob").query("kind == 'label' and image_id == 'img'")["undone"].any()


def test_undo_of_a_later_label_falls_back_to_another_annotators(store):
    store.relabel("img", "sad", "alice")
    store.relabel("img", "happy", "bob")
    assert store.undo("bob")["label_now"] == "sad"
    assert store.current_labels() == {"img": "sad"}


def test_history_is_newest_first_with_undone_flags(store):
    ids = [store.relabel("a", "sad", "alice"), store.relabel("b", "fear", "alice"), store.relabel("a", "angry", "bob")]
    store.undo("alice")
    history = store.history()
    assert history["id"].is_monotonic_decreasing and len(history) == 4
    assert history["kind"].tolist() == ["undo", "label", "label", "label"]
    assert history.set_index("id")["undone"].to_dict() == {
        history["id"][0]: False,
        ids[2]: False,
        ids[1]: True,
        ids[0]: False,
    }
    assert history["undoes"][0] == ids[1] and pd.isna(history["undoes"][1])
    assert store.history(annotator="bob")["image_id"].tolist() == ["a"]
    assert store.history(annotator="alice", image_id="b")["kind"].tolist() == ["undo", "label"]
    assert list(store.history(annotator="nobody").columns) == list(history.columns)


def test_two_annotators_disagreeing_both_appear(store):
    store.relabel("img1", "sad", "alice")
    store.relabel("img1", "happy", "bob")
    store.relabel("img2", "fear", "alice")
    store.relabel("img2", "fear", "bob")
    table = store.disagreements()
    assert table[["image_id", "annotator", "label"]].values.tolist() == [
        ["img1", "alice", "sad"],
        ["img1", "bob", "happy"],
    ]
    store.relabel("img1", "happy", "alice")  # alice changes her mind: her latest label counts
    assert store.disagreements().empty
    assert store.annotators() == ["alice", "bob"]


@pytest.mark.parametrize(
    "label, annotator",
    [("smiling", "alice"), ("sad", ""), ("sad", "   "), ("sad", "x" * 65), ("", "alice"), (None, "alice")],
)
def test_invalid_label_or_annotator_raises(store, label, annotator):
    with pytest.raises(ValueError):
        store.relabel("img", label, annotator)
    assert store.count() == 0


def test_invalid_image_id_and_undo_annotator_raise(store):
    with pytest.raises(ValueError):
        store.relabel("  ", "sad", "alice")
    with pytest.raises(ValueError):
        store.undo("")
    with pytest.raises(ValueError):
        store.relabel("img", "sad", "alice", old_label="smiling")


def test_hostile_annotator_name_is_stored_verbatim(store):
    name = "Robert'); DROP TABLE events;--"
    store.relabel("img", "sad", f"  {name} ")
    store.relabel("img2", "sad", 'quote " and \\ and ünïcødé')
    assert store.annotators() == [name, 'quote " and \\ and ünïcødé']
    assert store.history(annotator=name)["annotator"].tolist() == [name]
    assert store.undo(name)["image_id"] == "img" and store.count() == 3


def test_store_is_durable_wal_and_reopens(tmp_path):
    store = RelabelStore()
    assert store.path == tmp_path / "data" / "labels.sqlite"
    store.relabel("img", "sad", "alice")
    connection = store.connect()
    assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert connection.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert RelabelStore().current_labels() == {"img": "sad"}
    assert pickle.loads(pickle.dumps(store)).current_labels() == {"img": "sad"}  # multiprocessing can ship it


def test_fer2013_export_replaces_emotion_and_flags_relabels(dataset, store, tmp_path):
    store.relabel("fer0000002", "sad", "alice")  # FER2013 says fear
    store.relabel("fer0000003", "contempt", "alice")  # no FER2013 code: the original stays
    store.relabel("fer0000004", NOT_A_FACE, "alice")
    shuffled = dataset.subset(np.random.default_rng(1).permutation(len(dataset)))
    out = export_fer2013_csv(shuffled, tmp_path / "out" / "fer2013.csv", relabels=store)
    table = pd.read_csv(out, keep_default_na=False)
    assert list(table.columns) == ["emotion", "pixels", "Usage", "relabeled", "relabel"]
    assert table["emotion"].tolist()[:5] == [0, 1, 4, 3, 4]  # rows back in fer2013.csv order
    assert table["relabeled"].tolist()[:6] == [0, 0, 1, 1, 1, 0] and table["relabeled"].sum() == 3
    assert table["relabel"].tolist()[:5] == ["", "", "sad", "contempt", NOT_A_FACE]
    again = read_fer2013(out)  # still a valid fer2013.csv
    np.testing.assert_array_equal(again.images, dataset.images)
    assert (again.usage == dataset.meta["split"].to_numpy()).all()
    assert [p.name for p in out.parent.iterdir()] == ["fer2013.csv"]  # no temporary file left behind


def test_fer2013_export_takes_a_plain_mapping_and_refuses_folder_data(dataset, tmp_path):
    out = export_fer2013_csv(dataset, tmp_path / "fer.csv", relabels={"fer0000006": "happy", "elsewhere": "sad"})
    table = pd.read_csv(out, keep_default_na=False)
    assert table["emotion"][6] == FER2013_CLASSES.index("happy") and table["relabeled"].sum() == 1
    folder = FerDataset(
        dataset.images[:2],
        pd.DataFrame(
            {"image_id": ["train/sad/a.png", "train/sad/b.png"], "split": ["Training"] * 2, "label": ["sad"] * 2}
        ),
    )
    with pytest.raises(ValueError, match="no FER2013 images"):
        export_fer2013_csv(folder, tmp_path / "folder.csv", relabels={})


def test_ferplus_export_keeps_votes_and_adds_relabel(dataset, store, tmp_path):
    store.relabel("fer0000001", NOT_A_FACE, "alice")
    out = export_ferplus_csv(dataset, tmp_path / "fer2013new.csv", relabels=store)
    table = pd.read_csv(out, keep_default_na=False)
    assert list(table.columns) == ["Usage", "Image name", *FERPLUS_VOTE_COLUMNS, "relabel"]
    assert table["relabel"].tolist()[:3] == ["", NOT_A_FACE, ""] and table["Image name"][0] == "fer0000000.png"
    np.testing.assert_array_equal(read_ferplus(out).votes, dataset.meta[[f"votes_{c}" for c in FERPLUS_VOTE_COLUMNS]])


def test_failed_export_leaves_the_previous_file(dataset, tmp_path, monkeypatch):
    out = export_fer2013_csv(dataset, tmp_path / "exports" / "fer.csv", relabels={})
    before = out.read_bytes()

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("core.files.os.replace", fail)
    with pytest.raises(OSError):
        export_fer2013_csv(dataset, out, relabels={"fer0000000": "sad"})
    assert out.read_bytes() == before and [p.name for p in out.parent.iterdir()] == ["fer.csv"]


def test_relabeled_dataset_takes_not_a_face_out_of_training(dataset, store):
    store.relabel("fer0000000", "neutral", "alice")
    store.relabel("fer0000002", NOT_A_FACE, "alice")
    relabeled = relabeled_dataset(dataset, store)
    assert relabeled.meta["relabeled"].tolist()[:4] == ["neutral", "disgust", "", "happy"]
    assert relabeled.class_indices("relabeled", FER2013_CLASSES)[:3].tolist() == [6, 1, -1]


def test_threads_writing_at_once_lose_nothing_and_keep_order(store):
    start = threading.Barrier(2)
    failures: list[BaseException] = []

    def write(annotator: str) -> None:
        try:
            start.wait()
            for i in range(200):
                store.relabel(f"img{i:03d}", "sad" if i % 2 else "happy", annotator)
        except BaseException as exc:  # a thread's exception would otherwise vanish
            failures.append(exc)

    threads = [threading.Thread(target=write, args=(name,)) for name in ("alice", "bob")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures and store.count() == 400
    for name in ("alice", "bob"):
        assert store.history(annotator=name)["image_id"].tolist()[::-1] == [f"img{i:03d}" for i in range(200)]


def test_two_processes_writing_at_once_lose_nothing(store):
    writers = [start_writer(store.path, name, 300) for name in ("proc-a", "proc-b")]
    for writer in writers:
        _, errors = writer.communicate(timeout=60)
        assert writer.returncode == 0, errors
    assert store.count() == 600
    for name in ("proc-a", "proc-b"):
        assert store.history(annotator=name)["image_id"].tolist()[::-1] == [f"img{i:05d}" for i in range(300)]


def test_committed_events_survive_kill_9(store):
    writer = start_writer(store.path, "doomed", -1)
    committed = [int(writer.stdout.readline()) for _ in range(50)]
    os.kill(writer.pid, signal.SIGKILL)
    writer.communicate(timeout=30)
    survivors = set(RelabelStore(store.path).history(annotator="doomed")["id"])
    assert set(committed) <= survivors
    store.relabel("after", "sad", "alice")  # the file is still writable after the crash


def test_a_bulk_label_is_one_batch_undone_as_one_step_and_listed_as_one_action(store):
    store.relabel("solo", "sad", "alice")
    batch = store.relabel_many(["a", "b", "c", "a"], "happy", "alice", old_labels={"a": "angry"})
    assert store.current_labels() == {"solo": "sad", "a": "happy", "b": "happy", "c": "happy"}
    history = store.history()
    assert history["batch"].fillna(0).tolist() == [batch] * 3 + [0]
    assert history["old_label"].fillna("").tolist()[:3] == ["", "", "angry"]  # c and b had no label, a was given
    actions = store.actions()
    assert actions["image_id"].tolist() == ["3 images", "solo"] and actions["images"].tolist() == [3, 1]
    store.relabel("b", "fear", "bob")  # another annotator's later label stays
    undone = store.undo("alice")
    assert undone["count"] == 3 and store.current_labels() == {"solo": "sad", "b": "fear"}
    assert store.actions(annotator="alice")["kind"].tolist() == ["undo", "label", "label"]
    assert store.undo("alice")["image_id"] == "solo" and store.relabel_many(["x"], "sad", "alice") == batch + 1


def test_a_bulk_label_refuses_nothing_and_bad_labels(store):
    with pytest.raises(ValueError, match="at least one"):
        store.relabel_many([], "happy", "alice")
    with pytest.raises(ValueError, match="unknown class"):
        store.relabel_many(["a"], "glee", "alice")
    assert store.count() == 0


def test_a_store_from_before_batches_gains_the_column(tmp_path):
    import sqlite3

    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as old:
        old.execute(
            "CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, image_id TEXT NOT NULL, "
            "old_label TEXT, new_label TEXT, annotator TEXT NOT NULL, time TEXT NOT NULL, kind TEXT NOT NULL, "
            "undoes INTEGER)"
        )
        old.execute(
            "INSERT INTO events (image_id, new_label, annotator, time, kind) VALUES ('a', 'sad', 'x', 't', 'label')"
        )
    store = RelabelStore(path)
    store.relabel_many(["b"], "happy", "x")
    assert store.current_labels() == {"a": "sad", "b": "happy"} and store.undo("x")["count"] == 1


def test_the_label_zip_holds_both_exports(tmp_path, small_csvs):
    import zipfile

    fer_path, plus_path, _ = small_csvs
    dataset = build_fer2013_dataset(fer_path, plus_path)
    archive = export_label_zip(dataset, tmp_path / "exports", {"fer0000002": "happy"})
    with zipfile.ZipFile(archive) as opened:
        assert opened.namelist() == ["fer2013_relabeled.csv", "fer2013new_relabeled.csv"]
        assert opened.read("fer2013_relabeled.csv") == (tmp_path / "exports" / "fer2013_relabeled.csv").read_bytes()
