"""One training run's folder: the only module that knows its file names and formats.

`runs/<id>/` holds config.json (the TrainConfig), metrics.jsonl (a JSON line per epoch and every `print_freq` steps,
with each epoch's first and last), status.json and log.txt (every background job's state and output, named by
`core.job_status`), best.pt (selected on PublicTest), last.pt (what resume continues from), command.txt (the CLI
command that made it), `<checkpoint>_report.json` and `<checkpoint>_confusion_<split>.png` (evaluation of a
checkpoint) and, for a cross-validation run, heldout.npz (the held-out fold's probabilities).
Everything else asks this module.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from core.checkpoint_format import peek_checkpoint
from core.files import write_atomically

CONFIG = "config.json"
METRICS = "metrics.jsonl"
RUN_LOCK = ".run.lock"  # held by a CLI run for as long as it trains into the folder
BEST = "best.pt"
LAST = "last.pt"
COMMAND = "command.txt"
HELDOUT = "heldout.npz"


def report_name(checkpoint: str | Path) -> str:
    """The evaluation report of a checkpoint, written beside it (or under --out): `<stem>_report.json`."""
    return f"{Path(checkpoint).stem}_report.json"


def confusion_name(checkpoint: str | Path, split: str) -> str:
    return f"{Path(checkpoint).stem}_confusion_{split}.png"


def is_run_folder(path: Path) -> bool:
    """A folder is a run once its config is written (symlinks are never runs: they could lead elsewhere)."""
    return not path.is_symlink() and (path / CONFIG).is_file()


class RunFolder:
    """The files of one run."""

    def __init__(self, path: str | Path, create: bool = True):
        self.path = Path(path)
        if create:
            self.path.mkdir(parents=True, exist_ok=True)

    def file(self, name: str) -> Path:
        return self.path / name

    @property
    def config_path(self) -> Path:
        return self.path / CONFIG

    @property
    def best(self) -> Path:
        return self.path / BEST

    @property
    def last(self) -> Path:
        return self.path / LAST

    def save_config(self, config) -> None:
        """config.json, atomically: the runner and the studio read it while a run starts."""
        text = json.dumps(config.to_dict(), indent=2)
        write_atomically(self.config_path, lambda handle: handle.write(text))

    def write_command(self, command: str) -> None:
        (self.path / COMMAND).write_text(command.strip() + "\n")

    def command(self) -> str | None:
        path = self.path / COMMAND
        return path.read_text().strip() if path.is_file() else None

    def log(self, record: dict[str, Any]) -> None:
        with open(self.path / METRICS, "a") as handle:
            handle.write(json.dumps(record) + "\n")

    def records(self, kind: str | None = None) -> list[dict[str, Any]]:
        """The metrics log, optionally only records of one kind ("epoch" or "step"); a torn last line is skipped."""
        log = self.path / METRICS
        records = []
        for line in log.read_text().splitlines() if log.is_file() else []:
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a line being written right now
        return [r for r in records if kind is None or r.get("kind") == kind]

    def report(self, checkpoint: str = BEST) -> dict[str, Any] | None:
        """The evaluation report of one of this run's checkpoints, if it has been written."""
        path = self.path / report_name(checkpoint)
        return json.loads(path.read_text()) if path.is_file() else None

    def confusion(self, split: str, checkpoint: str = BEST) -> Path | None:
        path = self.path / confusion_name(checkpoint, split)
        return path if path.is_file() else None

    def rewind_to_last_checkpoint(self) -> tuple[int, int]:
        """Make metrics.jsonl agree with last.pt before resuming; return the (epoch, step) training continues after.

        A kill can land after last.pt was saved but before its epoch was logged, or after steps that last.pt does
        not hold; a stop mid-epoch logs a partial epoch that the resumed one replaces. So: drop what came after
        last.pt, add its epoch record if it is missing, and the log reads as if the run had never been interrupted.
        """
        payload = peek_checkpoint(self.last)  # the counters and the last record only: no torch, no weights
        at = (payload["training_state"]["next_epoch"], payload["training_state"]["next_step"])
        kept = [r for r in self.records() if happened_before(r, at)]
        last = payload["metrics"]
        if last["epoch"] < at[0] and not any(r.get("kind") == "epoch" and r["epoch"] == last["epoch"] for r in kept):
            kept.append(last)
        lines = [json.dumps(r) + "\n" for r in kept]
        write_atomically(self.path / METRICS, lambda handle: handle.writelines(lines))
        return at


def happened_before(record: dict[str, Any], at: tuple[int, int]) -> bool:
    """Whether a metrics record describes training that last.pt (continuing at epoch, step `at`) holds."""
    if record.get("kind") == "epoch":
        return record["epoch"] < at[0]  # whole epochs only: a partial one is replaced when its epoch ends
    if record.get("kind") == "step":
        return (record["epoch"], record["step"]) <= at
    return True
