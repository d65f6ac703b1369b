"""The models a user can predict with: shipped checkpoints and the best.pt of every finished training run.

Each entry carries what a picker needs to show (classes, architecture, accuracy) read from the file itself, so
nothing is guessed from file names. A file that does not load is left out, never an error: one broken download
must not hide the other models.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from core.checkpoint_format import peek_checkpoint
from core.ensemble_format import ENSEMBLE_SUFFIX, ensemble_stem
from core.paths import CHECKPOINTS_DIR, runs_dir

Source = Literal["shipped", "run", "file"]
# the live default, chosen on bench/live_models.py's figures: the most accurate model under 1 ms a face (the tiny
# model, fer2013_fernet_tiny_int8, is faster still and less accurate)
LIVE_MODEL = "fer2013_fernet_int8"


@dataclass(frozen=True)
class CheckpointEntry:
    """One usable model file and what it says about itself."""

    name: str
    path: Path
    source: Source
    classes: list[str] = field(default_factory=list)
    model: str = ""
    public_accuracy: float | None = None
    private_accuracy: float | None = None

    @property
    def label(self) -> str:
        """How a picker shows it: "fer2013_fernet (shipped, 7 classes, PublicTest 68.2%)"."""
        details = [self.source, f"{len(self.classes)} classes"]
        if self.public_accuracy is not None:
            details.append(f"PublicTest {self.public_accuracy:.1%}")
        if self.private_accuracy is not None:
            details.append(f"PrivateTest {self.private_accuracy:.1%}")
        return f"{self.name} ({', '.join(details)})"


def list_checkpoints(checkpoints_dir: Path | None = None, runs_root: Path | None = None) -> list[CheckpointEntry]:
    """Shipped checkpoints (`*.pt`, `*.onnx`, `*.ensemble.json`, by name) first, then finished runs' best.pt,
    newest first."""
    return shipped_checkpoints(checkpoints_dir) + run_checkpoints(runs_root)


def shipped_checkpoints(checkpoints_dir: Path | None = None) -> list[CheckpointEntry]:
    folder = Path(checkpoints_dir or CHECKPOINTS_DIR)
    files = sorted([*folder.glob("*.pt"), *folder.glob("*.onnx"), *folder.glob(f"*{ENSEMBLE_SUFFIX}")],
                   key=ensemble_stem) if folder.is_dir() else []
    entries = [describe(path, "shipped", name=ensemble_stem(path)) for path in files]
    return [entry for entry in entries if entry is not None]


def run_checkpoints(runs_root: Path | None = None) -> list[CheckpointEntry]:
    from core.training.run_folder import RunFolder
    from core.training.runner import list_runs

    base = Path(runs_root or runs_dir())
    finished = [run for run in list_runs(base) if run.get("state") == "finished"]
    entries = [describe(RunFolder(base / run["id"], create=False).best, "run", name=run["id"]) for run in finished]
    return [entry for entry in entries if entry is not None]


def describe(path: str | Path, source: Source = "file", name: str | None = None) -> CheckpointEntry | None:
    """The entry for one model file, or None when it is missing or not a FER Studio model."""
    path = Path(path)
    try:
        stat = path.stat()
        meta = read_meta(str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    metrics = meta.get("metrics") or {}
    return CheckpointEntry(name=name or default_name(path), path=path, source=source,
                           classes=list(meta["classes"]), model=str(meta.get("model", "")),
                           public_accuracy=as_float(metrics.get("public_accuracy")),
                           private_accuracy=as_float(metrics.get("private_accuracy")))


@functools.lru_cache(maxsize=64)
def read_meta(path: str, mtime_ns: int, size: int) -> dict[str, Any]:
    """Metadata without the weights; keyed on mtime and size so a rewritten file (a new best.pt) is re-read."""
    if path.endswith(".onnx"):
        from core.export.onnx import read_metadata

        try:
            return read_metadata(path)
        except Exception as exc:  # onnx raises its own DecodeError types for corrupt files
            raise ValueError(f"{path}: {exc}") from None
    meta = {key: value for key, value in peek_checkpoint(path).items() if key != "state_dict"}
    if not isinstance(meta.get("classes"), list):
        raise ValueError(f"{path} names no classes")
    return {key: meta.get(key) for key in ("classes", "model", "metrics", "input_size")}


def default_name(path: Path) -> str:
    # runs all call their file best.pt, so the folder is what tells two of them apart
    return f"{path.parent.name}/{path.name}" if path.stem in ("best", "last") else ensemble_stem(path)


def as_float(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def default_checkpoint(checkpoints_dir: Path | None = None, runs_root: Path | None = None) -> Path | None:
    """A shipped model (one trained on fer2013 if any), else the newest finished run's best.pt, else None."""
    shipped = shipped_checkpoints(checkpoints_dir)
    preferred = [entry for entry in shipped if "fer2013" in entry.name.lower()]
    if preferred or shipped:
        return (preferred or shipped)[0].path
    runs = run_checkpoints(runs_root)
    return runs[0].path if runs else None


def default_live_checkpoint(checkpoints_dir: Path | None = None, runs_root: Path | None = None) -> Path | None:
    """The live app's default: the shipped LIVE_MODEL (int8 ONNX, no torch to import, 2.6-2.9x faster per face than
    fp32 onnxruntime, bench/live_models.py), else another shipped int8 model, else `default_checkpoint`."""
    live = [e for e in shipped_checkpoints(checkpoints_dir) if e.path.name.endswith("_int8.onnx")]
    preferred = [e for e in live if e.name == LIVE_MODEL] or [e for e in live if "fer2013" in e.name.lower()]
    return (preferred or live)[0].path if live else default_checkpoint(checkpoints_dir, runs_root)
