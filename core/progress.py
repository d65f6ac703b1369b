"""Progress reporting that long work accepts without knowing who shows it (tqdm, Streamlit, nothing)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")
# track(items, total, description) -> the same items, reporting progress as they are consumed.
ProgressCallback = Callable[[Iterable[T], int, str], Iterable[T]]


def no_progress(items: Iterable[T], total: int, description: str) -> Iterable[T]:
    """Report nothing."""
    return items


def tqdm_progress(items: Iterable[T], total: int, description: str) -> Iterator[T]:
    """A tqdm bar on a terminal; plain start/end lines when stderr is not a terminal (logs, CI)."""
    from tqdm import tqdm

    if sys.stderr.isatty():
        yield from tqdm(items, total=total, desc=description, unit="img", dynamic_ncols=True)
        return
    print(f"{description}: {total} items ...", file=sys.stderr, flush=True)
    yield from items
    print(f"{description}: done", file=sys.stderr, flush=True)
