"""Shared fixtures: small FER2013/FERPlus files and image folders that the tests write themselves."""
from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np
import pytest

from core.data.classes import FERPLUS_VOTE_COLUMNS
from core.data.fer2013 import SPLITS
from core.paths import shared_data_dir

# the Predict page starts the Gradio app when it loads; tests that want one start it themselves
os.environ.setdefault("FER_GRADIO_AUTOSTART", "0")


def fake_faces(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(n, 48, 48), dtype=np.uint8)


def write_fer2013(path: Path, faces: np.ndarray, emotions, usage, *, gz: bool = False) -> Path:
    """Write a fer2013.csv with the given faces, emotion codes and Usage values."""
    lines = ["emotion,pixels,Usage"]
    lines += [f"{e},{' '.join(map(str, face.ravel()))},{u}" for face, e, u in zip(faces, emotions, usage)]
    text = "\n".join(lines) + "\n"
    if gz:
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


def write_ferplus(path: Path, votes, usage) -> Path:
    """Write a fer2013new.csv with the given vote rows (10 counts each)."""
    lines = ["Usage,Image name," + ",".join(FERPLUS_VOTE_COLUMNS)]
    lines += [f"{u},fer{i:07d}.png," + ",".join(map(str, v)) for i, (v, u) in enumerate(zip(votes, usage))]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def small_csvs(tmp_path: Path) -> tuple[Path, Path, np.ndarray]:
    """21 faces: every FER2013 class in every split, with FERPlus votes that agree on most rows."""
    emotions = [e for _ in SPLITS for e in range(7)]
    usage = [s for s in SPLITS for _ in range(7)]
    faces = fake_faces(len(emotions))
    fer_to_plus = [4, 5, 6, 1, 3, 2, 0]  # FER2013 code -> FERPlus column of the same class
    votes = []
    for i, e in enumerate(emotions):
        row = [0] * 10
        row[fer_to_plus[e]] = 8
        row[(fer_to_plus[e] + 1) % 8] = 2
        votes.append(row)
    votes[0] = [6, 0, 0, 0, 4, 0, 0, 0, 0, 0]  # FER2013 says angry, FERPlus majority neutral: disagree
    votes[1] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 10]  # not a face: no majority
    fer = write_fer2013(tmp_path / "fer2013.csv", faces, emotions, usage)
    plus = write_ferplus(tmp_path / "fer2013new.csv", votes, usage)
    return fer, plus, faces


@pytest.fixture
def real_data() -> Path:
    """The real FER2013 folder beside the checkout; skip cleanly when it is absent."""
    folder = shared_data_dir() / "fer2013"
    if not (folder / "fer2013.csv.gz").is_file() or not (folder / "fer2013new.csv").is_file():
        pytest.skip(f"real FER2013/FERPlus data not found in {folder} (set FER_SHARED_DATA)")
    return folder


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """One tiny fernet (width 0.25, the 7 FER2013 classes) trained for two steps on the shipped sample, once per
    session, for every test that only needs *a* trained model. Shared: copy the file or folder before changing it."""
    from core.data.store import load_sample
    from core.training.config import TrainConfig
    from core.training.loop import fit

    out = tmp_path_factory.mktemp("tiny_run")
    config = TrainConfig(model="fernet", model_options={"width": 0.25}, classes="fer7", epochs=1,
                         max_steps_per_epoch=2, batch_size=16, device="cpu")
    list(fit(config, out, dataset=load_sample()))
    return out


@pytest.fixture(scope="session")
def tiny_checkpoint(tiny_run) -> Path:
    """The best.pt of `tiny_run` (read-only)."""
    return tiny_run / "best.pt"
