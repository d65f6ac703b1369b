"""Benchmark: a bulk label of 48 faces (Browse's "Label 48 selected") against 48 single labels, in the label store.

    python bench/bench_bulk_relabel.py [--faces 48] [--history 20000] [--repeats 7]

Works on a fresh store in a temporary folder that first receives `--history` single label events (a store that has
seen a day of labelling), then times `RelabelStore.relabel_many` of `--faces` images (one transaction, fsync'd once)
and, as the baseline, `--faces` calls of `relabel` (one transaction each, as the Relabel keys write), and one
`undo` of the whole batch. Prints the median and max of each and the ratio.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.data.classes import FER2013_CLASSES  # noqa: E402
from core.labels.relabels import RelabelStore  # noqa: E402


def timed(work) -> float:
    began = time.perf_counter()
    work()
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=int, default=48)
    parser.add_argument("--history", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        store = RelabelStore(Path(folder) / "labels.sqlite")
        with store.transaction() as connection:  # the history, quickly: one transaction
            connection.executemany(
                "INSERT INTO events (image_id, old_label, new_label, annotator, time, kind) VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (
                        f"fer{i % 35887:07d}",
                        None,
                        FER2013_CLASSES[i % 7],
                        f"a{i % 5}",
                        "2026-12-03T00:00:00+00:00",
                        "label",
                    )
                    for i in range(args.history)
                ],
            )
        bulk, single, undo = [], [], []
        for repeat in range(args.repeats):
            ids = [f"fer{(repeat * args.faces + i) * 7 % 35887:07d}" for i in range(args.faces)]
            bulk.append(timed(lambda: store.relabel_many(ids, "happy", "bench")))
            undo.append(timed(lambda: store.undo("bench")))
            single.append(timed(lambda: [store.relabel(i, "sad", "bench-single") for i in ids]))
    cpu = platform.processor() or platform.machine()
    print(f"{args.faces} faces, store with {args.history:,} earlier events, {args.repeats} repeats ({cpu})")
    for name, times in (
        ("bulk label (one transaction)", bulk),
        (f"{args.faces} single labels", single),
        ("undo of the bulk label", undo),
    ):
        print(f"  {name:32s} median {statistics.median(times) * 1000:8.1f} ms   max {max(times) * 1000:8.1f} ms")
    print(f"  single / bulk: {statistics.median(single) / statistics.median(bulk):.1f}x")


if __name__ == "__main__":
    main()
