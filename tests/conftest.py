"""Shared fixtures: every test's own data and runs folders, small FER2013/FERPlus files the tests write themselves,
the session's tiny model, the browser fixtures, and a check that no test leaves a process behind."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np
import pytest

from core.data.classes import FERPLUS_VOTE_COLUMNS
from core.data.fer2013 import SPLITS
from core.paths import shared_data_dir
from tests.browser_fixtures import browser, studio  # noqa: F401 (fixtures for the tests/test_browser*.py modules)
from tests.leftover_processes import leftover_processes, mark_session, stop


@pytest.fixture(scope="session", autouse=True)
def session_folders(tmp_path_factory):
    """Session-wide data and runs folders, for what runs outside a test (session and module fixtures), and no
    Gradio app started by the Predict page: nothing a test run does reaches the checkout's data/ or runs/.
    At the end, fails the run if a process the tests started is still alive (and stops it)."""
    root = tmp_path_factory.mktemp("session")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FER_DATA_DIR", str(root / "data"))
        patch.setenv("FER_RUNS_DIR", str(root / "runs"))
        # the Predict page starts the Gradio app when it loads (unless 0): under AppTest that app would outlive the
        # test. Set, not defaulted, so a shell that exported 1 for the studio does not leak into the tests
        patch.setenv("FER_GRADIO_AUTOSTART", "0")
        token = mark_session(patch)
        yield root
    left = leftover_processes(token)
    if left:
        stop(left)
        pytest.fail(
            "processes started by the tests were still running at the end (now stopped):\n"
            + "\n".join(f"  pid {pid}: {command}" for pid, command in left.items()),
            pytrace=False,
        )


@pytest.fixture(autouse=True)
def isolated_folders(session_folders, tmp_path, monkeypatch) -> Path:
    """Every test gets empty data and runs folders (`tmp_path`/data, `tmp_path`/runs) through FER_DATA_DIR and
    FER_RUNS_DIR. A test that wants others sets the variables itself, which wins (it runs after this); a module or
    class fixture that set them (a studio shared by a module's tests) is left alone."""
    for name, folder in (("FER_DATA_DIR", "data"), ("FER_RUNS_DIR", "runs")):
        if os.environ.get(name) == str(session_folders / folder):
            monkeypatch.setenv(name, str(tmp_path / folder))
    monkeypatch.setenv("FER_GRADIO_AUTOSTART", "0")
    return tmp_path


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
    for e in emotions:
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
    config = TrainConfig(
        model="fernet",
        model_options={"width": 0.25},
        classes="fer7",
        epochs=1,
        max_steps_per_epoch=2,
        batch_size=16,
        device="cpu",
    )
    list(fit(config, out, dataset=load_sample()))
    return out


@pytest.fixture(scope="session")
def tiny_checkpoint(tiny_run) -> Path:
    """The best.pt of `tiny_run` (read-only)."""
    return tiny_run / "best.pt"
