"""The audit's findings as per-row flags for the Browse filters and the Relabel queue."""

from __future__ import annotations

import numpy as np

from core.audit.problems import PROBLEM_NAMES, PROBLEMS
from core.audit.report import Audit
from core.data.filters import AuditFlags


def audit_flags(audit: Audit) -> AuditFlags:
    """Group, conflicting-copy flag and problem names per row of the audited data set."""
    rows, groups = audit.rows, audit.groups
    group = rows["near_group"].to_numpy(dtype=np.int64)
    conflicting = groups.loc[groups["conflict"].astype(bool), "group"].to_numpy(dtype=np.int64)
    table = np.stack(
        [np.where(rows[name].to_numpy(dtype=bool), shown, "") for name, shown in zip(PROBLEMS, PROBLEM_NAMES)], axis=1
    ).astype(object)
    return AuditFlags(group, (group >= 0) & np.isin(group, conflicting), table)
