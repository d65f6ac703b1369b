"""Writing a checkpoint's evaluation: `<stem>_report.json` and a confusion-matrix PNG per split.

A run's checkpoint is reported beside it, in its run folder. A shipped checkpoint is never reported into
`checkpoints/` (that would leave the repository dirty): its reports go under the data folder's `reports/`.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from core.files import write_atomically
from core.paths import CHECKPOINTS_DIR, data_dir
from core.training.run_folder import confusion_name, report_name


def default_report_dir(checkpoint: str | Path) -> Path:
    """Beside the checkpoint, unless it is a shipped one: then `<data>/reports/<name>/`."""
    folder = Path(checkpoint).resolve().parent
    if folder == CHECKPOINTS_DIR.resolve():
        return data_dir() / "reports" / Path(checkpoint).stem
    return folder


def write_report(checkpoint: str | Path, splits: list[str], *, tta: str | None = None, dataset=None,
                 out: str | Path | None = None) -> tuple[dict[str, Any], Path]:
    """Evaluate `checkpoint` on `splits`, write its report and confusion PNGs; return the report and the folder."""
    from core.evaluation.evaluate import evaluate_checkpoint
    from core.evaluation.metrics import plot_confusion

    result = evaluate_checkpoint(checkpoint, splits, tta=tta, dataset=dataset)
    folder = Path(out) if out else default_report_dir(checkpoint)
    folder.mkdir(parents=True, exist_ok=True)
    text = json.dumps(result, indent=2)
    write_atomically(folder / report_name(checkpoint), lambda handle: handle.write(text))
    for split, split_report in result["reports"].items():
        plot_confusion(split_report["confusion"], result["classes"], folder / confusion_name(checkpoint, split),
                       title=f"{result['model']} on {split} (tta {result['tta']})")
    return result, folder
