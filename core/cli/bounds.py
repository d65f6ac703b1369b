"""argparse types for the numeric flags that are not TrainConfig fields: a whole number within bounds, so a bad
value is argparse's own one-line usage error (exit 2), like a malformed flag."""

from __future__ import annotations

import argparse
from collections.abc import Callable


def int_in(low: int, high: int) -> Callable[[str], int]:
    """An argparse `type` accepting whole numbers in [low, high]."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is outside {low}..{high:,}")
        return value

    return parse
