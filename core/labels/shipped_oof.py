"""The out-of-fold probabilities shipped for the full FER2013 (`checkpoints/fer2013_oof.npz`): reading and writing
them (`core.jobs.ship_oof` makes them, with their card).

Beside the fold models' probabilities the file holds the reference model's (the shipped `fer2013_fernet`, which
the quality ranking blends in: core/labels/issues.py), so the full import is ranked without loading torch. Both
apply only to the data set whose fingerprint the file records.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.data.dataset import FerDataset
from core.labels.issues import fingerprint
from core.paths import CHECKPOINTS_DIR

SHIPPED_OOF = CHECKPOINTS_DIR / "fer2013_oof.npz"
REFERENCE_CHECKPOINT = CHECKPOINTS_DIR / "fer2013_fernet.pt"


def read_shipped(dataset: FerDataset, label_source: str, path: Path | None = None) -> dict | None:
    """The shipped arrays (probs, classes, reference when present) if `dataset` is the one they were made on."""
    path = path or SHIPPED_OOF
    if not path.is_file():
        return None
    with np.load(path) as shipped:
        if str(shipped["fingerprint"]) != fingerprint(dataset, label_source):
            return None
        found = {"probs": shipped["probs"].astype(np.float32), "classes": [str(c) for c in shipped["classes"]]}
        if "reference" in shipped.files:
            found["reference"] = shipped["reference"].astype(np.float32)
        return found


def shipped_oof(dataset: FerDataset, label_source: str) -> tuple[np.ndarray, list[str]] | None:
    """The shipped FER2013 out-of-fold probabilities, when `dataset` is the data set they were made on."""
    found = read_shipped(dataset, label_source)
    return None if found is None else (found["probs"], found["classes"])


def shipped_reference(dataset: FerDataset, label_source: str, classes: list[str]) -> np.ndarray | None:
    """The reference model's shipped probabilities for `dataset` in `classes`' order; None where none apply."""
    found = read_shipped(dataset, label_source)
    if found is None or "reference" not in found or found["classes"] != list(classes):
        return None
    return found["reference"]


def write_shipped_oof(
    dataset: FerDataset,
    probs: np.ndarray,
    classes: list[str],
    path: Path = SHIPPED_OOF,
    label_source: str = "fer2013",
    reference: np.ndarray | None = None,
) -> Path:
    """Store out-of-fold (and reference) probabilities in float16 (35,887 x 7 is about 0.5 MB each) with the
    data set's fingerprint."""
    arrays = {
        "probs": probs.astype(np.float16),
        "classes": np.array(classes),
        "fingerprint": np.array(fingerprint(dataset, label_source)),
    }
    if reference is not None:
        arrays["reference"] = reference.astype(np.float16)
    np.savez_compressed(path, **arrays)
    return path
