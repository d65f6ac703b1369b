"""(maintainers) Shipping the full FER2013's out-of-fold probabilities: the finished label-issue job's, with the
reference model's beside them, and a card saying how they were made and how well their ranking finds the labels
FERPlus contradicts."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np

from core.data.dataset import FerDataset
from core.evaluation.label_finder import precision_markdown, precision_table
from core.files import write_atomically
from core.inference.dataset_predictions import compute_probabilities, faces_predictor
from core.jobs.label_issues import JOB_FILE, finished_job_oof
from core.labels.issues import fingerprint, given_labels, results_dir, score_issues
from core.labels.shipped_oof import REFERENCE_CHECKPOINT, SHIPPED_OOF, read_shipped, write_shipped_oof
from core.models.checkpoint import load_checkpoint


def reference_model_probabilities(dataset: FerDataset) -> tuple[np.ndarray, list[str]]:
    """The shipped FER2013 model's probabilities for every image, in torch fp32 with its TTA (what `evaluate`
    scores; not the studio's cache, which may hold another backend's). It was trained on these Training labels,
    so alone it is the in-sample baseline."""
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


def oof_card(
    dataset: FerDataset,
    probs: np.ndarray,
    classes: list[str],
    job: dict,
    label_source: str,
    reference: np.ndarray | None = None,
) -> str:
    """The markdown card of shipped out-of-fold probabilities."""
    labels = given_labels(dataset, label_source, classes)
    scored = labels >= 0
    accuracy = float((probs[scored].argmax(axis=1) == labels[scored]).mean())
    config = job["config"]
    lines = [
        f"# {SHIPPED_OOF.stem}",
        "",
        f"Out-of-fold class probabilities for all {len(dataset):,} FER2013 images (float16, {len(classes)} "
        f"classes: {', '.join(classes)}), so the full import shows label quality at once.",
        "",
        f"- made by `python -m core label-issues --compute --folds {job['folds']} --model {config['model']} "
        + "".join(f"--model-option {k}={v} " for k, v in config["model_options"].items())
        + f"--epochs {config['epochs']}`: {job['folds']} runs through the runner, each trained on every image "
        "(all three splits) outside one fold and predicting that fold (flip TTA)",
        f"- labels used: {label_source} only; the models never saw FERPlus votes, which stay the yardstick",
        f"- out-of-fold accuracy against the {label_source} labels: {accuracy:.2%}",
        f"- data set fingerprint `{fingerprint(dataset, label_source)}` (the probabilities apply to that import only)",
        f"- runs: {', '.join(job['runs'])}",
    ]
    if reference is not None:
        lines.append(
            f"- `reference`: the shipped `{REFERENCE_CHECKPOINT.name}`'s probabilities (flip TTA), which the "
            "quality ranking blends in (core/labels/issues.py, `REFERENCE_WEIGHT`)"
        )
    if dataset.has_ferplus:
        lines += ["", *precision_section(dataset, probs, classes, label_source, reference)]
    return "\n".join(lines) + "\n"


def precision_section(
    dataset: FerDataset, probs: np.ndarray, classes: list[str], label_source: str, reference: np.ndarray | None
) -> list[str]:
    """The card's precision table: the ranking (blended when `reference` is given) against the FERPlus majority."""
    ranked = score_issues(dataset, probs, classes, label_source, reference)
    oof_only = None if reference is None else score_issues(dataset, probs, classes, label_source)
    table = precision_table(dataset, ranked, reference, given_labels(dataset, label_source, classes), oof_only)
    return [
        "## Precision against the FERPlus majority",
        "",
        "Share of the ranked labels whose FERPlus majority is another emotion (images without a majority "
        "count as correct, so this is a lower bound):",
        "",
        precision_markdown(table),
    ]
