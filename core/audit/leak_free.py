"""The test images without a copy in Training: what `evaluate --exclude-leaks` scores a checkpoint on."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.audit.report import AuditSettings, audit_dir, load_audit, run_audit
from core.data.dataset import FerDataset


def leak_free(dataset: FerDataset, audit_folder: Path | None = None) -> tuple[FerDataset, int]:
    """`dataset` without its leaked test images, and how many were left out. The audit saved for the data set
    (or in `audit_folder`) is used when it matches the data set's images; otherwise one is run here (hashes)."""
    audit = load_audit(Path(audit_folder) if audit_folder else audit_dir(dataset))
    ids = dataset.meta["image_id"].astype(str).to_numpy()
    if audit is None or len(audit.rows) != len(dataset) or not np.array_equal(audit.rows["image_id"].to_numpy(), ids):
        if audit_folder:
            raise ValueError(f"{audit_folder} holds no audit of this data set; run `python -m core audit` first")
        audit = run_audit(dataset, AuditSettings())
    leaked = audit.rows["leak"].to_numpy(dtype=bool)
    return dataset.subset(np.flatnonzero(~leaked)), int(leaked.sum())
