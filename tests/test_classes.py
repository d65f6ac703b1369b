"""Class names, synonyms and class sets."""

import pytest

from core.data.classes import CLASS_SETS, FER2013_CLASSES, FERPLUS_CLASSES, canonical_class, resolve_classes


def test_named_class_sets():
    assert resolve_classes("fer7") == FER2013_CLASSES
    assert resolve_classes("fer6") == ("angry", "fear", "happy", "sad", "surprise", "neutral")
    assert resolve_classes("FER3") == ("happy", "sad", "neutral")
    assert resolve_classes("ferplus8") == FERPLUS_CLASSES
    assert len(CLASS_SETS["ferplus8"]) == 8 and "contempt" in CLASS_SETS["ferplus8"]


@pytest.mark.parametrize(
    "synonym,name",
    [
        ("fearful", "fear"),
        ("Surprised", "surprise"),
        ("anger", "angry"),
        ("happiness", "happy"),
        ("sadness", "sad"),
        (" Neutral ", "neutral"),
    ],
)
def test_synonyms_map_to_one_name(synonym, name):
    assert canonical_class(synonym) == name


def test_user_subset_keeps_order_and_canonicalises():
    assert resolve_classes("sadness, happy,neutral") == ("sad", "happy", "neutral")
    assert resolve_classes(["fearful", "surprised"]) == ("fear", "surprise")


@pytest.mark.parametrize("bad", ["happy,bored", "happy", "happy,happiness", ""])
def test_bad_class_sets_raise_clearly(bad):
    with pytest.raises(ValueError):
        resolve_classes(bad)


def test_unknown_class_lists_known_ones():
    with pytest.raises(ValueError, match="known classes: angry, disgust"):
        canonical_class("bored")
