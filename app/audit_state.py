"""The data audit as the pages share it: read once per audit written (core/audit), None until one ran."""

from __future__ import annotations

import streamlit as st

from app.state import current_dataset


@st.cache_resource(show_spinner="Reading the data audit ...", max_entries=2)
def cached_audit(folder: str, stamp: float):
    from pathlib import Path

    from core.audit.report import load_audit
    from core.audit.signs import audit_flags

    audit = load_audit(Path(folder))
    return None if audit is None else (audit, audit_flags(audit))


def current_audit():
    """(Audit, AuditFlags) of the current data set, or None when it was not audited (or the audit is stale)."""
    from core.audit.report import SUMMARY, audit_dir

    dataset = current_dataset()
    folder = audit_dir(dataset)
    summary = folder / SUMMARY
    if not summary.is_file():
        return None
    found = cached_audit(str(folder), summary.stat().st_mtime)
    return found if found is not None and len(found[0].rows) == len(dataset) else None


def current_audit_flags():
    found = current_audit()
    return None if found is None else found[1]


def selected_rows() -> tuple[int, ...]:
    """Rows picked on the map, from the URL (`?rows=3,17,42`); malformed entries are dropped."""
    text = st.query_params.get("rows", "")
    return tuple(int(part) for part in text.split(",") if part.strip().isdigit())


def show_group(dataset, audit, group: int) -> None:
    """A duplicate group side by side: each face with its row, split and labels, and whether the labels conflict."""
    import numpy as np

    from core.audit.duplicates import group_members

    members = group_members(audit.rows["near_group"].to_numpy(), group)
    record = audit.groups.set_index("group").loc[group]
    st.markdown(
        f"**Group {group}**: {len(members)} images in {record['splits']}; FER2013 labels "
        f"{record['labels'] or '(none)'}"
        + (f", FERPlus {record['ferplus']}" if record["ferplus"] else "")
        + (" · **the labels conflict**" if record["conflict"] else "")
    )
    meta = dataset.meta
    with st.container(key="audit_group"):
        for start in range(0, len(members), 6):
            for cell, row in zip(st.columns(6), members[start : start + 6]):
                ferplus = f" · FERPlus {meta['ferplus'].iat[row] or '-'}" if dataset.has_ferplus else ""
                cell.image(
                    np.asarray(dataset.images[row]),
                    width="stretch",
                    caption=f"#{row} · {meta['split'].iat[row]} · {meta['label'].iat[row]}{ferplus}",
                )
