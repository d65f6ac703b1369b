"""Reading and writing image-folder data sets in the layouts users already have.

- Kaggle: `train/` and `test/`, one folder per class name (`angry/`, `happy/`, ...).
- the Emotion_Classification reference project: `train/` and `valid/` (or `validation/`), `category_0..n` folders,
  plus the label list given separately (`--class-names angry,fearful,happy,neutral,sad,surprised`).
Any image format, size (from 12x12 up to 40 M pixels), colour or gray is accepted and converted to a 48x48
gray face; an unreadable or too small image stops the import with a message naming the file.
Splits: `train` -> Training; `valid`/`validation`/`val` -> PublicTest; `test` -> PrivateTest when a validation
folder exists, else PublicTest (it is then the only held-out set).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from core.data.classes import canonical_class
from core.data.dataset import FerDataset, label_column
from core.data.images import open_image, to_face_array, too_small
from core.errors import DataError
from core.limits import MAX_FOLDER_IMAGES
from core.progress import ProgressCallback, no_progress

CATEGORY = re.compile(r"category_(\d+)$", re.IGNORECASE)
TRAIN_NAMES = ("train", "training")
VALID_NAMES = ("valid", "validation", "val")


def image_extensions() -> set[str]:
    """File extensions PIL can open (other files in class folders are ignored)."""
    return {ext.lower() for ext in Image.registered_extensions()}


def split_folders(root: Path) -> dict[str, Path]:
    """Map each split folder under `root` onto its FER2013 split name."""
    found = {p.name.lower(): p for p in root.iterdir() if p.is_dir()}
    splits: dict[str, Path] = {}
    train = [found[n] for n in TRAIN_NAMES if n in found]
    valid = [found[n] for n in VALID_NAMES if n in found]
    if train:
        splits["Training"] = train[0]
    if valid:
        splits["PublicTest"] = valid[0]
    if "test" in found:
        splits["PrivateTest" if valid else "PublicTest"] = found["test"]
    if not splits:
        raise DataError(
            f"no split folders found; expected train/ and test/ or valid/ "
            f"(found: {', '.join(sorted(found)) or 'nothing'})",
            path=root,
        )
    return splits


def class_name(folder: Path, labels: Sequence[str] | None) -> str:
    """The canonical class of a class folder: its own name, or `labels[k]` for `category_k`."""
    match = CATEGORY.match(folder.name)
    if match is None:
        try:
            return canonical_class(folder.name)
        except ValueError as exc:
            raise DataError(str(exc), path=folder) from None
    if not labels:
        raise DataError(
            "class folders are named category_0..n: give the class names in order with "
            "--labels, e.g. --labels angry,fearful,happy,neutral,sad,surprised",
            path=folder,
        )
    k = int(match.group(1))
    if k >= len(labels):
        raise DataError(f"category_{k} has no name: --labels lists only {len(labels)} classes", path=folder)
    return canonical_class(labels[k])


def list_images(root: Path, labels: Sequence[str] | None) -> list[tuple[Path, str, str]]:
    """Every (file, split, class) under `root`, sorted, checking no split or class folder is empty."""
    extensions = image_extensions()
    entries = []
    for split, folder in split_folders(root).items():
        class_dirs = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
        if not class_dirs:
            raise DataError("split folder has no class folders", path=folder)
        for class_dir in class_dirs:
            name = class_name(class_dir, labels)
            files = sorted(
                p
                for p in class_dir.rglob("*")
                if p.is_file() and p.suffix.lower() in extensions and not p.name.startswith(".")
            )
            if not files:
                raise DataError("class folder holds no images", path=class_dir)
            entries += [(f, split, name) for f in files]
    return entries


def read_image_folders(
    root: str | Path, labels: Sequence[str] | None = None, track: ProgressCallback = no_progress
) -> FerDataset:
    """Read an image-folder data set into 48x48 gray faces; any unreadable image stops the whole read."""
    root = Path(root)
    if not root.is_dir():
        raise DataError("no such folder", path=root)
    entries = list_images(root, labels)
    if len(entries) > MAX_FOLDER_IMAGES:
        raise DataError(
            f"holds {len(entries):,} images, more than the {MAX_FOLDER_IMAGES:,} a data set may have "
            "(FER2013 has 35,887)",
            path=root,
        )
    images = np.empty((len(entries), 48, 48), dtype=np.uint8)
    for i, (path, _, _) in enumerate(track(entries, len(entries), "reading images")):
        image = open_image(path)
        problem = too_small(image.size)  # resized to 48x48 it would pass for a face: a bad training image
        if problem:
            raise DataError(problem, path=path)
        images[i] = to_face_array(image)
    import pandas as pd  # here: `predict --path folder/` lists images with this module, and needs no pandas

    meta = pd.DataFrame(
        {
            "image_id": [p.relative_to(root).as_posix() for p, _, _ in entries],
            "split": [s for _, s, _ in entries],
            "label": [c for _, _, c in entries],
        }
    )
    return FerDataset(images, meta, {"source": "folders", "root": str(root), "labels": list(labels or [])})


def export_folders(
    dataset: FerDataset,
    out: str | Path,
    *,
    layout: str = "kaggle",
    source: str = "fer2013",
    classes: Sequence[str] | None = None,
    track: ProgressCallback = no_progress,
) -> int:
    """Write one PNG per labelled image in the `kaggle` or `category` layout; return the number written.

    kaggle: train/, test/ (PublicTest and PrivateTest together, as the Kaggle folder release) by class name.
    category: train/, valid/ (PublicTest), test/ (PrivateTest) with category_k folders and labels.txt.
    """
    if layout not in ("kaggle", "category"):
        raise ValueError(f"unknown layout {layout!r}; expected kaggle or category")
    column = label_column(source, dataset)
    chosen = list(classes) if classes else sorted(set(dataset.meta[column]) - {""})
    split_names = {"Training": "train", "PublicTest": "test", "PrivateTest": "test"}
    if layout == "category":
        split_names = {"Training": "train", "PublicTest": "valid", "PrivateTest": "test"}
    out = Path(out)
    ids, splits, labels = (dataset.meta[c].to_numpy() for c in ("image_id", "split", column))
    rows = [i for i, label in enumerate(labels) if label in chosen]
    for i in track(rows, len(rows), "writing images"):
        class_dir = labels[i] if layout == "kaggle" else f"category_{chosen.index(labels[i])}"
        file_name = re.sub(r"[^\w.-]", "_", Path(ids[i]).with_suffix("").as_posix()) + ".png"
        target = out / split_names[splits[i]] / class_dir / file_name
        target.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.ascontiguousarray(dataset.images[i])).save(target)
    if layout == "category":
        (out / "labels.txt").write_text(",".join(chosen) + "\n")
    return len(rows)
