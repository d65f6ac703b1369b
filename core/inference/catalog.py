"""The models a user can predict with: shipped checkpoints and the best.pt of every finished training run.

Each entry carries what a picker needs to show (classes, architecture, accuracy) read from the file itself, so
nothing is guessed from file names. A file that does not load is left out, never an error: one broken download
must not hide the other models.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NamedTuple

from core.checkpoint_format import peek_checkpoint
from core.device import cpu_has_int8_dot
from core.ensemble_format import ENSEMBLE_SUFFIX, ensemble_stem
from core.export.onnx import read_metadata
from core.job_status import FINISHED, read_status
from core.paths import CHECKPOINTS_DIR, runs_dir
from core.run_folder import RunFolder, is_run_folder

Source = Literal["shipped", "run", "file"]
# The live default depends on the CPU (bench/live_models.py on each kind, docs/models.md): where int8 dot products
# pay (VNNI, AMX) the int8 model, the most accurate under 1 ms a face there. Elsewhere (AVX2 only) it should be the
# fastest shipped model at >= 71 % PrivateTest measured on such a CPU; none is shipped yet (docs/models.md: the 7-bit
# re-export is measured, not shipped), so the int8 model stays, and the line on screen says what it scores there.
LIVE_MODEL = "fer2013_fernet_int8"
LIVE_MODEL_WITHOUT_INT8_DOT = "fer2013_fernet_int8"


class LiveChoice(NamedTuple):
    """The live default for this CPU and the one line that says why (shown by the live apps)."""

    name: str
    reason: str


def live_model_choice(int8_dot: bool | None = None) -> LiveChoice:
    """`LIVE_MODEL` on CPUs with int8 dot-product units, else `LIVE_MODEL_WITHOUT_INT8_DOT`; `int8_dot` None: this
    CPU's."""
    if int8_dot is None:
        int8_dot = cpu_has_int8_dot()
    if int8_dot:
        return LiveChoice(
            LIVE_MODEL,
            f"{LIVE_MODEL}: this CPU has int8 dot-product units (VNNI/AMX), where the int8 "
            "model is the fastest at 71 % PrivateTest",
        )
    return LiveChoice(
        LIVE_MODEL_WITHOUT_INT8_DOT,
        f"{LIVE_MODEL_WITHOUT_INT8_DOT}: this CPU has no int8 dot-product "
        "units (AVX2 or older), where the shipped 8-bit export scores 69.6 % PrivateTest (71.1 % on "
        "VNNI CPUs); its 7-bit re-export (ship-int8) scores 71.3 % here and is not shipped yet",
    )


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
    files = (
        sorted([*folder.glob("*.pt"), *folder.glob("*.onnx"), *folder.glob(f"*{ENSEMBLE_SUFFIX}")], key=ensemble_stem)
        if folder.is_dir()
        else []
    )
    entries = [describe(path, "shipped", name=ensemble_stem(path)) for path in files]
    return [entry for entry in entries if entry is not None]


def run_checkpoints(runs_root: Path | None = None) -> list[CheckpointEntry]:
    """The best.pt of every finished run, newest first (a symlinked folder is never a run: it could lead elsewhere)."""
    base = Path(runs_root or runs_dir())
    folders = [p for p in base.iterdir() if is_run_folder(p)] if base.is_dir() else []
    statuses = [(read_status(folder), folder) for folder in folders]
    finished = sorted(
        ((status.get("created", 0), folder) for status, folder in statuses if status.get("state") == FINISHED),
        key=lambda pair: pair[0],
        reverse=True,
    )
    entries = [describe(RunFolder(folder, create=False).best, "run", name=folder.name) for _, folder in finished]
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
    return CheckpointEntry(
        name=name or default_name(path),
        path=path,
        source=source,
        classes=list(meta["classes"]),
        model=str(meta.get("model", "")),
        public_accuracy=as_float(metrics.get("public_accuracy")),
        private_accuracy=as_float(metrics.get("private_accuracy")),
    )


@functools.lru_cache(maxsize=64)
def read_meta(path: str, mtime_ns: int, size: int) -> dict[str, Any]:
    """Metadata without the weights; keyed on mtime and size so a rewritten file (a new best.pt) is re-read."""
    if path.endswith(".onnx"):
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
    """The live app's default: the shipped model `live_model_choice` names for this CPU (ONNX, no torch to import),
    else another shipped int8 model, else `default_checkpoint`."""
    shipped = shipped_checkpoints(checkpoints_dir)
    chosen = [e for e in shipped if e.name == live_model_choice().name and e.path.suffix == ".onnx"]
    live = [e for e in shipped if e.path.name.endswith("_int8.onnx")]
    preferred = chosen or [e for e in live if e.name == LIVE_MODEL] or [e for e in live if "fer2013" in e.name.lower()]
    return (preferred or live)[0].path if live or chosen else default_checkpoint(checkpoints_dir, runs_root)
