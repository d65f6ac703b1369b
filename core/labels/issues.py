"""Finding wrong labels by confident learning: out-of-fold probabilities, scored by cleanlab.

K cross-validation runs (`TrainConfig.folds`, one run folder each, through the background runner) give every
image a probability vector from a model that never saw it. cleanlab turns those and the given labels into an issue
flag (`find_label_issues`, pruning by the estimated noise rates) and a suggested label (the most probable class),
and ranks the labels by a quality score (cleanlab's normalized margin: the probability of the given label minus
the largest other one, mapped to [0, 1]; of cleanlab's scores it ranked FERPlus-contradicted labels best).

Where a reference model exists for the data set (for the full FER2013, the shipped `fer2013_fernet`), the quality
ranks by a blend of the out-of-fold probabilities and that model's (`REFERENCE_WEIGHT`): the fold models are
small and the reference model strong. Flags and suggestions stay out-of-fold only, as cleanlab's noise-rate
estimate needs out-of-sample probabilities and the reference model has seen the Training labels.

Results live under `<data>/label_issues/<fingerprint>/` (a fingerprint of the data set's faces and labels): job.json
(the fold runs) and issues.parquet. For the full FER2013 the out-of-fold probabilities ship in `checkpoints/`
(core/labels/shipped_oof.py), so the full import has label quality without training anything.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd

from core.data.dataset import FerDataset
from core.files import write_atomically
from core.paths import data_dir, runs_dir
from core.training.config import TrainConfig

# the fold recipe the shipped probabilities were made with; the CLI and the Data page start it by default
DEFAULT_FOLDS = 5
DEFAULT_RECIPE = TrainConfig(model="fernet", model_options={"width": 0.5}, epochs=8)
JOB_FILE = "job.json"
ISSUES_FILE = "issues.parquet"
QUALITY_METHOD = "normalized_margin"  # against FERPlus: 81 % precision at k = 1,000, self_confidence 72 %
# the reference model's share of the ranking blend: chosen on the even rows of the full FER2013 against FERPlus
# (grid 0 to 0.5 by 0.05; 0.1 to 0.4 all within a point), 86.2 % precision at k = 500 on the odd rows held out
REFERENCE_WEIGHT = 0.15
ISSUE_COLUMNS = ("row", "image_id", "split", "label", "suggested", "quality", "is_issue")


_FINGERPRINTS: dict[tuple, tuple[FerDataset, str]] = {}  # the last few; holding the data set keeps its id unique


def fingerprint(dataset: FerDataset, label_source: str = "fer2013") -> str:
    """12 hex digits naming this data set's faces and labels: results of another data set never apply.

    Hashing 83 MB takes a fraction of a second, and the studio asks on every rerun, so recent answers are kept."""
    key = (id(dataset), id(dataset.images), id(dataset.meta), label_source)
    if key not in _FINGERPRINTS:
        digest = hashlib.sha1(np.ascontiguousarray(dataset.images).tobytes())
        digest.update("\n".join(dataset.meta[label_column_name(label_source)].astype(str)).encode())
        while len(_FINGERPRINTS) >= 4:
            _FINGERPRINTS.pop(next(iter(_FINGERPRINTS)))
        _FINGERPRINTS[key] = (dataset, digest.hexdigest()[:12])
    return _FINGERPRINTS[key][1]


def label_column_name(label_source: str) -> str:
    from core.data.dataset import LABEL_COLUMNS

    return LABEL_COLUMNS[label_source]


def results_dir(dataset: FerDataset, label_source: str = "fer2013") -> Path:
    return data_dir() / "label_issues" / fingerprint(dataset, label_source)


def results_stamp(dataset: FerDataset, label_source: str = "fer2013") -> float:
    """When this data set's label-issue files last changed (0 when there are none): a cache key for the studio."""
    folder = results_dir(dataset, label_source)
    from core.labels.shipped_oof import SHIPPED_OOF

    files = [folder / ISSUES_FILE, folder / JOB_FILE, SHIPPED_OOF]
    return max((f.stat().st_mtime for f in files if f.is_file()), default=0.0)


def fold_configs(base: TrainConfig, folds: int) -> list[TrainConfig]:
    """One config per fold: the same recipe, holding out fold k of `folds`."""
    return [dataclasses.replace(base, folds=folds, fold=k, tta="flip") for k in range(folds)]


def start_job(dataset: FerDataset, base: TrainConfig, folds: int = 5) -> list[str]:
    """Start (or queue) the K fold runs for `dataset`; record them in job.json; return the run ids.

    Re-running resumes: folds already finished are kept, stopped or failed ones resume from their last.pt."""
    from core.training import runner

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
        elif state in ("stopped", "failed"):
            runner.resume(run_id)
    record_job(dataset, ids, base, folds)
    return ids


def record_job(dataset: FerDataset, run_ids: list[str], base: TrainConfig, folds: int) -> Path:
    """Write job.json: which runs hold this data set's folds, and the recipe they share."""
    job = {"runs": run_ids, "folds": folds, "label_source": base.label_source, "classes": list(base.class_names()),
           "config": base.to_dict()}
    path = results_dir(dataset, base.label_source) / JOB_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, lambda handle: json.dump(job, handle, indent=2))
    return path


def folds_done(runs: list[dict]) -> float:
    """How many folds of a job are done, counting a running fold by its progress."""
    return sum(1.0 if run.get("state") == "finished" else float(run.get("progress") or 0) for run in runs)


def job_progress(dataset: FerDataset, label_source: str = "fer2013") -> list[dict] | None:
    """The statuses of this data set's fold runs, or None when no job was started."""
    from core.training import runner

    job_path = results_dir(dataset, label_source) / JOB_FILE
    if not job_path.is_file():
        return None
    runs = {r["id"]: r for r in runner.list_runs()}
    return [runs.get(i, {"id": i, "state": "missing"}) for i in json.loads(job_path.read_text())["runs"]]


def collect_oof(run_ids: list[str], n_images: int, root: Path | None = None) -> tuple[np.ndarray, list[str]]:
    """Assemble the fold runs' heldout.npz files into one (N, C) matrix; every row must be covered once."""
    from core.training.run_folder import HELDOUT

    probs, classes, seen = None, None, np.zeros(n_images, dtype=int)
    for run_id in run_ids:
        with np.load(Path(root or runs_dir()) / run_id / HELDOUT) as part:
            if int(part["n_images"]) != n_images:
                raise ValueError(f"{run_id} was trained on a data set of {int(part['n_images'])} images, not {n_images}")
            classes = classes or [str(c) for c in part["classes"]]
            probs = np.zeros((n_images, len(classes)), dtype=np.float32) if probs is None else probs
            probs[part["rows"]] = part["probs"]
            seen[part["rows"]] += 1
    if probs is None or (seen != 1).any():
        raise ValueError(f"the fold runs cover {(seen == 1).sum()} of {n_images} images once; all must be")
    return probs, classes


def given_labels(dataset: FerDataset, label_source: str, classes: list[str]) -> np.ndarray:
    """Class indices of the given labels (-1 where an image has none in `classes`)."""
    return dataset.class_indices(label_source, tuple(classes))


def score_issues(dataset: FerDataset, probs: np.ndarray, classes: list[str], label_source: str = "fer2013",
                 reference: np.ndarray | None = None) -> pd.DataFrame:
    """One row per labelled image: quality (low = suspect; ranked on the blend with `reference` when given), the
    issue flag and the suggested label (both from the out-of-fold `probs` alone); sorted worst first."""
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores

    labels = given_labels(dataset, label_source, classes)
    rows = np.flatnonzero(labels >= 0)
    ranked = probs if reference is None else (1 - REFERENCE_WEIGHT) * probs + REFERENCE_WEIGHT * reference
    quality = get_label_quality_scores(labels[rows], ranked[rows], method=QUALITY_METHOD)
    # n_jobs=1: cleanlab's default forks a multiprocessing pool, which deadlocks in a process that already runs
    # threads (a training worker resuming on cleaned labels hung here); one process takes about a second anyway
    flagged = find_label_issues(labels[rows], probs[rows], filter_by="prune_by_noise_rate", n_jobs=1)
    meta = dataset.meta.iloc[rows]
    table = pd.DataFrame({
        "row": rows, "image_id": meta["image_id"].to_numpy(), "split": meta["split"].to_numpy(),
        "label": np.asarray(classes, dtype=object)[labels[rows]],
        "suggested": np.asarray(classes, dtype=object)[probs[rows].argmax(axis=1)],
        "quality": quality.astype(np.float32), "is_issue": flagged})
    return table.sort_values(["quality", "row"], kind="stable").reset_index(drop=True)


def cleaned_dataset(dataset: FerDataset, mode: str = "drop", label_source: str = "fer2013") -> FerDataset:
    """A copy with a `cleaned` column: the given labels, with flagged Training images dropped ("") or given the
    suggested label; PublicTest and PrivateTest keep their original labels, as the protocol scores those."""
    table = load_issues(dataset, label_source)
    if table is None:
        raise ValueError("no label issues for this data set yet: run `python -m core label-issues --compute` first")
    flagged = table[table["is_issue"] & (table["split"] == "Training")]
    cleaned = dataset.meta[label_column_name(label_source)].to_numpy(dtype=object).copy()
    cleaned[flagged["row"].to_numpy()] = "" if mode == "drop" else flagged["suggested"].to_numpy(dtype=object)
    return FerDataset(dataset.images, dataset.meta.assign(cleaned=cleaned), {**dataset.info, "cleaning": mode})


def save_issues(dataset: FerDataset, table: pd.DataFrame, label_source: str = "fer2013") -> Path:
    path = results_dir(dataset, label_source) / ISSUES_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, lambda handle: table.to_parquet(handle, index=False), binary=True)
    return path


def load_issues(dataset: FerDataset, label_source: str = "fer2013") -> pd.DataFrame | None:
    """The stored result for this data set; else computed from its finished fold runs, or from the shipped
    out-of-fold probabilities when this is the full FER2013; None when there is nothing yet. A stored result older
    than the shipped file that applies to this data set is computed again (a newer release ranks differently)."""
    from core.labels.shipped_oof import SHIPPED_OOF, read_shipped, shipped_reference

    path = results_dir(dataset, label_source) / ISSUES_FILE
    stale = (path.is_file() and SHIPPED_OOF.is_file() and path.stat().st_mtime < SHIPPED_OOF.stat().st_mtime
             and read_shipped(dataset, label_source) is not None)
    if path.is_file() and not stale:
        return pd.read_parquet(path)
    probs_classes = oof_probabilities(dataset, label_source)
    if probs_classes is None:
        return pd.read_parquet(path) if path.is_file() else None
    probs, classes = probs_classes
    table = score_issues(dataset, probs, classes, label_source, shipped_reference(dataset, label_source, classes))
    save_issues(dataset, table, label_source)
    return table


def oof_probabilities(dataset: FerDataset, label_source: str = "fer2013") -> tuple[np.ndarray, list[str]] | None:
    """Out-of-fold probabilities for every image: from this data set's finished job, else the shipped ones."""
    from core.labels.shipped_oof import shipped_oof

    return finished_job_oof(dataset, label_source) or shipped_oof(dataset, label_source)


def load_consensus(dataset: FerDataset, label_source: str = "fer2013") -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """Multi-annotator consensus (core/labels/consensus.py) over FERPlus's votes and the studio's annotators, with
    the out-of-fold probabilities; computed on each call, since annotators keep labelling. None without them."""
    from core.labels.consensus import consensus
    from core.labels.relabels import RelabelStore

    probs_classes = oof_probabilities(dataset, label_source)
    if probs_classes is None:
        return None
    return consensus(dataset, RelabelStore().labels_by_annotator(), *probs_classes)


def finished_job_oof(dataset: FerDataset, label_source: str) -> tuple[np.ndarray, list[str]] | None:
    progress = job_progress(dataset, label_source)
    if not progress or any(run.get("state") != "finished" for run in progress):
        return None
    return collect_oof([run["id"] for run in progress], len(dataset))
