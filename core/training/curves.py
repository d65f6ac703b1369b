"""A run's training curves as tables, read from its metrics log: the loss every `print_freq` steps and the epoch
records, both on one x axis of fractional epochs (epoch 1 runs from 0 to 1), so a partial epoch sits where it ended."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from core.run_folder import RunFolder


def fractional_epoch(record: dict) -> float:
    """Where a record sits on the x axis: `epoch - 1 + step / steps` (a whole epoch ends at `epoch`)."""
    if not record.get("steps"):  # an epoch record from before epochs logged their steps
        return float(record["epoch"])
    return record["epoch"] - 1 + record["step"] / record["steps"]


def step_curve(run: str | Path) -> pd.DataFrame:
    """The running training loss of every step record: columns x (fractional epoch) and train_loss."""
    records = RunFolder(run, create=False).records("step")
    return pd.DataFrame({"x": [fractional_epoch(r) for r in records], "train_loss": [r["loss"] for r in records]})


def epoch_curve(run: str | Path) -> pd.DataFrame:
    """The epoch records with x (fractional epoch) and partial (stopped mid-epoch: not a full epoch's numbers)."""
    records = RunFolder(run, create=False).records("epoch")
    frame = pd.DataFrame(records)
    if frame.empty:
        return frame
    partial = frame["stopped"].fillna(False).astype(bool) if "stopped" in frame else False
    return frame.assign(x=[fractional_epoch(r) for r in records], partial=partial)
