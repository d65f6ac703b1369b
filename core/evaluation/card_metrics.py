"""Accuracy per split read from a checkpoint's model card (`NAME.md` beside it), for checkpoints that ship with a
card but no evaluation report (the shipped ones, and the int8 files whose card compares them with fp32).

Two table shapes are read: `| | Training Set | Public Test Set | Private Test Set |` with an `Accuracy Score` row
(the heading above names the variant), and `| split | <variant> | ... |` whose cells are percentages.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from core.data.fer2013 import SPLITS

SET_NAMES = {"Training Set": "Training", "Public Test Set": "PublicTest", "Private Test Set": "PrivateTest"}


def variant(heading: str) -> str:
    """A card heading as a short column name: "Metrics with `flip` test-time augmentation (the default ...)" is
    "flip", "Metrics without test-time augmentation" is "no TTA"."""
    text = re.sub(r"\(.*?\)|`", "", heading).replace("Metrics", "").strip()
    if text.startswith("without"):
        return "no TTA"
    return re.sub(r"^with\s+|\s*test-time augmentation$", "", text).strip() or heading


def cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def number(text: str) -> float | None:
    """ "0.7144" or "71.44%" as a share; None for anything else."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(%?)", text.replace("**", "").strip())
    if match is None:
        return None
    value = float(match.group(1))
    return value / 100 if match.group(2) else value


def card_accuracy(checkpoint: str | Path) -> pd.DataFrame | None:
    """One row per split (in split order), one column per variant the card reports ("without test-time
    augmentation", "int8, flip", ...), accuracy as a share; None without a card or an accuracy table."""
    card = Path(checkpoint).with_suffix(".md")
    if not card.is_file():
        return None
    found: dict[str, dict[str, float]] = {}  # variant -> split -> accuracy
    heading, header = "", None
    for line in card.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("#"):
            heading, header = variant(line.lstrip("#").strip()), None
        elif not line.strip().startswith("|"):
            header = None
        elif header is None:
            header = cells(line)
        elif set(line.replace("|", "").strip()) <= set("-: "):
            continue  # the separator row
        else:
            row = cells(line)
            if row[0] == "Accuracy Score":
                for name, text in zip(header[1:], row[1:]):
                    if name in SET_NAMES and number(text) is not None:
                        found.setdefault(heading, {})[SET_NAMES[name]] = number(text)
            elif header[0].lower() == "split" and row[0] in SPLITS:
                for name, text in zip(header[1:], row[1:]):
                    if text.strip().endswith("%") and number(text) is not None:
                        found.setdefault(name, {})[row[0]] = number(text)
    if not found:
        return None
    table = pd.DataFrame(found).reindex([s for s in SPLITS if any(s in v for v in found.values())])
    return table.rename_axis("split").reset_index()
