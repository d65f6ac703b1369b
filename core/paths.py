"""Where things live on disk: the one source of truth for the project's folders."""
from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DIR = Path(__file__).resolve().parent / "sample_data"
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
