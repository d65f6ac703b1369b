"""app/gc_pauses.py: long-lived objects leave the collector's sight once, and again only after new imports."""

from __future__ import annotations

import gc
import sys
import types
import weakref

from app import gc_pauses


def test_freezes_after_imports_only(monkeypatch):
    monkeypatch.setattr(gc_pauses, "_modules_when_frozen", 0)
    try:
        assert gc_pauses.freeze_long_lived() and gc.get_freeze_count() > 0
        assert not gc_pauses.freeze_long_lived()  # nothing imported since: no collection on this run
        monkeypatch.setitem(sys.modules, "a_module_imported_by_a_page", types.ModuleType("a_module_imported_by_a_page"))
        assert gc_pauses.freeze_long_lived()
    finally:
        gc.unfreeze()  # the other tests collect as usual


class Node:
    """A weak-referenceable object to put in a reference cycle."""


def test_objects_made_after_a_freeze_are_still_collected(monkeypatch):
    monkeypatch.setattr(gc_pauses, "_modules_when_frozen", 0)
    try:
        gc_pauses.freeze_long_lived()
        node = Node()
        node.itself = node  # a cycle: only the collector frees it
        alive = weakref.ref(node)
        del node
        gc.collect()
        assert alive() is None
    finally:
        gc.unfreeze()
