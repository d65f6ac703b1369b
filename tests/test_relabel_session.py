"""One annotator's pass over the queue (core/labels/session.py): label, skip, back and undo, one event each."""

from __future__ import annotations

import pytest

from core.data.dataset import build_fer2013_dataset
from core.labels.queue import disputed_queue
from core.labels.relabels import RelabelStore
from core.labels.session import RelabelSession


@pytest.fixture
def session(small_csvs, tmp_path) -> RelabelSession:
    dataset = build_fer2013_dataset(*small_csvs[:2])
    return RelabelSession(disputed_queue(dataset), RelabelStore(tmp_path / "labels.sqlite"), "alice")


def test_a_label_is_one_event_and_moves_on(session):
    first = session.item["image_id"]
    session.label("sad")
    assert session.store.count() == 1 and session.store.current_labels() == {first: "sad"}
    assert session.position == 1 and session.message == f"{first} → sad · U to undo"
    assert session.left == len(session.queue) - 1


def test_back_shows_the_new_label_and_skip_moves_without_writing(session):
    first = session.item["image_id"]
    session.label("not_a_face")
    session.skip()
    session.back()
    session.back()
    assert session.item["image_id"] == first and session.item["label"] == "not_a_face"
    session.back()
    assert session.position == 0 and session.store.count() == 1


def test_undo_returns_to_the_image_it_undid(session):
    first = session.item["image_id"]
    session.label("happy")
    session.skip()
    session.undo()
    assert session.position == 0 and session.item["image_id"] == first and session.left == len(session.queue)
    assert session.store.current_labels() == {} and session.store.count() == 2
    session.undo()
    assert session.message == "Nothing to undo." and session.store.count() == 2


def test_the_end_of_the_queue(session):
    for _ in range(len(session.queue) + 3):
        session.skip()
    assert session.item is None
    session.label("sad")  # nothing on show: nothing recorded
    assert session.store.count() == 0
