"""Where things live on disk: the one source of truth for the project's folders."""

from __future__ import annotations

import os
import re
from pathlib import Path

from core.errors import DataError

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DIR = Path(__file__).resolve().parent / "data" / "sample_data"
CHECKPOINTS_DIR = REPO_ROOT / "checkpoints"


def data_dir() -> Path:
    """The local data folder (imported data sets, label store); `FER_DATA_DIR` overrides `data/`."""
    return Path(os.environ.get("FER_DATA_DIR") or REPO_ROOT / "data")


def runs_dir() -> Path:
    """Training runs; `FER_RUNS_DIR` overrides `runs/`."""
    return Path(os.environ.get("FER_RUNS_DIR") or REPO_ROOT / "runs")


def shared_data_dir() -> Path:
    """The real FER2013/FERPlus files beside the checkout; `FER_SHARED_DATA` overrides."""
    return Path(os.environ.get("FER_SHARED_DATA") or REPO_ROOT.parent / "shared" / "data")


def import_roots() -> list[Path]:
    """Folders the studio may import from when a path is typed in the UI: the data folder and the shared data.

    `FER_IMPORT_ROOTS` (os.pathsep-separated) replaces them, for a server that keeps data elsewhere.
    """
    extra = os.environ.get("FER_IMPORT_ROOTS")
    return [Path(p) for p in extra.split(os.pathsep) if p] if extra else [data_dir(), shared_data_dir()]


def contained_path(path: str | Path, roots: list[Path]) -> Path:
    """`path` resolved (relative to the repo root, symlinks followed) when it lies inside one of `roots`.

    Paths typed in the UI go through here, so `../`, absolute paths and symlinks cannot reach other files on the
    server. Raises DataError naming the allowed folders otherwise.
    """
    text = str(path).strip()
    if not text or "\x00" in text:
        raise DataError("a path is required" if not text else "a path cannot contain NUL characters")
    resolved = (REPO_ROOT / Path(text).expanduser()).resolve()
    allowed = [root.resolve() for root in roots]
    if not any(resolved == root or resolved.is_relative_to(root) for root in allowed):
        raise DataError(f"{text} is outside the folders allowed here ({', '.join(str(root) for root in allowed)})")
    return resolved


def safe_file_name(name: str, default: str = "upload") -> str:
    """A client-supplied file name cut to its last part and to letters, digits, `-`, `_`, `.`; never hidden or empty.

    Uploads are written under their own name (errors then name the user's file), so the name must not be able to
    point anywhere else.
    """
    last = re.split(r"[\\/]", str(name))[-1]
    return re.sub(r"[^\w.-]", "_", last).lstrip(".") or default


RUN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def check_run_name(name: str) -> str:
    """A run's name as given, when it is one plain folder name (letters, digits, `.`, `_`, `-`; 1-100 characters).

    Run names become folders under the runs folder, so `../x`, `/tmp/x` or `a/b` must never get through.
    """
    if not isinstance(name, str) or not RUN_NAME.fullmatch(name):
        raise DataError(
            f"a run name is 1 to 100 letters, digits, '.', '_' or '-', starting with a letter or digit; got {name!r}"
        )
    return name
