"""The fer2013.csv reader and the FER2013 + FERPlus data set built from it."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from conftest import fake_faces, write_fer2013, write_ferplus
from core.data.dataset import build_fer2013_dataset
from core.data.fer2013 import read_fer2013
from core.errors import DataError


def test_reads_faces_labels_and_splits(small_csvs):
    fer_path, _, faces = small_csvs
    fer = read_fer2013(fer_path)
    assert fer.images.dtype == np.uint8 and fer.images.shape == (21, 48, 48)
    np.testing.assert_array_equal(fer.images, faces)
    assert list(fer.emotions[:7]) == list(range(7))
    assert list(fer.usage[[0, 7, 14]]) == ["Training", "PublicTest", "PrivateTest"]


def test_reads_gzipped_csv(tmp_path):
    faces = fake_faces(3)
    path = write_fer2013(tmp_path / "fer2013.csv.gz", faces, [3, 4, 6], ["Training"] * 3, gz=True)
    np.testing.assert_array_equal(read_fer2013(path).images, faces)


def test_extreme_pixel_values_parse_exactly(tmp_path):
    faces = np.zeros((2, 48, 48), dtype=np.uint8)
    faces[0, 0, 0], faces[1, 47, 47] = 255, 255
    path = write_fer2013(tmp_path / "f.csv", faces, [0, 1], ["Training", "PrivateTest"])
    np.testing.assert_array_equal(read_fer2013(path).images, faces)


def bad_row_csv(tmp_path, pixels: str = None, emotion: str = "3", usage: str = "Training"):
    good = " ".join(["7"] * 2304)
    text = f"emotion,pixels,Usage\n0,{good},Training\n{emotion},{pixels or good},{usage}\n"
    path = tmp_path / "bad.csv"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"pixels": " ".join(["7"] * 2303)}, "expected 2304 pixels .* found 2303"),
        ({"pixels": " ".join(["7"] * 2305)}, "found 2305"),
        ({"pixels": " ".join(["7"] * 2303 + ["256"])}, "pixel value 256 is outside 0..255"),
        ({"pixels": " ".join(["-1"] + ["7"] * 2303)}, "pixel value -1"),
        ({"pixels": " ".join(["x"] + ["7"] * 2303)}, "whole numbers"),
        ({"pixels": " ".join(["7.5"] + ["7"] * 2303)}, "whole numbers"),
        ({"emotion": "7"}, "unknown emotion label '7'"),
        ({"emotion": "happy"}, "unknown emotion label 'happy'"),
        ({"usage": "Validation"}, "unknown Usage 'Validation'"),
    ],
)
def test_bad_rows_name_file_line_and_problem(tmp_path, kwargs, message):
    path = bad_row_csv(tmp_path, **kwargs)
    with pytest.raises(DataError, match=message) as info:
        read_fer2013(path)
    assert info.value.line == 3 and "bad.csv" in str(info.value) and "line 3" in str(info.value)


@pytest.mark.parametrize(
    "content,message",
    [
        ("", "empty"),
        ("emotion,pixels,Usage\n", "no rows"),
        ("emotion,Usage\n0,Training\n", "missing column.*pixels"),
        ("emotion,pixels,Usage\n0,1 2,Training,extra,more\n", "malformed csv"),
    ],
)
def test_bad_files_raise_data_error(tmp_path, content, message):
    path = tmp_path / "f.csv"
    path.write_text(content)
    with pytest.raises(DataError, match=message):
        read_fer2013(path)


def test_missing_and_corrupt_gzip(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        read_fer2013(tmp_path / "nope.csv")
    broken = tmp_path / "broken.csv.gz"
    broken.write_bytes(gzip.compress(b"emotion,pixels,Usage\n" + b"0,1 2 3" * 1000)[:60])
    with pytest.raises(DataError):
        read_fer2013(broken)


def test_dataset_joins_ferplus_on_row_order(small_csvs):
    fer_path, plus_path, _ = small_csvs
    dataset = build_fer2013_dataset(fer_path, plus_path)
    meta = dataset.meta
    assert list(meta["image_id"][:2]) == ["fer0000000", "fer0000001"]
    assert meta.loc[0, "label"] == "angry" and meta.loc[0, "ferplus"] == "neutral" and meta.loc[0, "disagree"]
    assert meta.loc[1, "ferplus"] == "" and not meta.loc[1, "disagree"]  # all NF votes: dropped, no majority
    assert (meta.loc[2:, "ferplus"] == meta.loc[2:, "label"]).all()
    assert meta.loc[2, "agreement"] == pytest.approx(0.8)
    assert dataset.class_indices("ferplus", ("happy", "neutral"))[0] == 1


def test_ferplus_row_count_mismatch_is_refused(small_csvs, tmp_path):
    fer_path, _, _ = small_csvs
    short = write_ferplus(tmp_path / "short.csv", [[10] + [0] * 9] * 20, ["Training"] * 20)
    with pytest.raises(DataError, match="has 20 rows but .* has 21"):
        build_fer2013_dataset(fer_path, short)


def test_ferplus_split_mismatch_is_refused(small_csvs, tmp_path):
    fer_path, _, _ = small_csvs
    shifted = write_ferplus(tmp_path / "shifted.csv", [[10] + [0] * 9] * 21, ["PublicTest"] + ["Training"] * 20)
    with pytest.raises(DataError, match="not aligned") as info:
        build_fer2013_dataset(fer_path, shifted)
    assert info.value.line == 2
