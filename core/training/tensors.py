"""Training data as tensors: one uint8 tensor per split, on the training device, plus its targets; and the model
input of a training batch (augmented) and the class weights of the loss.

The whole data set fits in memory (35,887 x 48 x 48 bytes = 83 MB), so batches are plain tensor indexing:
no DataLoader workers and no per-sample PIL in the hot loop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from core.data.augment import augment_batch
from core.data.augment_options import AugmentOptions
from core.data.classes import FERPLUS_CLASSES
from core.data.dataset import VOTE_COLUMNS, FerDataset
from core.data.fer2013 import SPLITS
from core.data.preprocessing import Preprocessing, to_model_input_torch
from core.training.config import TrainConfig
from core.training.folds import fold_of_rows


@dataclass
class SplitTensors:
    """One split's faces and targets, already on the device."""

    images: torch.Tensor  # (N, 1, 48, 48) uint8
    targets: torch.Tensor  # (N,) int64 class indices (hard labels, also used for accuracy)
    soft: torch.Tensor | None = None  # (N, C) float vote shares, for the ferplus-soft label source

    def __len__(self) -> int:
        return len(self.targets)


def hard_labels(dataset: FerDataset, config: TrainConfig) -> np.ndarray:
    """Class indices per row (-1 = not in this class set); ferplus-soft is scored on the FERPlus majority."""
    source = "ferplus" if config.label_source == "ferplus-soft" else config.label_source
    return dataset.class_indices(source, config.class_names())


def check_training_classes(dataset: FerDataset, config: TrainConfig, rows: np.ndarray | None = None) -> None:
    """Refuse a class set in which a class has no Training image under the run's labels (a model would never see
    it, yet the accuracy over the classes that remain could read 100 %). The error names a label source that has
    the class, if any: "contempt has no Training image under fer2013 labels; ferplus labels have 122"."""
    classes = config.class_names()
    rows = dataset.split_index("Training") if rows is None else rows
    counts = np.bincount(hard_labels(dataset, config)[rows] + 1, minlength=len(classes) + 1)[1:]
    missing = [name for name, count in zip(classes, counts) if count == 0]
    if not missing:
        return
    problems = []
    for name in missing:
        others = {
            source: int((dataset.class_indices(source, (name,))[rows] == 0).sum())
            for source in ("fer2013", "ferplus")
            if source != config.label_source.removesuffix("-soft") and (source != "ferplus" or dataset.has_ferplus)
        }
        found = [f"{source} labels have {count:,}" for source, count in others.items() if count]
        problems.append(
            f"{name} has no Training image under {config.label_source} labels"
            + (f"; {', '.join(found)}" if found else "")
        )
    raise ValueError("; ".join(problems) + ". Drop the class or choose another label source.")


def prepare_splits(
    dataset: FerDataset, config: TrainConfig, device: torch.device, check_classes: bool = True
) -> dict[str, SplitTensors]:
    """Tensors for every split present, on the labels `dataset` carries for `config.label_source` (the job that starts
    a run hands it the relabeled, cleaned or consensus column: `core.jobs.label_sources`); rows outside the class set
    (or with no label) are dropped. Training
    refuses a class with no Training image (`check_classes`); scoring on other labels leaves such a class empty.

    A cross-validation run (`config.folds`) has one split, Training: every labelled row outside the held-out fold;
    with no PublicTest its checkpoints follow the training accuracy, so best.pt is in effect the last epoch.
    """
    labels = hard_labels(dataset, config)
    if config.folds:
        keep = np.flatnonzero((labels >= 0) & (fold_of_rows(len(dataset), config.folds, config.seed) != config.fold))
        check_training_classes(dataset, config, keep)
        return {
            "Training": SplitTensors(
                images=torch.from_numpy(np.ascontiguousarray(dataset.images[keep])).unsqueeze(1).to(device),
                targets=torch.from_numpy(labels[keep]).long().to(device),
            )
        }
    if check_classes:
        check_training_classes(dataset, config)
    soft = dataset.soft_labels(config.class_names()) if config.label_source == "ferplus-soft" else None
    if soft is not None:  # as in Microsoft's FERPlus, images most voted unknown or not-a-face are left out
        emotion_on_top = dataset.meta[list(VOTE_COLUMNS)].to_numpy().argmax(axis=1) < len(FERPLUS_CLASSES)
    splits = {}
    for split in SPLITS:
        rows = dataset.split_index(split)
        if soft is not None and split == "Training":  # every image whose top vote is an emotion in the set
            keep = rows[(soft[rows].sum(axis=1) > 0) & emotion_on_top[rows]]
            targets = soft[keep].argmax(axis=1)
        else:
            keep = rows[labels[rows] >= 0]
            targets = labels[keep]
        if len(keep) == 0:
            continue
        splits[split] = SplitTensors(
            images=torch.from_numpy(np.ascontiguousarray(dataset.images[keep])).unsqueeze(1).to(device),
            targets=torch.from_numpy(np.asarray(targets)).long().to(device),
            soft=None if soft is None else torch.from_numpy(soft[keep]).to(device),
        )
    if "Training" not in splits:
        raise ValueError(f"no Training images with labels in {config.class_names()} ({config.label_source} labels)")
    return splits


def training_input(
    batch: torch.Tensor,
    preprocessing: Preprocessing,
    augment: AugmentOptions | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """uint8 faces -> model input as `preprocessing` says, augmented (before normalising) when options are given."""
    extra = None if augment is None else (lambda x: augment_batch(x, augment, generator))
    return to_model_input_torch(batch, preprocessing, extra)


def class_weights(targets: torch.Tensor, num_classes: int, power: float = 1.0) -> torch.Tensor:
    """Inverse-frequency weights (to `power`) with mean 1, so the loss scale stays comparable."""
    counts = torch.bincount(targets, minlength=num_classes).float().clamp_min(1)
    weights = (counts.sum() / counts) ** power
    return weights / weights.mean()


def log_prior(split: SplitTensors, num_classes: int) -> torch.Tensor:
    """log of the split's label distribution (soft-label mass when it has soft labels), for balanced softmax."""
    mass = (
        split.soft.float().sum(0)
        if split.soft is not None
        else torch.bincount(split.targets, minlength=num_classes).float()
    )
    mass = mass.clamp_min(1e-3)
    return (mass / mass.sum()).log()
