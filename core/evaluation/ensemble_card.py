"""An ensemble's evaluation and card: each member and the ensemble on PublicTest and PrivateTest, one pass each.

The members' calibrated probabilities are computed once per split and the ensemble's are their weighted mean
(what `EnsembleModel` computes), so the comparison with the best member costs no extra model call.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from core.data.preprocessing import Preprocessing, calibrated
from core.evaluation.metrics import classification_report

TEST_SPLITS = ("PublicTest", "PrivateTest")


def evaluate_ensemble(path: str | Path, dataset=None, device: str = "auto") -> dict[str, Any]:
    """Accuracy and macro recall of each member (its own TTA and calibration) and of the ensemble, per test split,
    and the ensemble's full PrivateTest report."""
    from core.evaluation.evaluate import load_for_evaluation, split_probabilities
    from core.models.checkpoint import model_from_checkpoint

    payload, model, tensors = load_for_evaluation(path, dataset, device)
    if payload["model"] != "ensemble":
        raise ValueError(f"{path} is not an ensemble file")
    classes, weights = payload["classes"], np.asarray(payload["weights"]) / sum(payload["weights"])
    names = [Path(m).name for m in payload["member_files"]]
    rows: dict[str, dict[str, dict[str, float]]] = {name: {} for name in [*names, "ensemble"]}
    reports = {}
    for split in (s for s in TEST_SPLITS if s in tensors):
        labels = tensors[split].targets.cpu().numpy()
        members = []
        for name, member in zip(names, payload["members"]):
            spec = Preprocessing.from_payload(member)
            probs = calibrated(
                split_probabilities(
                    model_from_checkpoint(member).to(next(model.parameters()).device), tensors[split], spec
                ),
                spec,
            )
            members.append(probs)
            rows[name][split] = scores(probs, labels, classes)
        ensemble = np.tensordot(weights, np.stack(members), axes=1)
        rows["ensemble"][split] = scores(ensemble, labels, classes)
        reports[split] = classification_report(labels, ensemble.argmax(1), classes)
    return {
        "ensemble": str(path),
        "members": names,
        "weights": weights.tolist(),
        "classes": classes,
        "rows": rows,
        "reports": reports,
    }


def scores(probs: np.ndarray, labels: np.ndarray, classes: list[str]) -> dict[str, float]:
    report = classification_report(labels, probs.argmax(1), classes)
    recalls = [m["recall"] for m in report["per_class"].values()]
    return {"accuracy": float(report["accuracy"]), "macro_recall": float(np.mean(recalls))}


def best_member(result: dict[str, Any], split: str = "PublicTest") -> tuple[str, float]:
    name = max(result["members"], key=lambda n: result["rows"][n][split]["accuracy"])
    return name, result["rows"][name][split]["accuracy"]


def ensemble_card(name: str, result: dict[str, Any], hardware: str) -> str:
    """The card: what the file holds, each member against the ensemble, and the ensemble's PrivateTest per class."""
    splits = [s for s in TEST_SPLITS if s in result["reports"]]
    best, best_public = best_member(result)
    lines = [
        f"# {name}",
        "",
        f"- an ensemble (`{name}.ensemble.json`): the weighted mean of its members' probabilities, each member "
        "with its own test-time augmentation, temperature and logit bias (their cards say how they were made)",
        "- members: " + ", ".join(f"`{m}` (weight {w:.2f})" for m, w in zip(result["members"], result["weights"])),
        f"- classes ({len(result['classes'])}): {', '.join(result['classes'])}",
        f"- selection: shipped because it beats the best member ({best}) on PublicTest; PrivateTest is reported only",
        f"- measured on {hardware}",
        "",
        "| model | " + " | ".join(f"{s} accuracy | {s} macro recall" for s in splits) + " |",
        "| --- | " + " | ".join("--- | ---" for _ in splits) + " |",
    ]
    for model in [*result["members"], "ensemble"]:
        cells = [
            f"{result['rows'][model][s]['accuracy']:.2%} | {result['rows'][model][s]['macro_recall']:.3f}"
            for s in splits
        ]
        lines.append(f"| {'**ensemble**' if model == 'ensemble' else model} | " + " | ".join(cells) + " |")
    if "PrivateTest" in result["reports"]:
        lines += [
            "",
            "## PrivateTest per class (ensemble)",
            "",
            "| class | precision | recall | F1 | images |",
            "| --- | --- | --- | --- | --- |",
        ]
        lines += [
            f"| {c} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | {m['support']} |"
            for c, m in result["reports"]["PrivateTest"]["per_class"].items()
        ]
    lines += [
        "",
        f"PublicTest accuracy of the best member: {best_public:.2%}.",
        f"Made with `python -m core ensemble --members {' '.join(result['members'])} --out "
        f"checkpoints/{name}.ensemble.json`.",
        "",
    ]
    return "\n".join(lines)
