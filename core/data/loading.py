"""The data set a run or an evaluation reads, from the one path a config names (or none: the imported one)."""

from __future__ import annotations

from pathlib import Path

from core.data.dataset import FerDataset, build_fer2013_dataset
from core.data.folders import read_image_folders
from core.data.store import load_dataset, read_dataset_dir


def load_training_dataset(data_path: str | None) -> FerDataset:
    """The data set a run trains on: the imported one, or a store folder, fer2013.csv or image folders."""
    if data_path is None:
        return load_dataset()
    path = Path(data_path)
    if path.is_file():
        return build_fer2013_dataset(path)
    if (path / "CURRENT").is_file():
        return load_dataset(path, fallback_to_sample=False)
    if (path / "images.npy").is_file():
        return read_dataset_dir(path)
    return read_image_folders(path)
