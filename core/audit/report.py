"""The audit of a data set: duplicate groups (exact, perceptual hash, model features), leaks from Training into
the test splits, image problems; run in one pass, written to a folder, and read back by the studio and the CLI.

The folder (`audit_dir`, one per imported data set) holds rows.parquet (one row per image: its groups, leak flag,
statistics and problems), groups.parquet (one row per duplicate group) and summary.json (the counts and the
settings they were found with).
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.audit.duplicates import NO_GROUP, exact_pairs, group_ids, group_table
from core.audit.hashing import near_hash_pairs, perceptual_hashes, pixel_digests
from core.audit.leaks import leak_counts, leaked_rows
from core.audit.problems import find_problems, image_statistics, precision_recall, problem_counts
from core.data.dataset import FerDataset
from core.files import write_atomically, write_json
from core.paths import data_dir
from core.progress import ProgressCallback, no_progress

ROWS, GROUPS, SUMMARY = "rows.parquet", "groups.parquet", "summary.json"
DEFAULT_HAMMING = 6  # pHash bits that may differ between near copies
DEFAULT_COSINE = 0.97  # feature cosine similarity at which two faces count as near copies


@dataclass(frozen=True)
class AuditSettings:
    hamming: int = DEFAULT_HAMMING
    cosine: float = DEFAULT_COSINE
    checkpoint: str | None = None  # whose features join near copies too (None: hashes only)


@dataclass
class Audit:
    rows: pd.DataFrame
    groups: pd.DataFrame
    summary: dict[str, Any]


def audit_dir(dataset: FerDataset, root: Path | None = None) -> Path:
    """Where the audit of `dataset` lives: one folder per imported data set (the sample has its own)."""
    key = f"{dataset.info.get('created')}:{len(dataset)}:{dataset.is_sample}"
    return Path(root or data_dir()) / "audit" / hashlib.sha1(key.encode()).hexdigest()[:16]


def run_audit(
    dataset: FerDataset,
    settings: AuditSettings = AuditSettings(),
    track: ProgressCallback = no_progress,
    features: np.ndarray | None = None,
) -> Audit:
    """Audit every image of `dataset`; `features` (N, D), when given, also join faces of cosine >= settings.cosine."""
    began = time.perf_counter()
    images, meta, n = dataset.images, dataset.meta, len(dataset)
    digests = pixel_digests(images)
    exact = exact_pairs(digests)
    hashes = perceptual_hashes(images, track)
    near = [exact, near_hash_pairs(hashes, settings.hamming)]
    if features is not None:
        from core.audit.embeddings import cosine_pairs

        near.append(cosine_pairs(features, settings.cosine, track))
    exact_ids, hash_ids = group_ids(n, [exact]), group_ids(n, near[:2])
    near_ids = hash_ids if features is None else group_ids(n, near)
    statistics = image_statistics(images, track)
    problems = find_problems(dataset, statistics)
    splits = meta["split"].astype(str).to_numpy()
    leaked, leaked_exact = leaked_rows(splits, near_ids), leaked_rows(splits, exact_ids)
    rows = pd.DataFrame(
        {
            "row": np.arange(n),
            "image_id": meta["image_id"].astype(str).to_numpy(),
            "split": splits,
            "phash": [f"{h:016x}" for h in hashes],
            "exact_group": exact_ids,
            "hash_group": hash_ids,
            "near_group": near_ids,
            "leak": leaked,
            "leak_exact": leaked_exact,
        }
    )
    rows = pd.concat([rows, statistics, problems], axis=1)
    groups = group_table(dataset, near_ids)
    summary = summarise(dataset, rows, groups, settings, features is not None)
    summary["seconds"] = round(time.perf_counter() - began, 2)
    return Audit(rows, groups, summary)


def summarise(
    dataset: FerDataset, rows: pd.DataFrame, groups: pd.DataFrame, settings: AuditSettings, used_features: bool
) -> dict[str, Any]:
    """The counts `python -m core audit --json` prints."""

    def grouped(column: str) -> dict[str, int]:
        ids = rows[column].to_numpy()
        images = int((ids != NO_GROUP).sum())
        count = len(np.unique(ids[ids != NO_GROUP]))
        return {"groups": count, "images": images, "extra_copies": images - count}

    splits = rows["split"].to_numpy()
    summary = {
        "images": len(rows),
        "settings": {**asdict(settings), "checkpoint": settings.checkpoint if used_features else None},
        "duplicates": {
            "exact": grouped("exact_group"),
            "near_hash": grouped("hash_group"),
            "near": grouped("near_group"),
            "conflicting_groups": int(groups["conflict"].sum()) if len(groups) else 0,
        },
        "leaks": leak_counts(splits, rows["leak"].to_numpy()),
        "leaks_exact": leak_counts(splits, rows["leak_exact"].to_numpy()),
        "problems": problem_counts(rows),
    }
    if dataset.has_ferplus:  # the 176 FER2013 images that all ten FERPlus voters called not a face
        truth = dataset.meta["votes_NF"].to_numpy() >= 10
        from core.audit.problems import pixel_problems

        summary["not_a_face_check"] = precision_recall(pixel_problems(rows), truth)
    return summary


def save_audit(audit: Audit, folder: Path) -> Path:
    """Write the audit's three files into `folder`, each atomically."""
    folder.mkdir(parents=True, exist_ok=True)
    write_atomically(folder / ROWS, lambda handle: audit.rows.to_parquet(handle, index=False), binary=True)
    write_atomically(folder / GROUPS, lambda handle: audit.groups.to_parquet(handle, index=False), binary=True)
    write_json(folder / SUMMARY, audit.summary)
    return folder


def load_audit(folder: Path) -> Audit | None:
    """The audit written in `folder`, or None when there is none (yet)."""
    if not (folder / SUMMARY).is_file():
        return None
    return Audit(
        pd.read_parquet(folder / ROWS), pd.read_parquet(folder / GROUPS), json.loads((folder / SUMMARY).read_text())
    )
