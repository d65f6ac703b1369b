"""The one training configuration: a typed dataclass that the CLI and the UI build and every run saves."""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.data.classes import resolve_classes
from core.data.preprocessing import TTA_MODES  # one list of modes; imported from here by the CLI and pages

SEED_003_JITTER = 0.5  # seed 003's ColorJitter(brightness=.5, contrast=.5)


@dataclass
class AugmentOptions:
    """Augmentation settings; plain types only because they are saved in a run's config.json."""

    flip: bool = True  # horizontal flip, p=0.5
    shift: float = 0.1  # max translation, fraction of the side
    rotate: float = 10.0  # max rotation, degrees
    scale: float = 0.1  # zoom in/out by up to this fraction
    brightness: float = 0.2  # multiply by 1 +- this
    contrast: float = 0.2  # blend with the per-image mean by 1 +- this
    erase: float = 0.25  # probability of erasing one rectangle (2%-20% of the area), filled with noise or 0
    invert: float = 0.0  # probability of inverting (seed 003 used RandomInvert(0.2))
    color_jitter: bool = False  # seed 003's ColorJitter: brightness and contrast 0.5 instead of the fields above

    def __post_init__(self) -> None:
        for name in ("shift", "rotate", "scale", "brightness", "contrast"):
            if getattr(self, name) < 0:
                raise ValueError(f"augment {name} must be >= 0, got {getattr(self, name)}")
        for name in ("erase", "invert"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"augment {name} is a probability in [0, 1], got {getattr(self, name)}")
        if self.scale >= 1:
            raise ValueError(f"augment scale must be < 1 (a zoom of 1 - scale must stay positive), got {self.scale}")

    def jitter(self) -> tuple[float, float]:
        """The (brightness, contrast) ranges actually applied."""
        if self.color_jitter:
            return SEED_003_JITTER, SEED_003_JITTER
        return self.brightness, self.contrast


NO_AUGMENT = AugmentOptions(flip=False, shift=0, rotate=0, scale=0, brightness=0, contrast=0, erase=0, invert=0)


LABEL_SOURCES = ("fer2013", "ferplus", "ferplus-soft", "relabeled")
OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULES = ("onecycle", "cosine", "step", "plateau", "none")
AMP_MODES = ("auto", "bf16", "off")


@dataclass
class TrainConfig:
    """Everything that decides a training run. Plain types only, so it round-trips through JSON."""

    model: str = "fernet"
    model_options: dict[str, Any] = field(default_factory=dict)
    classes: str = "fer7"  # a class-set name (fer7, fer6, fer3, ferplus8) or a list like "happy,sad,neutral"
    labels: str = "fer2013"  # one of LABEL_SOURCES
    data_path: str | None = None  # data store, fer2013.csv or image folders; None: the imported data set
    epochs: int = 30
    batch_size: int = 64
    optimizer: str = "sgd"  # SGD uses Nesterov momentum
    lr: float = 0.05  # the peak for onecycle, the start for the others
    momentum: float = 0.9
    weight_decay: float = 5e-4
    schedule: str = "onecycle"
    milestones: list[int] = field(default_factory=lambda: [100, 120])  # step: lr x0.1 at each (seed 001)
    plateau_patience: int = 3  # plateau: halve lr after this many epochs without PublicTest gain (seed 003)
    label_smoothing: float = 0.1
    class_weights: bool = False  # weight the loss by inverse class frequency
    early_stopping: int = 0  # stop after this many epochs without PublicTest gain; 0 = never
    augment: AugmentOptions = field(default_factory=AugmentOptions)
    input_size: int | None = None  # None: the model's own input size from the registry
    tta: str = "none"  # test-time augmentation recorded in the checkpoint and used by evaluate
    seed: int = 0
    device: str = "auto"  # auto (cuda when present), cpu, cuda, cuda:1 ...
    amp: str = "auto"  # bf16 autocast: auto = on for CUDA and for CPUs with bf16 units (AMX / AVX512-BF16)
    max_steps_per_epoch: int = 0  # 0 = whole epochs; small numbers make smoke tests and demos quick
    print_freq: int = 50  # steps between progress records
    folds: int = 0  # cross-validation: > 1 trains on every image (all splits) outside fold `fold` of `folds`
    fold: int = 0  # the held-out fold, 0 .. folds-1; its images get out-of-fold probabilities (heldout.npz)

    def __post_init__(self) -> None:
        if isinstance(self.augment, dict):
            self.augment = AugmentOptions(**self.augment)
        self.validate()

    def validate(self) -> None:
        """Raise ValueError naming the first field that cannot work."""
        checks = [(self.labels in LABEL_SOURCES, f"labels must be one of {', '.join(LABEL_SOURCES)}"),
                  (self.optimizer in OPTIMIZERS, f"optimizer must be one of {', '.join(OPTIMIZERS)}"),
                  (self.schedule in SCHEDULES, f"schedule must be one of {', '.join(SCHEDULES)}"),
                  (self.tta in TTA_MODES, f"tta must be one of {', '.join(TTA_MODES)}"),
                  (self.amp in AMP_MODES, f"amp must be one of {', '.join(AMP_MODES)}"),
                  (self.epochs >= 1, "epochs must be at least 1"),
                  (self.batch_size >= 1, "batch_size must be at least 1"),
                  (self.lr > 0, "lr must be positive"),
                  (0 <= self.label_smoothing < 1, "label_smoothing must be in [0, 1)"),
                  (self.folds == 0 or (self.folds >= 2 and 0 <= self.fold < self.folds),
                   "folds must be 0 or at least 2, with 0 <= fold < folds")]
        for ok, message in checks:
            if not ok:
                raise ValueError(f"{message} (got config {self.short()})")
        resolve_classes(self.classes)

    def class_names(self) -> tuple[str, ...]:
        return resolve_classes(self.classes)

    def short(self) -> str:
        return f"model={self.model} classes={self.classes} labels={self.labels} epochs={self.epochs}"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """Build from a dict, refusing unknown keys (a typo must not be silently ignored)."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown config field(s): {', '.join(unknown)}")
        return cls(**values)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2))

    @classmethod
    def load(cls, path: str | Path) -> TrainConfig:
        return cls.from_dict(json.loads(Path(path).read_text()))
