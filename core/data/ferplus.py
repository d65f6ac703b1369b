"""FERPlus votes (fer2013new.csv): reading them, and the labels derived from them.

The majority rule is Microsoft's (FERPlus `majority` mode): single votes are dropped as outliers, a class
needs more than half of the remaining votes, and images whose winner is `unknown` or `NF` are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.data.classes import FERPLUS_CLASSES, FERPLUS_VOTE_COLUMNS, vote_column_name
from core.data.fer2013 import SPLITS, parse_codes, read_csv_columns
from core.errors import DataError

N_EMOTIONS = len(FERPLUS_CLASSES)  # the first 8 vote columns; then unknown and NF (not a face)
NOT_FACE_COLUMN = FERPLUS_VOTE_COLUMNS.index("NF")
MAX_VOTES = np.iinfo(np.int16).max
WHOLE_NUMBER = r"[0-9]+"  # ASCII digits only: str.isdigit() also takes '²' and other scripts' digits


@dataclass
class FerPlusVotes:
    """Vote counts of the FERPlus annotators, one row per fer2013.csv row (joined on row order)."""

    votes: np.ndarray  # (N, 10) int16 over FERPLUS_VOTE_COLUMNS
    usage: np.ndarray  # (N,) str
    path: str
    lines: np.ndarray  # (N,) each row's line in the file, for error messages


def read_ferplus(path: str | Path) -> FerPlusVotes:
    """Read fer2013new.csv; the `Image name` column is not trusted (blank and repeated names occur)."""
    frame = read_csv_columns(path, ("Usage",) + FERPLUS_VOTE_COLUMNS)
    usage = parse_codes(frame["Usage"], SPLITS, what="Usage", path=path).astype(str)
    cells = frame[list(FERPLUS_VOTE_COLUMNS)].apply(lambda col: col.str.strip())
    numeric = cells.apply(lambda col: col.str.fullmatch(WHOLE_NUMBER)).to_numpy(dtype=bool)
    if not numeric.all():
        row, col = (int(i[0]) for i in np.nonzero(~numeric))
        raise DataError(
            f"vote count {FERPLUS_VOTE_COLUMNS[col]}={cells.iat[row, col]!r} is not a whole number >= 0",
            path=path,
            line=int(frame.index[row]),
        )
    too_long = cells.apply(lambda col: col.str.len() > 5).to_numpy(dtype=bool)  # before int64 could overflow
    votes = np.where(too_long, MAX_VOTES + 1, cells.mask(too_long, "0").to_numpy(dtype=str).astype(np.int64))
    if votes.max() > MAX_VOTES:
        row = int(np.nonzero(votes > MAX_VOTES)[0][0])
        raise DataError("vote count is implausibly large", path=path, line=int(frame.index[row]))
    return FerPlusVotes(votes=votes.astype(np.int16), usage=usage, path=str(path), lines=frame.index.to_numpy())


def majority_labels(votes: np.ndarray) -> np.ndarray:
    """Microsoft's majority label per row as an index into FERPLUS_CLASSES, or -1 (dropped)."""
    kept = np.where(votes > 1, votes, 0).astype(np.float64)  # one vote alone is an outlier
    winner = kept.argmax(axis=1)
    has_majority = kept.max(axis=1) > 0.5 * kept.sum(axis=1)
    return np.where(has_majority & (winner < N_EMOTIONS), winner, -1)


def majority_outcome(votes: np.ndarray) -> np.ndarray:
    """Each row's winner under the same rule, with unknown and NF kept: a class name, "unknown", "not a face", or
    "" where no column has a majority (what a page shows for the images `majority_labels` drops)."""
    votes = np.atleast_2d(votes)
    kept = np.where(votes > 1, votes, 0).astype(np.float64)
    names = np.array([vote_column_name(c) for c in FERPLUS_VOTE_COLUMNS] + [""])
    has_majority = kept.max(axis=1) > 0.5 * kept.sum(axis=1)
    return names[np.where(has_majority, kept.argmax(axis=1), len(FERPLUS_VOTE_COLUMNS))]


def vote_distribution(votes: np.ndarray) -> np.ndarray:
    """Soft labels: each row's emotion votes (unknown and NF left out) as shares summing to 1, or all 0."""
    emotion = votes[:, :N_EMOTIONS].astype(np.float32)
    total = emotion.sum(axis=1, keepdims=True)
    return np.divide(emotion, total, out=np.zeros_like(emotion), where=total > 0)


def agreement(votes: np.ndarray) -> np.ndarray:
    """Share of each row's votes (all ten columns) that went to its most voted column."""
    total = votes.sum(axis=1).astype(np.float32)
    return np.divide(votes.max(axis=1).astype(np.float32), total, out=np.zeros_like(total), where=total > 0)


def check_aligned(votes: FerPlusVotes, usage: np.ndarray, fer_path: str) -> None:
    """FERPlus rows must line up with fer2013.csv rows: same count, same split on every row."""
    if len(votes.usage) != len(usage):
        raise DataError(
            f"has {len(votes.usage)} rows but {fer_path} has {len(usage)}; the files are joined row "
            "by row, so they must have the same number of rows",
            path=votes.path,
        )
    mismatch = np.flatnonzero(votes.usage != usage)
    if mismatch.size:
        row = int(mismatch[0])
        raise DataError(
            f"Usage {votes.usage[row]!r} does not match {usage[row]!r} in {fer_path} on the same row; "
            "the files are not aligned",
            path=votes.path,
            line=int(votes.lines[row]),
        )


def fleiss_kappa(votes: np.ndarray) -> float:
    """Fleiss' kappa of the annotators over all ten columns, on rows with the usual 10 votes.

    Rows with another number of votes are left out: kappa assumes the same number of raters per item.
    """
    counts = votes.astype(np.float64)
    raters = counts.sum(axis=1)
    counts = counts[raters == 10]
    if len(counts) == 0:
        return float("nan")
    n = 10.0
    agreement_per_item = ((counts * (counts - 1)).sum(axis=1)) / (n * (n - 1))
    shares = counts.sum(axis=0) / counts.sum()
    expected = float((shares**2).sum())
    return float((agreement_per_item.mean() - expected) / (1 - expected))


def consensus_shares(votes: np.ndarray) -> dict[str, float]:
    """Shares of images that are unanimous, have a (non-unanimous) majority label, or have none (Microsoft's rule)."""
    labels = majority_labels(votes)
    unanimous = (votes.max(axis=1) == votes.sum(axis=1)) & (labels >= 0)
    return {
        "unanimous": float(unanimous.mean()),
        "majority": float(((labels >= 0) & ~unanimous).mean()),
        "no majority": float((labels < 0).mean()),
    }
