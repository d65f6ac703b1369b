"""kill -9 during `import-data`: the previous data set stays current, byte for byte, and the next import cleans up.
Also two imports at once while a reader loads: both finish, the reader always gets a whole data set.

Kills land at moments seen from outside (interpreter starting, pixels being parsed, parsing done) and, for the
write itself, which takes milliseconds, at exact points: `run_import_patched` (run in a subprocess) makes the
import SIGKILL itself, or dawdle, when `save_dataset` reaches a given call.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import core.data.store
from core.data.dataset import build_fer2013_dataset
from core.data.store import current_dataset_dir, load_dataset, save_dataset
from core.paths import REPO_ROOT

TESTS_DIR = Path(__file__).resolve().parent
# where to die: the call inside save_dataset that never returns, as (module, attribute)
KILL_POINTS = {
    "images written": ("pandas", "DataFrame.to_parquet"),
    "files written, not flushed": ("os", "fsync"),
    "flushed, not renamed": ("os", "rename"),
    "renamed, CURRENT not replaced": ("os", "replace"),
    "CURRENT replaced, old not deleted": ("shutil", "rmtree"),
}
SLOW_SECONDS = 0.3


def write_csv(path: Path, n: int) -> Path:
    """A fer2013.csv of `n` rows in every split, quick to write (eight faces repeat), slow enough to import."""
    rng = np.random.default_rng(7)
    faces = [" ".join(map(str, rng.integers(0, 256, 48 * 48))) for _ in range(8)]
    splits = ("Training", "PublicTest", "PrivateTest")
    with open(path, "w") as handle:
        handle.write("emotion,pixels,Usage\n")
        handle.writelines(f"{i % 7},{faces[i % 8]},{splits[i % 3]}\n" for i in range(n))
    return path


def run_import_patched(point: str, action: str, *argv: str) -> None:
    """Subprocess entry point: run `python -m core` with `argv`; once save_dataset makes the call named by
    KILL_POINTS[point], SIGKILL itself (action "kill") or wait SLOW_SECONDS before each such call ("slow")."""
    import importlib

    import core.cli.main
    import core.data.store

    module, attribute = KILL_POINTS[point]
    owner = importlib.import_module(module)
    *path, name = attribute.split(".")
    for part in path:
        owner = getattr(owner, part)
    real_call, real_save = getattr(owner, name), core.data.store.save_dataset

    def dawdle(*args, **kwargs):
        time.sleep(SLOW_SECONDS)
        return real_call(*args, **kwargs)

    def die(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)

    def save_patched(*args, **kwargs):
        setattr(owner, name, die if action == "kill" else dawdle)
        return real_save(*args, **kwargs)

    core.data.store.save_dataset = save_patched  # the command imports it when it runs, so it gets this one
    sys.exit(core.cli.main.main(list(argv)))


def start_import(point: str, action: str, root: Path, csv: Path) -> subprocess.Popen:
    code = (
        f"import sys; sys.path[:0] = [{str(TESTS_DIR)!r}, {str(REPO_ROOT)!r}]\n"
        f"from test_store_kill import run_import_patched; run_import_patched(*sys.argv[1:])"
    )
    return subprocess.Popen(
        [sys.executable, "-c", code, point, action, *import_command(root, csv)],
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def import_command(root: Path, csv: Path) -> list[str]:
    return ["--data-dir", str(root), "import-data", "--fer2013", str(csv)]


def snapshot(root: Path) -> dict[str, bytes]:
    """CURRENT and every file of the data set it names, as bytes."""
    folder = current_dataset_dir(root)
    assert folder is not None
    files = {path.relative_to(root).as_posix(): path.read_bytes() for path in folder.iterdir()}
    return {"CURRENT": (root / "CURRENT").read_bytes(), **files}


@pytest.fixture
def previous(small_csvs, tmp_path: Path):
    """A data folder holding an earlier import (21 faces with FERPlus votes); yields (root, its bytes, faces)."""
    fer_path, plus_path, faces = small_csvs
    root = tmp_path / "data"
    save_dataset(build_fer2013_dataset(fer_path, plus_path), root)
    return root, snapshot(root), faces


def assert_intact(root: Path, before: dict[str, bytes], faces: np.ndarray) -> None:
    assert snapshot(root) == before
    dataset = load_dataset(root, fallback_to_sample=False)
    np.testing.assert_array_equal(dataset.images, faces)
    assert dataset.has_ferplus and len(dataset.meta) == len(faces)


def kill_when(process: subprocess.Popen, moment: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 60
    while not moment():
        assert process.poll() is None, "the import ended before the moment to kill it"
        assert time.monotonic() < deadline
        time.sleep(0.001)
    os.kill(process.pid, signal.SIGKILL)
    assert process.wait(timeout=30) == -signal.SIGKILL


def assert_next_import_cleans_up(root: Path, csv: Path) -> None:
    """A following import succeeds, and of what the kills left behind nothing but its own data set remains."""
    result = subprocess.run(
        [sys.executable, "-m", "core", *import_command(root, csv)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert len(load_dataset(root, fallback_to_sample=False)) == sum(1 for _ in open(csv)) - 1
    assert sorted(path.name for path in root.iterdir()) == ["CURRENT", "datasets"]
    assert [path.name for path in (root / "datasets").iterdir()] == [current_dataset_dir(root).name]


@pytest.mark.slow
def test_kill_9_while_reading_keeps_the_previous_data_set(previous, tmp_path):
    root, before, faces = previous
    csv = write_csv(tmp_path / "big.csv", 6000)
    log = tmp_path / "stderr.txt"
    moments = {
        "starting": lambda: True,
        "parsing pixels": lambda: "items" in log.read_text(),
        "parsed, building the data set": lambda: "done" in log.read_text(),
    }
    for moment in moments.values():
        with open(log, "w") as errors:
            process = subprocess.Popen(
                [sys.executable, "-m", "core", *import_command(root, csv)],
                cwd=REPO_ROOT,
                stdout=subprocess.DEVNULL,
                stderr=errors,
            )
            kill_when(process, moment)
        assert_intact(root, before, faces)
    assert_next_import_cleans_up(root, csv)


@pytest.mark.slow
@pytest.mark.parametrize("point", KILL_POINTS)
def test_kill_9_while_writing_is_all_or_nothing(previous, tmp_path, point):
    root, before, faces = previous
    csv = write_csv(tmp_path / "new.csv", 300)
    process = start_import(point, "kill", root, csv)
    assert process.wait(timeout=120) == -signal.SIGKILL, process.stderr.read()
    if point.startswith("CURRENT replaced"):  # past the switch: the new data set is whole and current
        assert len(load_dataset(root, fallback_to_sample=False)) == 300
        assert len(list((root / "datasets").iterdir())) == 2  # the old one not yet deleted
    else:
        assert_intact(root, before, faces)
        assert len(list((root / "datasets").iterdir())) == 2  # the interrupted one's folder is left over
    assert_next_import_cleans_up(root, write_csv(tmp_path / "next.csv", 30))


@pytest.mark.slow
def test_two_imports_at_once_and_a_reader_lose_nothing(previous, tmp_path):
    root, _, faces = previous
    sizes = (1500, 1501)
    # each import's write dawdles 0.3 s per file flush, so both are writing at the same time
    imports = [
        start_import("files written, not flushed", "slow", root, write_csv(tmp_path / f"{n}.csv", n)) for n in sizes
    ]
    loaded = []
    while any(process.poll() is None for process in imports):
        dataset = load_dataset(root, fallback_to_sample=False)  # never the sample, never a missing file
        assert len(dataset.meta) == len(dataset.images) and dataset.images.shape[1:] == (48, 48)
        loaded.append(len(dataset))
    for process in imports:
        assert process.returncode == 0, process.stderr.read()
    assert set(loaded) <= {len(faces), *sizes} and len(loaded) > 10
    assert len(load_dataset(root, fallback_to_sample=False)) in sizes
    assert [path.name for path in (root / "datasets").iterdir()] == [current_dataset_dir(root).name]
    assert sorted(path.name for path in root.iterdir()) == ["CURRENT", "datasets"]


@pytest.mark.parametrize("hook", ["between reading CURRENT and checking the folder", "before reading the folder"])
def test_a_load_racing_an_import_gets_the_new_data_set(previous, small_csvs, monkeypatch, hook):
    root, _, _ = previous
    newer = build_fer2013_dataset(small_csvs[0])  # no FERPlus votes: tells the two apart
    switched = []

    def switch_once() -> None:  # another import finishes: CURRENT moves on and the old folder is deleted
        if not switched:
            switched.append(True)
            save_dataset(newer, root)

    if hook.startswith("between"):
        real_is_dir = Path.is_dir
        monkeypatch.setattr(
            Path, "is_dir", lambda path: (path.parent == root / "datasets" and switch_once()) or real_is_dir(path)
        )
    else:
        real_read = core.data.store.read_dataset_dir
        monkeypatch.setattr(core.data.store, "read_dataset_dir", lambda folder: switch_once() or real_read(folder))
    dataset = load_dataset(root, fallback_to_sample=False)
    assert switched and not dataset.has_ferplus and len(dataset) == len(newer)
