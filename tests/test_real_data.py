"""The real FER2013 + FERPlus files (../shared/data or $FER_SHARED_DATA); skipped when absent."""

from __future__ import annotations

import gzip
import hashlib

import pytest

from core.data.dataset import build_fer2013_dataset
from core.data.store import load_dataset, save_dataset

pytestmark = pytest.mark.realdata


def test_fer2013_file_is_the_original(real_data):
    digest = hashlib.md5()
    with gzip.open(real_data / "fer2013.csv.gz", "rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    assert digest.hexdigest() == "f8428a1edbd21e88f42c73edd2a14f95"


@pytest.mark.slow
def test_full_import_counts(real_data, tmp_path):
    dataset = build_fer2013_dataset(real_data / "fer2013.csv.gz", real_data / "fer2013new.csv")
    sizes = dataset.meta["split"].value_counts().to_dict()
    assert len(dataset) == 35_887
    assert sizes == {"Training": 28_709, "PublicTest": 3_589, "PrivateTest": 3_589}
    private = dataset.meta[dataset.meta["split"] == "PrivateTest"]
    assert (private["ferplus"] != "").sum() == 3_153  # Microsoft's majority rule keeps 3,153
    assert dataset.class_counts("fer2013").loc["Training", "disgust"] == 436
    save_dataset(dataset, tmp_path / "data")
    assert len(load_dataset(tmp_path / "data", fallback_to_sample=False)) == 35_887
