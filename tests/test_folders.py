"""Image-folder data sets: both seed layouts, every image mode, bad folders, and export back out."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.data.dataset import build_fer2013_dataset
from core.data.folders import export_folders, read_image_folders
from core.data.images import open_image, to_face_array
from core.errors import DataError


def save(path: Path, img: Image.Image) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)


def gradient(mode: str, size=(64, 80)) -> Image.Image:
    gray = Image.linear_gradient("L").resize(size)
    return gray.convert(mode) if mode != "I;16" else Image.fromarray(np.asarray(gray).astype(np.uint16) * 257)


def kaggle_tree(root: Path) -> Path:
    save(root / "train" / "happy" / "a.png", gradient("L", (48, 48)))
    save(root / "train" / "happy" / "b.jpg", gradient("RGB"))
    save(root / "train" / "fearful" / "c.png", gradient("RGBA"))
    save(root / "train" / "fearful" / "d.jpg", gradient("CMYK"))
    save(root / "test" / "happy" / "e.png", gradient("I;16"))
    save(root / "test" / "fearful" / "f.gif", gradient("P"))
    (root / "train" / "happy" / "notes.txt").write_text("not an image, ignored")
    return root


def test_kaggle_layout_any_format_becomes_48x48_gray(tmp_path):
    dataset = read_image_folders(kaggle_tree(tmp_path / "kaggle"))
    assert dataset.images.shape == (6, 48, 48) and dataset.images.dtype == np.uint8
    assert sorted(set(dataset.meta["label"])) == ["fear", "happy"]  # 'fearful' is a synonym
    assert list(dataset.meta["split"]).count("PublicTest") == 2  # test/ is the only held-out folder
    assert "train/happy/a.png" in set(dataset.meta["image_id"])
    first = dataset.meta.index[dataset.meta["image_id"] == "train/happy/a.png"][0]
    np.testing.assert_array_equal(dataset.images[first], np.asarray(gradient("L", (48, 48))))
    sixteen = dataset.meta.index[dataset.meta["image_id"] == "test/happy/e.png"][0]
    assert abs(int(dataset.images[sixteen].mean()) - int(dataset.images[first].mean())) <= 2


def test_category_layout_with_label_list(tmp_path):
    root = tmp_path / "seed"
    for split in ("train", "valid", "test"):
        for k in range(3):
            save(root / split / f"category_{k}" / f"{k}.png", gradient("L", (48, 48)))
    dataset = read_image_folders(root, ["angry", "fearful", "happy"])
    assert sorted(set(dataset.meta["label"])) == ["angry", "fear", "happy"]
    assert sorted(set(dataset.meta["split"])) == ["PrivateTest", "PublicTest", "Training"]


@pytest.mark.parametrize(
    "build,labels,message",
    [
        (lambda r: save(r / "train" / "category_0" / "a.png", gradient("L")), None, "--labels"),
        (lambda r: save(r / "train" / "category_3" / "a.png", gradient("L")), ["a", "b"], "unknown class|no name"),
        (lambda r: save(r / "train" / "bored" / "a.png", gradient("L")), None, "unknown class 'bored'"),
        (lambda r: (r / "train" / "happy").mkdir(parents=True), None, "holds no images"),
        (lambda r: (r / "pictures").mkdir(parents=True), None, "no split folders"),
        (lambda r: (r / "train").mkdir(parents=True), None, "no class folders"),
    ],
)
def test_bad_folders_raise_clearly(tmp_path, build, labels, message):
    root = tmp_path / "bad"
    root.mkdir()
    build(root)
    with pytest.raises(DataError, match=message):
        read_image_folders(root, labels)


def test_unreadable_image_is_named(tmp_path):
    root = kaggle_tree(tmp_path / "k")
    (root / "train" / "happy" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    with pytest.raises(DataError, match=r"broken.png: not an image \(or an unsupported format\)"):
        read_image_folders(root)


def test_truncated_jpeg_is_refused(tmp_path):
    root = kaggle_tree(tmp_path / "k")
    whole = (root / "train" / "happy" / "b.jpg").read_bytes()
    (root / "train" / "happy" / "cut.jpg").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(DataError, match="cut.jpg"):
        read_image_folders(root)


def test_exif_rotation_is_applied(tmp_path):
    wide = Image.new("L", (96, 48), 0)
    wide.paste(255, (0, 0, 48, 48))  # left half white
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: shown rotated 90 degrees clockwise
    wide.save(tmp_path / "rotated.jpg", exif=exif.tobytes())
    face = to_face_array(open_image(tmp_path / "rotated.jpg"))
    assert face[:20].mean() > 200 and face[-20:].mean() < 50  # the white half is now on top


def test_export_category_layout_round_trips(small_csvs, tmp_path):
    fer_path, plus_path, faces = small_csvs
    dataset = build_fer2013_dataset(fer_path, plus_path)
    out = tmp_path / "exported"
    written = export_folders(dataset, out, layout="category", classes=("happy", "sad", "neutral"))
    assert written == 9
    labels = (out / "labels.txt").read_text().strip().split(",")
    back = read_image_folders(out, labels)
    assert sorted(back.meta["label"]) == sorted(["happy", "sad", "neutral"] * 3)
    assert sorted(set(back.meta["split"])) == ["PrivateTest", "PublicTest", "Training"]
    original = dataset.meta.index[dataset.meta["image_id"] == "fer0000003"][0]
    copy = back.meta.index[back.meta["image_id"].str.endswith("fer0000003.png")][0]
    np.testing.assert_array_equal(back.images[copy], faces[original])


def test_export_kaggle_layout_with_ferplus_labels(small_csvs, tmp_path):
    fer_path, plus_path, _ = small_csvs
    dataset = build_fer2013_dataset(fer_path, plus_path)
    written = export_folders(dataset, tmp_path / "k", source="ferplus")
    assert written == 20  # the not-a-face row has no FERPlus label
    assert (tmp_path / "k" / "train" / "neutral" / "fer0000000.png").is_file()
    assert sorted(p.name for p in (tmp_path / "k").iterdir()) == ["test", "train"]
