"""The local data-set store: imported data sets under the data folder, swapped in atomically.

Layout: `<data>/datasets/<id>/{images.npy, meta.parquet, info.json}` and `<data>/CURRENT` naming the one in use.
A new import is written to a temporary folder, flushed, renamed into place, and only then does CURRENT (a flushed
temporary file renamed over it) point at it, so a crash or kill at any moment leaves the previous data set intact
and loadable; what an interrupted import left behind is deleted by the next one. Imports running at once take
turns (a lock on the datasets folder; the last one wins), and a reader that loses a race with a switch reads again.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from pathlib import Path

import numpy as np
import pandas as pd

from core.data.dataset import FerDataset
from core.data.fer2013 import SPLITS
from core.files import exclusive_lock, write_atomically
from core.paths import SAMPLE_DIR, data_dir

CURRENT_FILE = "CURRENT"
LOAD_ATTEMPTS = 3


def write_dataset_dir(dataset: FerDataset, folder: Path) -> None:
    """Write the three files of a data set into `folder` (which must exist), flushed to disk."""
    np.save(folder / "images.npy", np.ascontiguousarray(dataset.images, dtype=np.uint8))
    dataset.meta.to_parquet(folder / "meta.parquet", index=False)
    (folder / "info.json").write_text(json.dumps(dataset.info, indent=2, default=str))
    for name in ("images.npy", "meta.parquet", "info.json"):
        with open(folder / name, "rb") as handle:
            os.fsync(handle.fileno())


def read_dataset_dir(folder: Path) -> FerDataset:
    """Load a data set folder; the images are memory-mapped so opening it is instant."""
    images = np.load(folder / "images.npy", mmap_mode="r")
    meta = pd.read_parquet(folder / "meta.parquet")
    info = json.loads((folder / "info.json").read_text())
    if len(meta) != len(images):
        raise ValueError(f"{folder}: {len(images)} images but {len(meta)} metadata rows; re-import the data")
    return FerDataset(images, meta, info)


def save_dataset(dataset: FerDataset, root: Path | None = None) -> Path:
    """Store `dataset` as the current one, all or nothing; return its folder."""
    root = Path(root or data_dir())
    datasets = root / "datasets"
    datasets.mkdir(parents=True, exist_ok=True)
    # held throughout: the clean-up below deletes every other folder, which must not be one still being written
    with exclusive_lock(datasets):
        name = time.strftime("%Y%m%d-%H%M%S") + "-" + uuid.uuid4().hex[:6]
        final = write_new_folder(dataset, datasets, name)
        point_current_at(root, name)
        remove_stale(datasets, keep=name)
    return final


def write_new_folder(dataset: FerDataset, datasets: Path, name: str) -> Path:
    """Write `dataset` as `datasets/name` through a temporary folder, so the folder, once there, is complete."""
    temporary = datasets / f".tmp-{name}"
    temporary.mkdir()
    try:
        info = {
            **dataset.info,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "n_images": len(dataset),
            "splits": {s: int((dataset.meta["split"] == s).sum()) for s in SPLITS},
        }
        write_dataset_dir(FerDataset(dataset.images, dataset.meta, info), temporary)
        final = datasets / name
        os.rename(temporary, final)
        fsync_folder(datasets)  # the rename must be on disk before CURRENT can name the folder
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return final


def point_current_at(root: Path, name: str) -> None:
    """Replace CURRENT with one naming data set `name`: readers and crashes see the old name or the new one."""
    write_atomically(root / CURRENT_FILE, lambda handle: handle.write(name))  # flushed before the rename
    fsync_folder(root)


def fsync_folder(folder: Path) -> None:
    """Flush a folder's entries (renames into it) to disk; a no-op where folders cannot be opened (Windows)."""
    if os.name != "posix":
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def remove_stale(datasets: Path, keep: str) -> None:
    """Delete data sets no longer current, temporary folders of interrupted imports, and their CURRENT pointers."""
    for folder in datasets.iterdir():
        if folder.is_dir() and folder.name != keep:
            shutil.rmtree(folder, ignore_errors=True)
    for pointer in datasets.parent.glob(f".{CURRENT_FILE}.*"):
        pointer.unlink(missing_ok=True)


def current_dataset_dir(root: Path | None = None) -> Path | None:
    """The folder of the current imported data set, or None when nothing was imported."""
    root = Path(root or data_dir())
    pointer = root / CURRENT_FILE
    if not pointer.is_file():
        return None
    name = pointer.read_text().strip()
    if not (root / "datasets" / name).is_dir():  # an import may have switched and deleted it since: look again
        name = pointer.read_text().strip()
    folder = root / "datasets" / name
    return folder if folder.is_dir() else None


def load_sample() -> FerDataset:
    """The small stratified FER2013 + FERPlus sample that ships with the repo."""
    dataset = read_dataset_dir(SAMPLE_DIR)
    dataset.info["is_sample"] = True
    return dataset


def load_dataset(root: Path | None = None, *, fallback_to_sample: bool = True) -> FerDataset:
    """The current imported data set; the shipped sample when nothing was imported (unless told not to)."""
    for attempt in range(LOAD_ATTEMPTS):
        folder = current_dataset_dir(root)
        if folder is None:
            break
        try:
            return read_dataset_dir(folder)
        except FileNotFoundError:  # an import switched CURRENT and deleted this folder while we read it
            if attempt == LOAD_ATTEMPTS - 1 or current_dataset_dir(root) == folder:
                raise
    if fallback_to_sample:
        return load_sample()
    raise FileNotFoundError(
        f"no data set imported under {Path(root or data_dir())}; run "
        "`python -m core import-data --fer2013 fer2013.csv --ferplus fer2013new.csv`"
    )


def make_sample(dataset: FerDataset, per_class: int = 10, seed: int = 0) -> FerDataset:
    """A small stratified sample: `per_class` images of every (split, label) and (split, FERPlus majority)."""
    rng = np.random.default_rng(seed)
    columns = ["label", "ferplus"] if dataset.has_ferplus else ["label"]
    chosen: set[int] = set()
    for column in columns:
        for _, rows in dataset.meta.groupby(["split", column]).indices.items():
            picked = rng.choice(rows, size=min(per_class, len(rows)), replace=False)
            chosen.update(int(r) for r in picked)
    sample = dataset.subset(np.array(sorted(chosen)))
    sample.info = {
        "source": dataset.info.get("source"),
        "is_sample": True,
        "n_images": len(sample),
        "sampled_from": Path(dataset.info.get("fer2013_path", dataset.info.get("root", ""))).name,
        "per_class": per_class,
        "seed": seed,
    }
    return sample
