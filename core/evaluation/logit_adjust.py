"""Rare classes seen: post-hoc logit adjustment (Menon et al. 2021) stored in a checkpoint's preprocessing.

The adjusted probabilities are `softmax((log p - tau * log prior) / T)`: the prior is the Training split's label
distribution (the soft-label mass when the model was trained on soft labels), `tau` is tuned on PublicTest only and
the temperature is refitted on PublicTest with the bias in place. The rule for `tau`: the largest macro recall
(balanced accuracy) among the `tau`s whose PublicTest accuracy stays within `max_accuracy_drop` of the unadjusted
model's, so rare classes gain without giving away overall accuracy. The bias lands in `Preprocessing.logit_bias`,
so the predictor, `evaluate`, the ONNX export and the web app all apply it.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from core.evaluation.calibration import calibration_summary, fit_temperature, logit_adjustment, postprocess

TAUS = tuple(np.round(np.arange(0.0, 2.001, 0.05), 2))
MAX_ACCURACY_DROP = 0.005  # half a point of PublicTest accuracy


def per_class_recall(probs: np.ndarray, labels: np.ndarray, num_classes: int) -> np.ndarray:
    predicted = probs.argmax(axis=1)
    hits = np.bincount(labels[predicted == labels], minlength=num_classes)
    return hits / np.maximum(np.bincount(labels, minlength=num_classes), 1)


def tune_tau(
    probs: np.ndarray,
    labels: np.ndarray,
    class_counts: np.ndarray,
    taus=TAUS,
    max_accuracy_drop: float = MAX_ACCURACY_DROP,
) -> tuple[float, list[dict[str, float]]]:
    """The tau (see the module docstring) for uncalibrated probabilities `probs` of a tuning split, and the table
    of every tau tried (accuracy, macro recall)."""
    num_classes = probs.shape[1]
    table = []
    for tau in taus:
        adjusted = postprocess(probs, 1.0, logit_adjustment(class_counts, float(tau)))
        table.append(
            {
                "tau": float(tau),
                "accuracy": float((adjusted.argmax(1) == labels).mean()),
                "macro_recall": float(per_class_recall(adjusted, labels, num_classes).mean()),
            }
        )
    floor = float((probs.argmax(1) == labels).mean()) - max_accuracy_drop
    allowed = [row for row in table if row["accuracy"] >= floor - 1e-12]
    best = max(allowed, key=lambda row: (row["macro_recall"], -row["tau"])) if allowed else {"tau": 0.0}
    return best["tau"], table


def adjust_checkpoint(
    path: str | Path,
    dataset=None,
    device: str = "auto",
    out: str | Path | None = None,
    max_accuracy_drop: float = MAX_ACCURACY_DROP,
) -> dict[str, Any]:
    """Tune tau on PublicTest, store the bias and the refitted temperature in the checkpoint (at `out`, or in
    place), and return what changed: tau, bias, the tau table, and per split (PublicTest, PrivateTest) the
    accuracy and per-class recall before and after (with the checkpoint's TTA)."""
    import torch

    from core.data.preprocessing import Preprocessing
    from core.evaluation.evaluate import load_for_evaluation, split_probabilities
    from core.files import write_atomically

    if Path(path).suffix.lower() != ".pt":
        raise ValueError(f"{path}: adjust the .pt checkpoint, then export it again (the export copies its bias)")
    payload, model, tensors = load_for_evaluation(path, dataset, device)
    missing = [s for s in ("Training", "PublicTest") if s not in tensors]
    if missing:
        raise ValueError(f"{path}: its data has no {' or '.join(missing)} images to adjust on")
    classes = payload["classes"]
    before = Preprocessing.from_payload(payload)
    raw = {
        split: split_probabilities(model, tensors[split], before)
        for split in ("PublicTest", "PrivateTest")
        if split in tensors
    }
    labels = {split: tensors[split].targets.cpu().numpy() for split in raw}
    training = tensors["Training"]
    counts = (
        training.soft.sum(0).cpu().numpy().astype(float)
        if training.soft is not None
        else np.bincount(training.targets.cpu().numpy(), minlength=len(classes)).astype(float)
    )
    tau, table = tune_tau(raw["PublicTest"], labels["PublicTest"], counts, max_accuracy_drop=max_accuracy_drop)
    bias = logit_adjustment(counts, tau) if tau > 0 else np.zeros(len(classes))
    bias = bias - bias.mean()  # softmax ignores a shared shift; centred numbers read better in the metadata
    temperature = fit_temperature(raw["PublicTest"], labels["PublicTest"], bias)
    after = dataclasses.replace(
        before, temperature=temperature, logit_bias=tuple(float(b) for b in bias) if tau > 0 else ()
    )
    payload["preprocessing"] = after.to_dict()
    splits, calibration = {}, {}
    for split, probs in raw.items():
        old = postprocess(probs, before.temperature, before.logit_bias or None)
        new = postprocess(probs, after.temperature, after.logit_bias or None)
        splits[split] = {
            name: {
                "accuracy": float((p.argmax(1) == labels[split]).mean()),
                "recall": per_class_recall(p, labels[split], len(classes)).tolist(),
            }
            for name, p in (("before", old), ("after", new))
        }
        calibration[split] = {"calibration": calibration_summary(probs, new, labels[split])}
    metrics = payload.get("metrics") or {}
    if "PrivateTest" in raw and "private_accuracy" in metrics:  # what the pickers show follows the adjustment
        metrics["private_accuracy"] = splits["PrivateTest"]["after"]["accuracy"]
        if "private_accuracy_without_tta" in metrics:
            plain = split_probabilities(model, tensors["PrivateTest"], before.with_tta("none"))
            adjusted = postprocess(plain, after.temperature, after.logit_bias or None)
            metrics["private_accuracy_without_tta"] = float((adjusted.argmax(1) == labels["PrivateTest"]).mean())
    target = Path(out or path)
    write_atomically(target, lambda handle: torch.save(payload, handle), binary=True)
    return {
        "checkpoint": str(target),
        "classes": classes,
        "tau": tau,
        "bias": after.logit_bias,
        "temperature": temperature,
        "prior": (counts / counts.sum()).tolist(),
        "tta": before.tta,
        "max_accuracy_drop": max_accuracy_drop,
        "table": table,
        "splits": splits,
        # in the shape of an evaluate report, for the card's calibration section (test splits only)
        "calibration_report": {"tta": before.tta, "temperature": temperature, "reports": calibration},
    }


ADJUSTMENT_HEADING = "## Rare classes: logit adjustment"


def adjustment_section(result: dict[str, Any]) -> str:
    """The card section: the rule, tau, and per-class recall before and after on PublicTest and PrivateTest."""
    splits = result["splits"]
    lines = [
        ADJUSTMENT_HEADING,
        "",
        f"Post-hoc logit adjustment (Menon et al. 2021): `softmax((log p - tau log prior) / T)`, prior from the "
        f"Training labels, tau tuned on PublicTest only (largest macro recall with PublicTest accuracy within "
        f"{result['max_accuracy_drop']:.1%} of the unadjusted model's), T refitted on PublicTest: "
        f"tau = {result['tau']:.2f}, T = {result['temperature']:.3f} (tta `{result['tta']}`). Stored in the "
        "checkpoint's preprocessing, so every path (predictor, evaluate, ONNX export, web app) applies it. "
        f"Made with `python -m core adjust --checkpoint {Path(result['checkpoint']).name}`. The metric tables "
        "above are the unadjusted model's; `evaluate` applies the adjustment.",
        "",
        "| class | prior | " + " | ".join(f"{s} recall before | after" for s in splits) + " |",
        "| --- | --- | " + " | ".join("--- | ---" for _ in splits) + " |",
    ]
    for c, name in enumerate(result["classes"]):
        cells = [f"{splits[s][k]['recall'][c]:.3f}" for s in splits for k in ("before", "after")]
        lines.append(f"| {name} | {result['prior'][c]:.3f} | " + " | ".join(cells) + " |")
    macro = [f"**{np.mean(splits[s][k]['recall']):.3f}**" for s in splits for k in ("before", "after")]
    accuracy = [f"{splits[s][k]['accuracy']:.2%}" for s in splits for k in ("before", "after")]
    lines += ["| macro recall | | " + " | ".join(macro) + " |", "| accuracy | | " + " | ".join(accuracy) + " |", ""]
    return "\n".join(lines)
