"""A small data set with planted problems for the audit tests: exact and near copies across splits (with
conflicting labels), a blank image, a dark one, and FERPlus not-a-face votes."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.data.dataset import build_fer2013_dataset
from tests.conftest import write_fer2013, write_ferplus

# rows: 0..29 Training, 30..39 PublicTest, 40..49 PrivateTest
N_TRAIN, N_PUBLIC, N_PRIVATE = 30, 10, 10
EXACT_TRAIN, EXACT_PRIVATE = 3, 42  # PrivateTest 42 is Training 3's pixels; labels conflict
NEAR_TRAIN, NEAR_PUBLIC = 5, 31  # PublicTest 31 is Training 5 with a little noise
INSIDE_A, INSIDE_B = 10, 11  # two equal Training images: a group that leaks nothing
BLANK, DARK, NOT_A_FACE = 20, 21, 22


def smooth_faces(n: int, seed: int = 0) -> np.ndarray:
    """Distinct images with structure at low frequencies (so their perceptual hashes differ a lot)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:48, 0:48] / 48.0
    faces = []
    for _ in range(n):
        fx, fy, phase = rng.uniform(0.5, 3.0, 3)
        wave = np.sin(2 * np.pi * (fx * x + phase)) * np.cos(2 * np.pi * fy * y)
        blobs = rng.normal(0, 1, (6, 6)).repeat(8, 0).repeat(8, 1)
        faces.append(np.clip(128 + 60 * wave + 25 * blobs, 0, 255).astype(np.uint8))
    return np.stack(faces)


def planted_faces() -> np.ndarray:
    faces = smooth_faces(N_TRAIN + N_PUBLIC + N_PRIVATE)
    faces[EXACT_PRIVATE] = faces[EXACT_TRAIN]
    noise = np.random.default_rng(1).integers(-3, 4, size=(48, 48))
    faces[NEAR_PUBLIC] = np.clip(faces[NEAR_TRAIN].astype(int) + noise, 0, 255).astype(np.uint8)
    faces[INSIDE_B] = faces[INSIDE_A]
    faces[BLANK] = 128
    faces[DARK] = (faces[DARK] // 7).astype(np.uint8)
    return faces


def write_planted(folder: Path):
    """fer2013.csv and fer2013new.csv of the planted data set in `folder`; returns the data set."""
    faces = planted_faces()
    usage = ["Training"] * N_TRAIN + ["PublicTest"] * N_PUBLIC + ["PrivateTest"] * N_PRIVATE
    emotions = [i % 7 for i in range(len(faces))]
    emotions[EXACT_PRIVATE] = (emotions[EXACT_TRAIN] + 1) % 7  # the copy carries another label
    emotions[INSIDE_B] = emotions[INSIDE_A]
    emotions[NEAR_PUBLIC] = emotions[NEAR_TRAIN]
    votes = [[8, 2, 0, 0, 0, 0, 0, 0, 0, 0] for _ in faces]
    votes[NOT_A_FACE] = [0] * 9 + [10]
    fer = write_fer2013(folder / "fer2013.csv", faces, emotions, usage)
    plus = write_ferplus(folder / "fer2013new.csv", votes, usage)
    return build_fer2013_dataset(fer, plus)
