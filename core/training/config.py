"""The one training configuration: a typed dataclass that the CLI and the UI build and every run saves."""
from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import MISSING, dataclass, field
from pathlib import Path
from typing import Any

from core.data.classes import CLASS_SETS, resolve_classes
from core.files import write_atomically
from core.data.preprocessing import TTA_MODES  # one list of modes; imported from here by the CLI and pages

REFERENCE_003_JITTER = 0.5  # reference 003's ColorJitter(brightness=.5, contrast=.5)

# configs saved before a field was renamed still load
LEGACY_FIELDS = {"labels": "label_source"}
LABEL_SOURCES = ("fer2013", "ferplus", "ferplus-soft", "relabeled", "cleaned", "consensus")
CLEANING_MODES = ("drop", "suggested")
OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULES = ("onecycle", "cosine", "step", "plateau", "none")
AMP_MODES = ("auto", "bf16", "off")
# balanced-softmax (Ren et al. 2020): cross-entropy of softmax(logits + log prior), the training-time form of logit
# adjustment; the model's own logits, used at test time, are then balanced across classes
LOSSES = ("cross-entropy", "balanced-softmax")


def option(default: Any = MISSING, doc: str = "", *, factory: Any = MISSING, **meta: Any) -> Any:
    """A field with what the CLI flag and the Train form are built from.

    `meta` keys: choices, min, max (inclusive, also checked by check_bounds), flag (flag names when not --name),
    off (for a nested options field: the value its --no-NAME flag starts from), form=False (no form widget).
    """
    return field(default=default, default_factory=factory, metadata={"help": doc, **meta})


def field_default(f: dataclasses.Field) -> Any:
    return f.default_factory() if f.default_factory is not MISSING else f.default


def option_fields(cls: type) -> list[tuple[dataclasses.Field, Any]]:
    """Each field of `cls` with its annotation resolved, `| None` dropped (`int | None` is an int option)."""
    hints = typing.get_type_hints(cls)
    plain = [next(a for a in typing.get_args(h) if a is not type(None)) if isinstance(h, types.UnionType) else h
             for h in hints.values()]
    return list(zip(dataclasses.fields(cls), plain))


def parse_option(text: str) -> tuple[str, Any]:
    """`key=value` with the value read as JSON when it parses (numbers, true/false), else as text."""
    key, _, value = text.partition("=")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def check_bounds(options: Any, prefix: str = "") -> None:
    """Raise ValueError for the first field outside its metadata's choices or [min, max]."""
    for f in dataclasses.fields(options):
        value, meta = getattr(options, f.name), f.metadata
        if "choices" in meta and value not in meta["choices"]:
            raise ValueError(f"{prefix}{f.name} must be one of {', '.join(meta['choices'])}, got {value!r}")
        low, high = meta.get("min"), meta.get("max")
        if value is not None and ((low is not None and value < low) or (high is not None and value > high)):
            bounds = f"in [{low}, {high}]" if high is not None else f">= {low}"
            raise ValueError(f"{prefix}{f.name} must be {bounds} ({meta['help']}), got {value}")


@dataclass
class AugmentOptions:
    """Augmentation settings; plain types only because they are saved in a run's config.json."""

    flip: bool = option(True, "horizontal flip, p=0.5")
    shift: float = option(0.1, "max translation, fraction of the side", min=0.0)
    rotate: float = option(10.0, "max rotation, degrees", min=0.0)
    scale: float = option(0.1, "zoom in/out by up to this fraction (< 1)", min=0.0)
    brightness: float = option(0.2, "multiply by 1 +- this", min=0.0)
    contrast: float = option(0.2, "blend with the per-image mean by 1 +- this", min=0.0)
    erase: float = option(0.25, "probability of erasing one rectangle (2%-20% of the area), filled with noise or 0",
                          min=0.0, max=1.0)
    invert: float = option(0.0, "probability of inverting (reference 003 used RandomInvert(0.2))", min=0.0, max=1.0)
    color_jitter: bool = option(False, "reference 003's strong ColorJitter: brightness and contrast 0.5 instead of the "
                                       "two fields above")

    def __post_init__(self) -> None:
        check_bounds(self, "augment ")
        if self.scale >= 1:
            raise ValueError(f"augment scale must be < 1 (a zoom of 1 - scale must stay positive), got {self.scale}")

    def jitter(self) -> tuple[float, float]:
        """The (brightness, contrast) ranges actually applied."""
        if self.color_jitter:
            return REFERENCE_003_JITTER, REFERENCE_003_JITTER
        return self.brightness, self.contrast


NO_AUGMENT = AugmentOptions(flip=False, shift=0, rotate=0, scale=0, brightness=0, contrast=0, erase=0, invert=0)


@dataclass
class TrainConfig:
    """Everything that decides a training run. Plain types only, so it round-trips through JSON.

    Each field's metadata (see `option`) is what `python -m core train` flags and the Train page's form are
    generated from, so a new option is one line here.
    """

    model: str = option("fernet", "a registered model (python -m core models)")
    model_options: dict[str, Any] = option(doc="model constructor options, e.g. width=0.5", factory=dict,
                                           flag=("--model-option",))
    classes: str = option("fer7", f"{', '.join(CLASS_SETS)} or a list like happy,sad,neutral")
    label_source: str = option("fer2013", "which labels to train on", choices=LABEL_SOURCES,
                               flag=("--label-source", "--labels"))
    cleaning: str = option("drop", "cleaned labels: drop the Training images flagged by label-issues, or give them "
                           "the suggested label (test splits keep their original labels)", choices=CLEANING_MODES)
    data_path: str | None = option(None, "data store, fer2013.csv or image folders; None: the imported data set",
                                   form=False)  # the UI trains on the import only: typed server paths stay out
    epochs: int = option(30, "training epochs", min=1)
    batch_size: int = option(64, "images per step (per process when distributed)", min=1)
    optimizer: str = option("sgd", "sgd uses Nesterov momentum", choices=OPTIMIZERS)
    lr: float = option(0.05, "peak lr for onecycle, start lr otherwise (> 0)", min=0.0, label="Learning rate")
    momentum: float = option(0.9, "SGD momentum", min=0.0)
    weight_decay: float = option(5e-4, "L2 weight decay", min=0.0)
    schedule: str = option("onecycle", "learning-rate schedule", choices=SCHEDULES)
    milestones: list[int] = option(doc="epochs where the step schedule divides lr by 10 (reference 001)",
                                   factory=lambda: [100, 120])
    plateau_patience: int = option(3, "plateau: halve lr after this many epochs without PublicTest gain (reference 003)",
                                   min=0)
    label_smoothing: float = option(0.1, "cross-entropy label smoothing, in [0, 1)", min=0.0, max=1.0)
    loss: str = option("cross-entropy", "balanced-softmax adds log(Training prior) to the logits in the loss, so "
                       "rare classes are not traded for common ones (Ren et al. 2020)", choices=LOSSES)
    class_weights: bool = option(False, "weight the loss by inverse class frequency (to the power below)")
    class_weight_power: float = option(1.0, "class weights = (1 / frequency) ** this: 1 = inverse frequency, 0.5 = "
                                       "its square root, a milder lift for rare classes", min=0.0, max=1.0)
    early_stopping: int = option(0, "stop after this many epochs without PublicTest gain; 0 = never", min=0)
    augment: AugmentOptions = option(doc="turn every augmentation off (augmentation flags given still apply)",
                                     factory=AugmentOptions, off=NO_AUGMENT)
    input_size: int | None = option(None, "input side in pixels (default: the model's own)", min=1)
    tta: str = option("none", "test-time augmentation recorded in the checkpoint and used by evaluate",
                      choices=TTA_MODES)
    seed: int = option(0, "random seed")
    device: str = option("auto", "auto (cuda when present), cpu, cuda, cuda:1 ...")
    amp: str = option("auto", "bf16 autocast: auto = on for CUDA and for CPUs with bf16 units (AMX / AVX512-BF16)",
                      choices=AMP_MODES)
    max_steps_per_epoch: int = option(0, "0 = whole epochs; small numbers make smoke tests and demos quick", min=0)
    print_freq: int = option(50, "steps between progress records", min=1, flag=("--print_freq", "--print-freq"))
    folds: int = option(0, "cross-validation: > 1 trains on every image (all splits) outside fold FOLD of FOLDS",
                        min=0)
    fold: int = option(0, "the held-out fold, 0 .. folds-1; its images get out-of-fold probabilities (heldout.npz)",
                       min=0)
    teacher: str | None = option(None, "distil: a trained .pt checkpoint (same classes and input) whose "
                                 "probabilities also supervise this model", form=False)
    distill_weight: float = option(0.7, "with --teacher: the share of the loss that is the teacher's (KL), the rest "
                                   "is cross-entropy on the labels", min=0.0, max=1.0, form=False)
    distill_temperature: float = option(4.0, "with --teacher: the softmax temperature of the distillation term",
                                        min=1.0, form=False)

    def __post_init__(self) -> None:
        if isinstance(self.augment, dict):
            self.augment = AugmentOptions(**self.augment)
        self.validate()

    def validate(self) -> None:
        """Raise ValueError naming the first field that cannot work."""
        check_bounds(self)
        checks = [(self.lr > 0, "lr must be positive"),
                  (self.label_smoothing < 1, "label_smoothing must be in [0, 1)"),
                  (self.folds == 0 or (self.folds >= 2 and self.fold < self.folds),
                   "folds must be 0 or at least 2, with 0 <= fold < folds")]
        for ok, message in checks:
            if not ok:
                raise ValueError(f"{message} (got config {self.short()})")
        resolve_classes(self.classes)

    def class_names(self) -> tuple[str, ...]:
        return resolve_classes(self.classes)

    def short(self) -> str:
        return f"model={self.model} classes={self.classes} label_source={self.label_source} epochs={self.epochs}"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """Build from a dict, refusing unknown keys (a typo must not be silently ignored)."""
        values = {LEGACY_FIELDS.get(key, key): value for key, value in values.items()}
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown config field(s): {', '.join(unknown)}")
        return cls(**values)

    def save(self, path: str | Path) -> None:
        text = json.dumps(self.to_dict(), indent=2)
        write_atomically(path, lambda handle: handle.write(text))

    @classmethod
    def load(cls, path: str | Path) -> TrainConfig:
        return cls.from_dict(json.loads(Path(path).read_text()))
