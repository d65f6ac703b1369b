"""The command line: import-data, info, export-folders, models, and its error messages."""

from __future__ import annotations

import subprocess
import sys

import pytest

from core.cli.main import main
from core.data.store import current_dataset_dir
from core.paths import REPO_ROOT


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_import_then_info_prints_per_split_counts(small_csvs, tmp_path, capsys):
    fer_path, plus_path, _ = small_csvs
    data = str(tmp_path / "data")
    code, out, _ = run(
        capsys, "--data-dir", data, "import-data", "--fer2013", str(fer_path), "--ferplus", str(plus_path)
    )
    assert code == 0 and "imported 21 images" in out and "Training 7 / PublicTest 7 / PrivateTest 7" in out
    code, out, _ = run(capsys, "--data-dir", data, "info")
    assert code == 0 and "FER2013 labels" in out and "FERPlus majority" in out
    assert "no majority" in out and "SAMPLE" not in out


def test_info_without_import_says_it_is_the_sample(tmp_path, capsys):
    code, out, _ = run(capsys, "--data-dir", str(tmp_path / "empty"), "info")
    assert code == 0 and "SAMPLE" in out and "import-data" in out


def test_bad_input_exits_1_with_message_and_writes_nothing(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("emotion,pixels,Usage\n9,1 2 3,Training\n")
    data = tmp_path / "data"
    code, _, err = run(capsys, "--data-dir", str(data), "import-data", "--fer2013", str(bad))
    assert code == 1 and "bad.csv, line 2: unknown emotion label '9'" in err
    assert current_dataset_dir(data) is None


def test_ferplus_alone_is_refused(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["import-data", "--ferplus", "x.csv"])  # argparse: one of --fer2013/--folders is required


def test_folder_import_and_export(small_csvs, tmp_path, capsys):
    fer_path, plus_path, _ = small_csvs
    data = str(tmp_path / "data")
    run(capsys, "--data-dir", data, "import-data", "--fer2013", str(fer_path), "--ferplus", str(plus_path))
    out_dir = tmp_path / "folders"
    code, out, _ = run(
        capsys, "--data-dir", data, "export-folders", "--out", str(out_dir), "--layout", "category", "--classes", "fer3"
    )
    assert code == 0 and "wrote 9 PNG images" in out and "happy,sad,neutral" in out
    code, out, _ = run(
        capsys,
        "--data-dir",
        str(tmp_path / "data2"),
        "import-data",
        "--folders",
        str(out_dir),
        "--labels",
        "happy,sadness,neutral",
    )
    assert code == 0 and "imported 9 images" in out


def test_models_lists_the_registry(capsys):
    code, out, _ = run(capsys, "models")
    assert code == 0 and "emotion_cnn" in out and "fernet" in out and "efficientnet_b0" in out


@pytest.mark.parametrize("command", ["import-data", "info", "export-folders", "models", "make-sample", "train"])
def test_every_command_has_help(command):
    result = subprocess.run(
        [sys.executable, "-m", "core", command, "--help"], capture_output=True, text=True, cwd=REPO_ROOT, timeout=60
    )
    assert result.returncode == 0 and "usage: python -m core" in result.stdout


def test_train_refuses_a_class_without_training_images(tmp_path, capsys):
    from core.cli.main import main

    code = main(
        [
            "train",
            "--classes",
            "happy,contempt",
            "--label-source",
            "fer2013",
            "--epochs",
            "1",
            "--device",
            "cpu",
            "--out",
            str(tmp_path / "run"),
        ]
    )
    assert code != 0 and "contempt has no Training image under fer2013 labels" in capsys.readouterr().err
