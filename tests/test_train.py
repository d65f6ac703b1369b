"""The train and evaluate commands (core/cli/train.py) on the shipped sample."""
from __future__ import annotations

from core.cli.main import main
from core.paths import SAMPLE_DIR


def test_train_and_evaluate_commands(tmp_path, capsys):
    run = tmp_path / "run"
    code = main(["train", "--data-path", str(SAMPLE_DIR), "--model-option", "width=0.25", "--epochs", "1",
                 "--max-steps-per-epoch", "2", "--batch-size", "16", "--classes", "fer3", "--out", str(run)])
    out = capsys.readouterr().out
    assert code == 0 and "Accuracy Score" in out and "Private Test Set" in out
    code = main(["evaluate", "--checkpoint", str(run / "best.pt"), "--split", "PrivateTest", "--tta", "flip",
                 "--data-path", str(SAMPLE_DIR)])
    out = capsys.readouterr().out
    assert code == 0 and "tta flip" in out and "Private Test Set" in out and "Public Test Set" not in out
    assert (run / "best_confusion_PrivateTest.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    own_report = (run / "best_report.json").read_bytes()
    code = main(["evaluate", "--checkpoint", str(run / "best.pt"), "--split", "PrivateTest", "--labels", "ferplus",
                 "--data-path", str(SAMPLE_DIR)])
    out = capsys.readouterr().out
    assert code == 0 and "ferplus labels (trained on fer2013)" in out
    assert (run / "labels-ferplus" / "best_report.json").is_file()  # beside, not over, the model's own report
    assert (run / "best_report.json").read_bytes() == own_report
