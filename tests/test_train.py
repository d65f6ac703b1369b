"""The train and evaluate commands (core/cli/train.py) on the shipped sample."""

from __future__ import annotations

from core.cli.main import main
from core.inference.catalog import list_checkpoints
from core.job_status import read_status
from core.paths import SAMPLE_DIR


def test_train_and_evaluate_commands(tmp_path, capsys):
    run = tmp_path / "run"
    code = main(
        [
            "train",
            "--data-path",
            str(SAMPLE_DIR),
            "--model-option",
            "width=0.25",
            "--epochs",
            "1",
            "--max-steps-per-epoch",
            "2",
            "--batch-size",
            "16",
            "--classes",
            "fer3",
            "--out",
            str(run),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0 and "Accuracy Score" in out and "Private Test Set" in out
    # a CLI run is a finished run to the studio: its status, and its best.pt in the model lists
    assert read_status(run)["state"] == "finished" and read_status(run)["source"] == "cli"
    listed = list_checkpoints(checkpoints_dir=tmp_path / "none", runs_root=tmp_path)
    assert [e.path for e in listed] == [run / "best.pt"]
    best = (run / "best.pt").read_bytes()
    assert main(["train", "--data-path", str(SAMPLE_DIR), "--epochs", "1", "--out", str(run)]) == 1
    assert "already holds a run" in capsys.readouterr().err and (run / "best.pt").read_bytes() == best
    code = main(
        [
            "evaluate",
            "--checkpoint",
            str(run / "best.pt"),
            "--split",
            "PrivateTest",
            "--tta",
            "flip",
            "--data-path",
            str(SAMPLE_DIR),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0 and "tta flip" in out and "Private Test Set" in out and "Public Test Set" not in out
    assert (run / "best_confusion_PrivateTest.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    own_report = (run / "best_report.json").read_bytes()
    code = main(
        [
            "evaluate",
            "--checkpoint",
            str(run / "best.pt"),
            "--split",
            "PrivateTest",
            "--labels",
            "ferplus",
            "--data-path",
            str(SAMPLE_DIR),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0 and "ferplus labels (trained on fer2013)" in out
    assert (run / "labels-ferplus" / "best_report.json").is_file()  # beside, not over, the model's own report
    assert (run / "best_report.json").read_bytes() == own_report
