"""Shipping a trained run as a checkpoint in checkpoints/ with its model card (a short markdown beside it).

The card gives the exact command, hardware, training time, the reference-style metrics table on all three splits
(with and without the checkpoint's test-time augmentation) and the PrivateTest confusion matrix.
"""

from __future__ import annotations

import os
import platform
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch

from core.data.fer2013 import SPLITS
from core.evaluation.evaluate import calibrate_checkpoint, evaluate_checkpoint
from core.evaluation.metrics import plot_confusion, reference_table
from core.files import write_atomically
from core.inference.catalog import LIVE_MODEL
from core.models.checkpoint import load_checkpoint
from core.models.registry import parameter_count
from core.paths import CHECKPOINTS_DIR
from core.run_folder import RunFolder


def hardware() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        names = [line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return f"{cpu}, {os.cpu_count()} cores, {gpu}; torch {torch.__version__}"


def training_summary(run: Path) -> dict[str, Any]:
    """Epochs, wall time and the selected epoch from the run's metrics log."""
    epochs = RunFolder(run, create=False).records("epoch")
    best = max(epochs, key=lambda r: r["public_accuracy"] or 0)
    return {
        "epochs": len(epochs),
        "seconds": sum(r["seconds"] for r in epochs),
        "best_epoch": best["epoch"],
        "best_public": best["public_accuracy"],
    }


def ship(run: str | Path, name: str, out_dir: Path = CHECKPOINTS_DIR, dataset=None) -> Path:
    """Copy run/best.pt to out_dir/NAME.pt, evaluate it on every split, write NAME.md and NAME_confusion.png."""
    run, out_dir = Path(run), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{name}.pt"
    shutil.copyfile(RunFolder(run, create=False).best, target)
    calibrate_checkpoint(target, dataset=dataset)
    payload = load_checkpoint(target)
    plain = evaluate_checkpoint(target, list(SPLITS), tta="none", dataset=dataset)
    recorded = evaluate_checkpoint(target, list(SPLITS), dataset=dataset) if payload["tta"] != "none" else None
    final = recorded or plain
    plot_confusion(
        final["reports"]["PrivateTest"]["confusion"],
        payload["classes"],
        out_dir / f"{name}_confusion.png",
        title=f"{name}: PrivateTest (tta {final['tta']})",
    )
    record_private_accuracy(target, plain, recorded)
    command = RunFolder(run, create=False).command() or "(not recorded)"
    card = model_card(name, payload, plain, recorded, training_summary(run), command)
    (out_dir / f"{name}.md").write_text(with_calibration_section(card, calibration_section(name, final, out_dir)))
    return target


def calibrate_shipped(checkpoint: Path, dataset=None) -> dict:
    """Fit the temperature of a checkpoint and, when a model card stands beside it, rewrite its calibration
    section and reliability diagram; return the evaluation (with the checkpoint's TTA) that the section shows."""
    checkpoint = Path(checkpoint)
    calibrate_checkpoint(checkpoint, dataset=dataset)
    report = evaluate_checkpoint(checkpoint, list(SPLITS), dataset=dataset)
    card = checkpoint.with_suffix(".md")
    if card.is_file():
        section = calibration_section(checkpoint.stem, report, checkpoint.parent)
        text = with_calibration_section(card.read_text(), section)
        write_atomically(card, lambda handle: handle.write(text))
    return report


def record_private_accuracy(target: Path, plain: dict, recorded: dict | None) -> None:
    """Write the reported PrivateTest accuracy into the shipped copy's metrics, so pickers can show it.

    Only reported: the checkpoint was selected on PublicTest before this was measured."""
    payload = torch.load(target, map_location="cpu", weights_only=True)
    payload["metrics"] = {
        **payload["metrics"],
        "private_accuracy": (recorded or plain)["reports"]["PrivateTest"]["accuracy"],
        "private_accuracy_without_tta": plain["reports"]["PrivateTest"]["accuracy"],
    }
    write_atomically(target, lambda handle: torch.save(payload, handle), binary=True)


def model_card(name: str, payload: dict, plain: dict, recorded: dict | None, summary: dict, command: str) -> str:
    params = parameter_count(payload["model"], num_classes=len(payload["classes"]), **payload["model_options"])
    private = (recorded or plain)["reports"]["PrivateTest"]
    lines = [
        f"# {name}",
        "",
        f"- model: `{payload['model']}` {payload['model_options'] or ''} ({params:,} parameters), input "
        f"{payload['input_size']}x{payload['input_size']} gray, normalisation {payload['normalization']}",
        f"- classes ({len(payload['classes'])}): {', '.join(payload['classes'])}; labels: {payload['label_source']}",
        f"- protocol: trained on Training, checkpoint selected on PublicTest (epoch {summary['best_epoch']} of "
        f"{summary['epochs']}), reported on PrivateTest",
        f"- test-time augmentation recorded in the checkpoint: `{payload['tta']}` (what `evaluate` applies by default)",
        f"- training time: {summary['seconds'] / 60:.0f} min on {hardware()}",
        *start_lines(payload.get("config") or {}),
        "",
        "## Command",
        "",
        "```bash",
        command,
        "```",
        "",
        "## Metrics without test-time augmentation",
        "",
        reference_table(plain["reports"]),
    ]
    if recorded:
        lines += [
            f"## Metrics with `{recorded['tta']}` test-time augmentation (the default for this checkpoint)",
            "",
            reference_table(recorded["reports"]),
        ]
    lines += [
        "## PrivateTest per class",
        "",
        "| class | precision | recall | F1 | images |",
        "| --- | --- | --- | --- | --- |",
    ]
    lines += [
        f"| {c} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | {m['support']} |"
        for c, m in private["per_class"].items()
    ]
    lines += ["", f"![confusion matrix]({name}_confusion.png)", ""]
    return "\n".join(lines)


def start_lines(config: dict) -> list[str]:
    """Where the weights started: a warm start's checkpoint, or nothing for random initialisation."""
    if not config.get("init_from"):
        return []
    return [
        f"- warm start: from `{Path(config['init_from']).name}`'s weights (the head matched by class name; "
        "classes it lacks start from random weights)"
    ]


CALIBRATION_HEADING = "## Calibration"


def calibration_section(name: str, report: dict, out_dir: Path) -> str:
    """ECE before and after temperature scaling (fitted on PublicTest) per split, and the PrivateTest
    reliability diagram written beside the card."""
    from core.evaluation.calibration import plot_reliability

    private = report["reports"]["PrivateTest"]["calibration"]
    plot_reliability(
        private["reliability_before"],
        private["reliability"],
        out_dir / f"{name}_reliability.png",
        title=f"{name}: PrivateTest (tta {report['tta']})",
    )
    lines = [
        CALIBRATION_HEADING,
        "",
        f"Temperature scaling, fitted on PublicTest (never PrivateTest): T = {report['temperature']:.3f}, stored "
        "in the checkpoint's preprocessing and applied by the predictor, the ONNX export and the web app. "
        f"Expected calibration error (15 bins, tta {report['tta']}):",
        "",
        "| split | ECE before | ECE after | NLL before | NLL after |",
        "| --- | --- | --- | --- | --- |",
    ]
    lines += [
        f"| {split} | {r['calibration']['ece_before']:.4f} | {r['calibration']['ece']:.4f} | "
        f"{r['calibration']['nll_before']:.4f} | {r['calibration']['nll']:.4f} |"
        for split, r in report["reports"].items()
    ]
    lines += ["", f"![reliability diagram]({name}_reliability.png)", ""]
    return "\n".join(lines)


def with_section(card: str, heading: str, section: str) -> str:
    """The card with the `heading` section replaced, or added just before the calibration section (which stays
    last, since `with_calibration_section` rewrites everything from its heading on)."""
    if heading in card:
        head, rest = card.split(heading, 1)
        tail = rest.split("\n## ", 1)
        return head + section.rstrip() + "\n\n" + ("## " + tail[1] if len(tail) > 1 else "")
    head, sep, calibration = card.partition(CALIBRATION_HEADING)
    return head.rstrip() + "\n\n" + section.rstrip() + "\n\n" + sep + calibration


def with_calibration_section(card: str, section: str) -> str:
    """The card with its calibration section replaced (or added at the end)."""
    head = card.split(CALIBRATION_HEADING, 1)[0].rstrip()
    return head + "\n\n" + section


def ship_int8(checkpoint: Path, dataset=None) -> Path:
    """Quantize a shipped checkpoint to `<stem>_int8.onnx` beside it (calibrated on Training faces of the import)
    and write its card: accuracy of the int8 file next to the fp32 checkpoint's on every split, with and without
    the recorded TTA, and how often the two agree on the top class."""
    from core.data.store import load_dataset
    from core.export.quantize import quantize_checkpoint

    checkpoint = Path(checkpoint)
    data = dataset if dataset is not None else load_dataset()
    target = checkpoint.with_name(f"{checkpoint.stem}_int8.onnx")
    tests = np.asarray(data.images)[data.meta["split"].to_numpy() != "Training"]
    made = quantize_checkpoint(checkpoint, target, data, tests)
    results = {
        (kind, tta): evaluate_checkpoint(path, list(SPLITS), tta=tta, dataset=dataset)
        for kind, path in (("fp32", checkpoint), ("int8", target))
        for tta in ("none", None)
    }
    card = int8_card(target.stem, checkpoint.name, results, made.agreement, made.calibration_faces)
    write_atomically(target.with_suffix(".md"), lambda handle: handle.write(card))
    return target


def int8_card(name: str, source: str, results: dict, same: float, calibration: int) -> str:
    tta = results[("fp32", None)]["tta"]
    lines = [
        f"# {name}",
        "",
        f"- the int8 version of `{source}` (its card says how that was trained): onnxruntime static "
        f"quantization, QDQ format, weights int8 per channel, activations uint8 with MinMax ranges taken on "
        f"{calibration:,} Training faces (never a test split)",
        (
            "- the live app's default model"
            if name == LIVE_MODEL
            else "- for the live apps (pick it in their model list)"
        )
        + ": no torch to import, and faster per face than fp32 (README, `bench/live_models.py`)",
        f"- classes, preprocessing, TTA (`{tta}`) and temperature are the fp32 checkpoint's, carried in the "
        "file's metadata",
        f"- top class equal to fp32's on {same:.2%} of the PublicTest + PrivateTest faces",
        "",
        "## Accuracy, fp32 checkpoint vs int8",
        "",
        "| split | fp32, no TTA | int8, no TTA | fp32, " + tta + " | int8, " + tta + " |",
        "| --- | --- | --- | --- | --- |",
    ]
    for split in SPLITS:
        cells = [
            results[(kind, mode)]["reports"][split]["accuracy"] for mode in ("none", None) for kind in ("fp32", "int8")
        ]
        lines.append(f"| {split} | " + " | ".join(f"{c:.2%}" for c in cells) + " |")
    lines += ["", "Made with `python -m core ship-int8 --checkpoint checkpoints/" + source + "`.", ""]
    return "\n".join(lines)
