"""Emotion class names, their canonical order, synonyms and the named class sets.

This module is the one place that defines class names; everything else asks it.
"""

from __future__ import annotations

from collections.abc import Iterable

# Index = the FER2013 `emotion` code (0=Angry ... 6=Neutral).
FER2013_CLASSES: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
# The FERPlus vote columns in file order; the first eight are emotions.
FERPLUS_VOTE_COLUMNS: tuple[str, ...] = (
    "neutral",
    "happiness",
    "surprise",
    "sadness",
    "anger",
    "disgust",
    "fear",
    "contempt",
    "unknown",
    "NF",
)
FERPLUS_CLASSES: tuple[str, ...] = ("neutral", "happy", "surprise", "sad", "angry", "disgust", "fear", "contempt")
ALL_CLASSES: tuple[str, ...] = FER2013_CLASSES + ("contempt",)
NOT_A_FACE_TEXT = "not a face"  # how people read FERPlus's NF column and the not-a-face label

CLASS_SETS: dict[str, tuple[str, ...]] = {
    "fer7": FER2013_CLASSES,
    "fer6": tuple(
        c for c in FER2013_CLASSES if c != "disgust"
    ),  # the Emotion_Classification reference project drops disgust
    "fer3": ("happy", "sad", "neutral"),
    "ferplus8": FERPLUS_CLASSES,
}

SYNONYMS: dict[str, str] = {
    "anger": "angry",
    "angered": "angry",
    "mad": "angry",
    "disgusted": "disgust",
    "fearful": "fear",
    "afraid": "fear",
    "scared": "fear",
    "happiness": "happy",
    "joy": "happy",
    "sadness": "sad",
    "surprised": "surprise",
    "neutrality": "neutral",
    "contemptuous": "contempt",
}


def canonical_class(name: str) -> str:
    """Map a class name or synonym (any case) onto its canonical name; raise on unknown names."""
    key = name.strip().lower()
    key = SYNONYMS.get(key, key)
    if key not in ALL_CLASSES:
        raise ValueError(
            f"unknown class {name!r}; known classes: {', '.join(ALL_CLASSES)} (synonyms: {', '.join(sorted(SYNONYMS))})"
        )
    return key


def vote_column_name(column: str) -> str:
    """A FERPlus vote column as the studio words it: `happiness` is happy, `NF` is not a face."""
    return {"NF": NOT_A_FACE_TEXT, "unknown": "unknown"}.get(column) or canonical_class(column)


def resolve_classes(spec: str | Iterable[str]) -> tuple[str, ...]:
    """Turn a class-set name (`fer7`, `fer6`, `fer3`, `ferplus8`) or a list of names into canonical names.

    A comma-separated string such as "happy,sad,neutral" is a user-chosen subset, kept in the given order.
    """
    if isinstance(spec, str):
        if spec.strip().lower() in CLASS_SETS:
            return CLASS_SETS[spec.strip().lower()]
        names = [part for part in spec.split(",") if part.strip()]
    else:
        names = list(spec)
    classes = tuple(canonical_class(n) for n in names)
    if len(classes) < 2:
        raise ValueError(
            f"a class set needs at least two classes, got {classes!r} (named sets: {', '.join(CLASS_SETS)})"
        )
    duplicates = sorted({c for c in classes if classes.count(c) > 1})
    if duplicates:
        raise ValueError(f"class listed twice: {', '.join(duplicates)}")
    return classes
