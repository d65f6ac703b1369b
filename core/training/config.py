"""The one training configuration: a typed dataclass that the CLI and the UI build and every run saves."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.data.augment_options import NO_AUGMENT, AugmentOptions
from core.data.classes import CLASS_SETS, resolve_classes
from core.data.preprocessing import TTA_MODES
from core.errors import OptionError
from core.files import write_atomically
from core.limits import MAX_INPUT_SIZE
from core.options import check_bounds, option

# configs saved before a field was renamed still load
LEGACY_FIELDS = {"labels": "label_source"}
LABEL_SOURCES = ("fer2013", "ferplus", "ferplus-soft", "relabeled", "cleaned", "consensus")
CLEANING_MODES = ("drop", "suggested")
OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULES = ("onecycle", "cosine", "step", "plateau", "none")
AMP_MODES = ("auto", "bf16", "off")
MAX_EPOCHS = 10_000  # also bounds patience, early stopping and milestones; the references train 100-150 epochs
MAX_BATCH_SIZE = 4096  # the references use 64-128; 4096 images at the largest input side are 4 GiB of float32
MAX_FOLDS = 100  # each fold is a whole training run
MAX_STEPS = 1_000_000  # steps an epoch, or between progress records: FER2013 at batch 1 is 28,709
# balanced-softmax (Ren et al. 2020): cross-entropy of softmax(logits + log prior), the training-time form of logit
# adjustment; the model's own logits, used at test time, are then balanced across classes
LOSSES = ("cross-entropy", "balanced-softmax")


@dataclass
class TrainConfig:
    """Everything that decides a training run. Plain types only, so it round-trips through JSON.

    Each field's metadata (see `option`) is what `python -m core train` flags and the Train page's form are
    generated from, so a new option is one line here.
    """

    model: str = option("fernet", "a registered model (python -m core models)", label="Model", advanced=False)
    model_options: dict[str, Any] = option(
        doc="model constructor options, e.g. width=0.5",
        factory=dict,
        flag=("--model-option",),
        label="Model options (KEY=VALUE ...)",
    )
    classes: str = option(
        "fer7", f"{', '.join(CLASS_SETS)} or a list like happy,sad,neutral", label="Classes", advanced=False
    )
    label_source: str = option(
        "fer2013",
        "which labels to train on",
        choices=LABEL_SOURCES,
        flag=("--label-source", "--labels"),
        label="Labels to train on",
        advanced=False,
    )
    cleaning: str = option(
        "drop",
        "cleaned labels: drop the Training images flagged by label-issues, or give them "
        "the suggested label (test splits keep their original labels)",
        choices=CLEANING_MODES,
        label="Flagged labels",
        applies_when={"label_source": ("cleaned",)},
    )
    data_path: str | None = option(
        None, "data store, fer2013.csv or image folders; None: the imported data set", form=False
    )  # the UI trains on the import only: typed server paths stay out
    epochs: int = option(30, "training epochs", min=1, max=MAX_EPOCHS, label="Epochs", advanced=False)
    batch_size: int = option(
        64, "images per step (per process when distributed)", min=1, max=MAX_BATCH_SIZE, label="Batch size"
    )
    optimizer: str = option("sgd", "sgd uses Nesterov momentum", choices=OPTIMIZERS, label="Optimizer")
    lr: float = option(0.05, "peak lr for onecycle, start lr otherwise (> 0)", min=0.0, max=10.0, label="Learning rate")
    momentum: float = option(
        0.9, "SGD momentum", min=0.0, max=1.0, label="Momentum", applies_when={"optimizer": ("sgd",)}
    )
    weight_decay: float = option(5e-4, "L2 weight decay", min=0.0, max=1.0, label="Weight decay")
    schedule: str = option("onecycle", "learning-rate schedule", choices=SCHEDULES, label="Learning-rate schedule")
    milestones: list[int] = option(
        doc="epochs where the step schedule divides lr by 10 (reference 001)",
        factory=lambda: [100, 120],
        label="Epochs where the rate drops tenfold",
        applies_when={"schedule": ("step",)},
    )
    plateau_patience: int = option(
        3,
        "plateau: halve lr after this many epochs without PublicTest gain (reference 003)",
        min=0,
        max=MAX_EPOCHS,
        label="Plateau patience (epochs)",
        applies_when={"schedule": ("plateau",)},
    )
    label_smoothing: float = option(
        0.1, "cross-entropy label smoothing, in [0, 1)", min=0.0, max=1.0, label="Label smoothing"
    )
    loss: str = option(
        "cross-entropy",
        "balanced-softmax adds log(Training prior) to the logits in the loss, so "
        "rare classes are not traded for common ones (Ren et al. 2020)",
        choices=LOSSES,
        label="Loss",
    )
    class_weights: bool = option(
        False, "weight the loss by inverse class frequency (to the power below)", label="Weight rare classes up"
    )
    class_weight_power: float = option(
        1.0,
        "class weights = (1 / frequency) ** this: 1 = inverse frequency, 0.5 = "
        "its square root, a milder lift for rare classes",
        min=0.0,
        max=1.0,
        label="Class weight power",
        applies_when={"class_weights": (True,)},
    )
    early_stopping: int = option(
        0,
        "stop after this many epochs without PublicTest gain; 0 = never",
        min=0,
        max=MAX_EPOCHS,
        label="Early stopping (epochs without gain; 0 = off)",
    )
    augment: AugmentOptions = option(
        doc="turn every augmentation off (augmentation flags given still apply)",
        factory=AugmentOptions,
        off=NO_AUGMENT,
        label="Augmentation",
    )
    input_size: int | None = option(
        None,
        "input side in pixels (default: the model's own)",
        min=16,
        max=MAX_INPUT_SIZE,
        label="Input size in pixels (empty: the model's own)",
    )
    tta: str = option(
        "none",
        "test-time augmentation recorded in the checkpoint and used by evaluate",
        choices=TTA_MODES,
        label="Test-time augmentation",
    )
    seed: int = option(0, "random seed", min=0, max=2**32 - 1, label="Random seed")
    device: str = option("auto", "auto (cuda when present), cpu, cuda, cuda:1 ...", label="Device", advanced=False)
    amp: str = option(
        "auto",
        "bf16 autocast: auto = on for CUDA and for CPUs with bf16 units (AMX / AVX512-BF16)",
        choices=AMP_MODES,
        label="Mixed precision (bf16)",
    )
    max_steps_per_epoch: int = option(
        0,
        "0 = whole epochs; small numbers make smoke tests and demos quick",
        min=0,
        max=MAX_STEPS,
        label="Steps per epoch at most (0: whole epochs)",
    )
    print_freq: int = option(
        50,
        "steps between progress records",
        min=1,
        max=MAX_STEPS,
        flag=("--print_freq", "--print-freq"),
        label="Progress record every (steps)",
    )
    folds: int = option(
        0,
        "cross-validation: > 1 trains on every image (all splits) outside fold FOLD of FOLDS",
        min=0,
        max=MAX_FOLDS,
        label="Cross-validation folds (0: off)",
    )
    fold: int = option(
        0,
        "the held-out fold, 0 .. folds-1; its images get out-of-fold probabilities (heldout.npz)",
        min=0,
        max=MAX_FOLDS - 1,
        label="Held-out fold",
        applies_when={"folds": tuple(range(2, MAX_FOLDS + 1))},
    )
    init_from: str | None = option(
        None,
        "warm start: a trained .pt checkpoint of the same model and input whose "
        "weights this run starts from (its head matched by class name)",
        form=False,
    )
    teacher: str | None = option(
        None,
        "distil: a trained .pt checkpoint (same classes and input) whose probabilities also supervise this model",
        form=False,
    )
    distill_weight: float = option(
        0.7,
        "with --teacher: the share of the loss that is the teacher's (KL), the rest is cross-entropy on the labels",
        min=0.0,
        max=1.0,
        form=False,
    )
    distill_temperature: float = option(
        4.0, "with --teacher: the softmax temperature of the distillation term", min=1.0, max=100.0, form=False
    )

    def __post_init__(self) -> None:
        if isinstance(self.augment, dict):
            self.augment = AugmentOptions(**self.augment)
        self.validate()

    def validate(self) -> None:
        """Raise ValueError naming the first field that cannot work."""
        check_bounds(self)
        checks = [
            (self.lr > 0, "lr must be positive"),
            (self.label_smoothing < 1, "label_smoothing must be in [0, 1)"),
            (
                self.folds == 0 or (self.folds >= 2 and self.fold < self.folds),
                "folds must be 0 or at least 2, with 0 <= fold < folds",
            ),
            (
                all(isinstance(m, int) and not isinstance(m, bool) and 0 <= m <= MAX_EPOCHS for m in self.milestones),
                f"milestones must be whole numbers in [0, {MAX_EPOCHS}]",
            ),
        ]
        for ok, message in checks:
            if not ok:
                raise OptionError(f"{message} (got config {self.short()})")
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
