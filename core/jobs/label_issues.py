"""The label-issue job: K cross-validation runs (one run folder each, through the runner) whose held-out folds
give every image out-of-fold probabilities; and reading its results, or the shipped ones, into label quality
(`core.labels.issues` scores them) and consensus labels.

Its record sits beside the scores, `<data>/label_issues/<fingerprint>/job.json` (the fold runs and their recipe).
For the full FER2013 the out-of-fold probabilities ship in `checkpoints/` (`core.labels.shipped_oof`), so the full
import has label quality without training anything.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd

from core.data.dataset import FerDataset
from core.files import write_atomically
from core.job_status import ENDED_EARLY, FINISHED
from core.jobs import runner
from core.labels import shipped_oof
from core.labels.consensus import consensus
from core.labels.issues import ISSUES_FILE, results_dir, save_issues, score_issues
from core.labels.relabels import RelabelStore
from core.paths import runs_dir
from core.run_folder import HELDOUT
from core.training.config import TrainConfig

# the fold recipe the shipped probabilities were made with; the CLI and the Data page start it by default
DEFAULT_FOLDS = 5
DEFAULT_RECIPE = TrainConfig(model="fernet", model_options={"width": 0.5}, epochs=8)
JOB_FILE = "job.json"
MISSING = "missing"  # a fold run the job records but the runs folder no longer holds


def results_stamp(dataset: FerDataset, label_source: str = "fer2013") -> float:
    """When this data set's label-issue files last changed (0 when there are none): a cache key for the studio."""
    folder = results_dir(dataset, label_source)
    files = [folder / ISSUES_FILE, folder / JOB_FILE, shipped_oof.SHIPPED_OOF]
    return max((f.stat().st_mtime for f in files if f.is_file()), default=0.0)


def fold_configs(base: TrainConfig, folds: int) -> list[TrainConfig]:
    """One config per fold: the same recipe, holding out fold k of `folds`."""
    return [dataclasses.replace(base, folds=folds, fold=k, tta="flip") for k in range(folds)]


def start_job(dataset: FerDataset, base: TrainConfig, folds: int = 5) -> list[str]:
    """Start (or queue) the K fold runs for `dataset`; record them in job.json; return the run ids.

    Re-running resumes: folds already finished are kept, stopped or failed ones resume from their last.pt."""
    folder = results_dir(dataset, base.label_source)
    folder.mkdir(parents=True, exist_ok=True)
    ids = []
    for config in fold_configs(base, folds):
        run_id = f"labelcv-{folder.name}-{config.model}-k{folds}-f{config.fold}"
        ids.append(run_id)
        existing = runner.list_runs()
        state = next((r["state"] for r in existing if r["id"] == run_id), None)
        if state is None:
            runner.start_run(config, run_id=run_id)
        elif state in ENDED_EARLY:
            runner.resume(run_id)
    record_job(dataset, ids, base, folds)
    return ids


def record_job(dataset: FerDataset, run_ids: list[str], base: TrainConfig, folds: int) -> Path:
    """Write job.json: which runs hold this data set's folds, and the recipe they share."""
    job = {
        "runs": run_ids,
        "folds": folds,
        "label_source": base.label_source,
        "classes": list(base.class_names()),
        "config": base.to_dict(),
    }
    path = results_dir(dataset, base.label_source) / JOB_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, lambda handle: json.dump(job, handle, indent=2))
    return path


def folds_done(runs: list[dict]) -> float:
    """How many folds of a job are done, counting a running fold by its progress."""
    return sum(1.0 if run.get("state") == FINISHED else float(run.get("progress") or 0) for run in runs)


def job_progress(dataset: FerDataset, label_source: str = "fer2013") -> list[dict] | None:
    """The statuses of this data set's fold runs, or None when no job was started."""
    job_path = results_dir(dataset, label_source) / JOB_FILE
    if not job_path.is_file():
        return None
    runs = {r["id"]: r for r in runner.list_runs()}
    return [runs.get(i, {"id": i, "state": MISSING}) for i in json.loads(job_path.read_text())["runs"]]


def collect_oof(run_ids: list[str], n_images: int, root: Path | None = None) -> tuple[np.ndarray, list[str]]:
    """Assemble the fold runs' heldout.npz files into one (N, C) matrix; every row must be covered once."""
    probs, classes, seen = None, None, np.zeros(n_images, dtype=int)
    for run_id in run_ids:
        with np.load(Path(root or runs_dir()) / run_id / HELDOUT) as part:
            if int(part["n_images"]) != n_images:
                raise ValueError(
                    f"{run_id} was trained on a data set of {int(part['n_images'])} images, not {n_images}"
                )
            classes = classes or [str(c) for c in part["classes"]]
            probs = np.zeros((n_images, len(classes)), dtype=np.float32) if probs is None else probs
            probs[part["rows"]] = part["probs"]
            seen[part["rows"]] += 1
    if probs is None or (seen != 1).any():
        raise ValueError(f"the fold runs cover {(seen == 1).sum()} of {n_images} images once; all must be")
    return probs, classes


def load_issues(dataset: FerDataset, label_source: str = "fer2013") -> pd.DataFrame | None:
    """The stored result for this data set; else computed from its finished fold runs, or from the shipped
    out-of-fold probabilities when this is the full FER2013; None when there is nothing yet. A stored result older
    than the shipped file that applies to this data set is computed again (a newer release ranks differently)."""
    path = results_dir(dataset, label_source) / ISSUES_FILE
    shipped = shipped_oof.SHIPPED_OOF  # read at each call: tests point it elsewhere
    stale = (
        path.is_file()
        and shipped.is_file()
        and path.stat().st_mtime < shipped.stat().st_mtime
        and shipped_oof.read_shipped(dataset, label_source) is not None
    )
    if path.is_file() and not stale:
        return pd.read_parquet(path)
    probs_classes = oof_probabilities(dataset, label_source)
    if probs_classes is None:
        return pd.read_parquet(path) if path.is_file() else None
    probs, classes = probs_classes
    table = score_issues(
        dataset, probs, classes, label_source, shipped_oof.shipped_reference(dataset, label_source, classes)
    )
    save_issues(dataset, table, label_source)
    return table


def oof_probabilities(dataset: FerDataset, label_source: str = "fer2013") -> tuple[np.ndarray, list[str]] | None:
    """Out-of-fold probabilities for every image: from this data set's finished job, else the shipped ones."""
    return finished_job_oof(dataset, label_source) or shipped_oof.shipped_oof(dataset, label_source)


def load_consensus(dataset: FerDataset, label_source: str = "fer2013") -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """Multi-annotator consensus (core/labels/consensus.py) over FERPlus's votes and the studio's annotators, with
    the out-of-fold probabilities; computed on each call, since annotators keep labelling. None without them."""
    probs_classes = oof_probabilities(dataset, label_source)
    if probs_classes is None:
        return None
    return consensus(dataset, RelabelStore().labels_by_annotator(), *probs_classes)


def finished_job_oof(dataset: FerDataset, label_source: str) -> tuple[np.ndarray, list[str]] | None:
    progress = job_progress(dataset, label_source)
    if not progress or any(run.get("state") != FINISHED for run in progress):
        return None
    return collect_oof([run["id"] for run in progress], len(dataset))
