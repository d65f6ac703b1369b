"""The out-of-fold probabilities shipped for the full FER2013 (`checkpoints/fer2013_oof.npz`) and their card.

Beside the fold models' probabilities the file holds the reference model's (the shipped `fer2013_fernet`, which
the quality ranking blends in: core/labels/issues.py), so the full import is ranked without loading torch. Both
apply only to the data set whose fingerprint the file records.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from core.data.dataset import FerDataset
from core.files import write_atomically
from core.labels.issues import (JOB_FILE, finished_job_oof, fingerprint, given_labels, results_dir,
                                score_issues)
from core.paths import CHECKPOINTS_DIR

SHIPPED_OOF = CHECKPOINTS_DIR / "fer2013_oof.npz"
REFERENCE_CHECKPOINT = CHECKPOINTS_DIR / "fer2013_fernet.pt"


def read_shipped(dataset: FerDataset, label_source: str, path: Path | None = None) -> dict | None:
    """The shipped arrays (probs, classes, reference when present) if `dataset` is the one they were made on."""
    path = path or SHIPPED_OOF
    if not path.is_file():
        return None
    with np.load(path) as shipped:
        if str(shipped["fingerprint"]) != fingerprint(dataset, label_source):
            return None
        found = {"probs": shipped["probs"].astype(np.float32), "classes": [str(c) for c in shipped["classes"]]}
        if "reference" in shipped.files:
            found["reference"] = shipped["reference"].astype(np.float32)
        return found


def shipped_oof(dataset: FerDataset, label_source: str) -> tuple[np.ndarray, list[str]] | None:
    """The shipped FER2013 out-of-fold probabilities, when `dataset` is the data set they were made on."""
    found = read_shipped(dataset, label_source)
    return None if found is None else (found["probs"], found["classes"])


def shipped_reference(dataset: FerDataset, label_source: str, classes: list[str]) -> np.ndarray | None:
    """The reference model's shipped probabilities for `dataset` in `classes`' order; None where none apply."""
    found = read_shipped(dataset, label_source)
    if found is None or "reference" not in found or found["classes"] != list(classes):
        return None
    return found["reference"]


def write_shipped_oof(dataset: FerDataset, probs: np.ndarray, classes: list[str], path: Path = SHIPPED_OOF,
                      label_source: str = "fer2013", reference: np.ndarray | None = None) -> Path:
    """Store out-of-fold (and reference) probabilities in float16 (35,887 x 7 is about 0.5 MB each) with the
    data set's fingerprint."""
    arrays = {"probs": probs.astype(np.float16), "classes": np.array(classes),
              "fingerprint": np.array(fingerprint(dataset, label_source))}
    if reference is not None:
        arrays["reference"] = reference.astype(np.float16)
    np.savez_compressed(path, **arrays)
    return path


def reference_model_probabilities(dataset: FerDataset) -> tuple[np.ndarray, list[str]]:
    """The shipped FER2013 model's probabilities for every image, in torch fp32 with its TTA (what `evaluate`
    scores; not the studio's cache, which may hold another backend's). It was trained on these Training labels,
    so alone it is the in-sample baseline."""
    import tempfile

    from core.inference.dataset_predictions import compute_probabilities, faces_predictor
    from core.models.checkpoint import load_checkpoint

    classes = list(load_checkpoint(REFERENCE_CHECKPOINT)["classes"])
    with tempfile.TemporaryDirectory() as workdir:
        predict = faces_predictor(REFERENCE_CHECKPOINT, "fp32", Path(workdir))
        return compute_probabilities(dataset.images, predict), classes


def ship_oof(dataset: FerDataset, label_source: str = "fer2013", path: Path = SHIPPED_OOF) -> Path:
    """(maintainers) Ship this data set's finished out-of-fold probabilities and the reference model's, with a
    card beside them saying how they were made and how well their ranking finds the labels FERPlus contradicts."""
    found = finished_job_oof(dataset, label_source)
    if found is None:
        raise ValueError("the cross-validation job of this data set has not finished")
    probs, classes = found
    reference, reference_classes = reference_model_probabilities(dataset)
    if reference_classes != classes:
        raise ValueError(f"the reference model's classes {reference_classes} are not the folds' {classes}")
    write_shipped_oof(dataset, probs, classes, path, label_source, reference)
    shipped = read_shipped(dataset, label_source, path)  # the card scores the float16 arrays users get
    job = json.loads((results_dir(dataset, label_source) / JOB_FILE).read_text())
    card = oof_card(dataset, shipped["probs"], classes, job, label_source, shipped["reference"])
    write_atomically(path.with_suffix(".md"), lambda handle: handle.write(card))
    return path


def oof_card(dataset: FerDataset, probs: np.ndarray, classes: list[str], job: dict, label_source: str,
             reference: np.ndarray | None = None) -> str:
    """The markdown card of shipped out-of-fold probabilities."""
    labels = given_labels(dataset, label_source, classes)
    scored = labels >= 0
    accuracy = float((probs[scored].argmax(axis=1) == labels[scored]).mean())
    config = job["config"]
    lines = [f"# {SHIPPED_OOF.stem}", "",
             f"Out-of-fold class probabilities for all {len(dataset):,} FER2013 images (float16, {len(classes)} "
             f"classes: {', '.join(classes)}), so the full import shows label quality at once.", "",
             f"- made by `python -m core label-issues --compute --folds {job['folds']} --model {config['model']} "
             + "".join(f"--model-option {k}={v} " for k, v in config["model_options"].items())
             + f"--epochs {config['epochs']}`: {job['folds']} runs through the runner, each trained on every image "
             "(all three splits) outside one fold and predicting that fold (flip TTA)",
             f"- labels used: {label_source} only; the models never saw FERPlus votes, which stay the yardstick",
             f"- out-of-fold accuracy against the {label_source} labels: {accuracy:.2%}",
             f"- data set fingerprint `{fingerprint(dataset, label_source)}` (the probabilities apply to that import only)",
             f"- runs: {', '.join(job['runs'])}"]
    if reference is not None:
        lines.append(f"- `reference`: the shipped `{REFERENCE_CHECKPOINT.name}`'s probabilities (flip TTA), which the "
                     "quality ranking blends in (core/labels/issues.py, `REFERENCE_WEIGHT`)")
    if dataset.has_ferplus:
        lines += ["", *precision_section(dataset, probs, classes, label_source, reference)]
    return "\n".join(lines) + "\n"


def precision_section(dataset: FerDataset, probs: np.ndarray, classes: list[str], label_source: str,
                      reference: np.ndarray | None) -> list[str]:
    """The card's precision table: the ranking (blended when `reference` is given) against the FERPlus majority."""
    from core.evaluation.label_finder import precision_markdown, precision_table

    ranked = score_issues(dataset, probs, classes, label_source, reference)
    oof_only = None if reference is None else score_issues(dataset, probs, classes, label_source)
    table = precision_table(dataset, ranked, reference, given_labels(dataset, label_source, classes), oof_only)
    return ["## Precision against the FERPlus majority", "",
            "Share of the ranked labels whose FERPlus majority is another emotion (images without a majority "
            "count as correct, so this is a lower bound):", "", precision_markdown(table)]
