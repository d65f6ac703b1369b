"""Writing a checkpoint's evaluation: `<stem>_report.json` and a confusion-matrix PNG per split.

A run's checkpoint is reported beside it, in its run folder. A shipped checkpoint is never reported into
`checkpoints/` (that would leave the repository dirty): its reports go under the data folder's `reports/`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from core.files import write_atomically
from core.paths import CHECKPOINTS_DIR, data_dir
from core.run_folder import RunFolder, confusion_name, report_name


def default_report_dir(checkpoint: str | Path) -> Path:
    """Beside the checkpoint, unless it is a shipped one: then `<data>/reports/<name>/`."""
    folder = Path(checkpoint).resolve().parent
    if folder == CHECKPOINTS_DIR.resolve():
        return data_dir() / "reports" / Path(checkpoint).stem
    return folder


def write_report(
    checkpoint: str | Path,
    splits: list[str],
    *,
    tta: str | None = None,
    dataset=None,
    out: str | Path | None = None,
    labels: str | None = None,
) -> tuple[dict[str, Any], Path]:
    """Evaluate `checkpoint` on `splits` (on its own labels, or on `labels`), write its report and confusion PNGs;
    return the report and the folder. A report on other labels goes in a `labels-<source>` subfolder, so it never
    replaces the checkpoint's own report."""
    from core.evaluation.evaluate import evaluate_checkpoint
    from core.evaluation.metrics import plot_confusion

    result = evaluate_checkpoint(checkpoint, splits, tta=tta, dataset=dataset, labels=labels)
    folder = Path(out) if out else default_report_dir(checkpoint) / (f"labels-{labels}" if labels else "")
    folder.mkdir(parents=True, exist_ok=True)
    text = json.dumps(result, indent=2)
    write_atomically(folder / report_name(checkpoint), lambda handle: handle.write(text))
    for split, split_report in result["reports"].items():
        plot_confusion(
            split_report["confusion"],
            result["classes"],
            folder / confusion_name(checkpoint, split),
            title=f"{result['model']} on {split}, {result['label_source']} labels (tta {result['tta']})",
        )
    return result, folder


def read_report(checkpoint: str | Path) -> dict[str, Any] | None:
    """The report `write_report` left for `checkpoint` (in its run folder or under `<data>/reports/`), if any."""
    return RunFolder(default_report_dir(checkpoint), create=False).report(Path(checkpoint).name)


def confusion_image(checkpoint: str | Path, split: str) -> Path | None:
    """The confusion-matrix PNG `write_report` drew for one split, if any."""
    return RunFolder(default_report_dir(checkpoint), create=False).confusion(split, Path(checkpoint).name)


def split_summary(report: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per evaluated split: images, accuracy and, when the report has `calibration`, ECE before/after."""
    rows = []
    for split, result in report.get("reports", {}).items():
        calibration = result.get("calibration") or {}
        rows.append(
            {
                "split": split,
                "images": result.get("n"),
                "accuracy": result.get("accuracy"),
                "ECE": calibration.get("ece"),
                "ECE before calibration": calibration.get("ece_before"),
            }
        )
    return rows


IMAGE_LINK = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)\n?")


def read_card(checkpoint: str | Path) -> tuple[str, list[Path]] | None:
    """A checkpoint's card (`NAME.md` beside it) without its image links, and the images it links that exist
    beside it (a markdown renderer cannot reach files on the server); None when there is no card."""
    card = Path(checkpoint).with_suffix(".md")
    if not card.is_file():
        return None
    text = card.read_text()
    names = [Path(link).name for link in IMAGE_LINK.findall(text)]  # only files beside the card, never ../x
    return IMAGE_LINK.sub("", text), [card.parent / name for name in names if (card.parent / name).is_file()]
