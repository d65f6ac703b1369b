"""Who started which training run: `owner.json` in the run's folder, so the studio can let annotators stop or
resume their own runs and only admins anyone's."""

from __future__ import annotations

import json
from pathlib import Path

from core.files import write_json
from core.paths import check_run_name, runs_dir

OWNER_FILE = "owner.json"


def owner_file(run_id: str, root: Path | None = None) -> Path:
    return (root or runs_dir()) / check_run_name(run_id) / OWNER_FILE


def record_owner(run_id: str, name: str, root: Path | None = None) -> None:
    write_json(owner_file(run_id, root), {"owner": name})


def run_owner(run_id: str, root: Path | None = None) -> str | None:
    """The account that started the run, or None (started without accounts, or from the command line)."""
    try:
        owner = json.loads(owner_file(run_id, root).read_text()).get("owner")
    except (OSError, ValueError, AttributeError):
        return None
    return owner if isinstance(owner, str) else None
