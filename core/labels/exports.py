"""Exports with relabels applied, in the formats the data came in: fer2013.csv and FERPlus's fer2013new.csv."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from core.data.classes import FER2013_CLASSES, FERPLUS_VOTE_COLUMNS
from core.data.dataset import VOTE_COLUMNS, FerDataset
from core.files import write_atomically
from core.labels.relabels import RelabelStore, resolve_relabels


def export_fer2013_csv(
    dataset: FerDataset, path: str | Path, relabels: Mapping[str, str] | RelabelStore | None = None
) -> Path:
    """Write the FER2013 rows of `dataset` as fer2013.csv (emotion,pixels,Usage) with relabels applied.

    Rows come in fer2013.csv order (image_id "fer0000123" is row 123). `relabeled` is 1 where the image has a
    relabel and `relabel` names it; relabels FER2013 has no code for (contempt, not_a_face) keep the original
    emotion, so the file stays a valid fer2013.csv.
    """
    ids = dataset.meta["image_id"].astype(str)
    is_fer = ids.str.fullmatch(r"fer\d+").to_numpy(dtype=bool)
    if not is_fer.any():
        raise ValueError("no FER2013 images (image ids fer0000000...) in this data set; nothing to export")
    positions = np.flatnonzero(is_fer)
    positions = positions[np.argsort(ids.iloc[positions].str.slice(3).astype(int).to_numpy(), kind="stable")]
    meta = dataset.meta.iloc[positions]
    relabel = meta["image_id"].map(resolve_relabels(relabels)).astype(object).fillna("")
    codes = {name: code for code, name in enumerate(FER2013_CLASSES)}
    original = meta["label"].map(codes)
    if original.isna().any():
        raise ValueError(f"image {meta['image_id'][original.isna()].iloc[0]} has no FER2013 label")
    emotion = relabel.map(codes).fillna(original).astype(int)
    faces = (dataset.images[position] for position in positions)  # one at a time: the images may be memory-mapped
    # every field is a number, digits and spaces, a split or a checked class name: nothing to quote, and joining
    # lines ourselves is several times faster than the csv module on 8 KB pixel fields
    lines = (
        f"{code},{pixels},{split},{int(bool(name))},{name}\n"
        for code, pixels, split, name in zip(emotion, pixel_strings(faces), meta["split"], relabel)
    )
    header = "emotion,pixels,Usage,relabeled,relabel\n"
    return write_atomically(path, lambda handle: handle.writelines(itertools.chain([header], lines)))


def export_ferplus_csv(
    dataset: FerDataset, path: str | Path, relabels: Mapping[str, str] | RelabelStore | None = None
) -> Path:
    """Write the FERPlus votes as fer2013new.csv (Usage, Image name, the 10 vote columns) plus `relabel` (the
    current relabel, "" where none), in data-set order."""
    if not dataset.has_ferplus:
        raise ValueError("this data set has no FERPlus votes; import fer2013new.csv with --ferplus")
    meta = dataset.meta
    frame = pd.DataFrame({"Usage": meta["split"], "Image name": meta["image_id"].astype(str) + ".png"})
    for column, name in zip(VOTE_COLUMNS, FERPLUS_VOTE_COLUMNS):
        frame[name] = meta[column].to_numpy()
    frame["relabel"] = meta["image_id"].map(resolve_relabels(relabels)).astype(object).fillna("")
    return write_atomically(path, lambda handle: frame.to_csv(handle, index=False, lineterminator="\n"))


PIXEL_TEXT = np.array([str(value) for value in range(256)], dtype=object)


def pixel_strings(images: Iterable[np.ndarray]) -> Iterator[str]:
    """FER2013's space-separated pixels, one face at a time, so a full export never holds every string at once."""
    for face in images:
        yield " ".join(PIXEL_TEXT[np.asarray(face, dtype=np.uint8).ravel()])


def export_label_zip(
    dataset: FerDataset, folder: str | Path, relabels: Mapping[str, str] | RelabelStore | None = None
) -> Path:
    """Both exports in one zip, `folder/labels_relabeled.zip` (fer2013_relabeled.csv, and fer2013new_relabeled.csv
    when the data set has FERPlus votes): one download yields every file."""
    import zipfile

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    current = resolve_relabels(relabels)  # read once: both files show the same moment
    files = [export_fer2013_csv(dataset, folder / "fer2013_relabeled.csv", current)]
    if dataset.has_ferplus:
        files.append(export_ferplus_csv(dataset, folder / "fer2013new_relabeled.csv", current))

    def write(handle) -> None:
        with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for file in files:
                archive.write(file, arcname=file.name)

    return write_atomically(folder / "labels_relabeled.zip", write, binary=True)
