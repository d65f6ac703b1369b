"""Benchmark: reading FER2013. Our numpy parser vs a per-value Python loop, and the store vs the csv.

    python bench/bench_read.py [--csv ../shared/data/fer2013/fer2013.csv.gz] [--rows 5000]

Prints seconds and ratios against the baselines measured in the same run (machines are noisy).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from core.data.dataset import build_fer2013_dataset
from core.data.fer2013 import file_line, parse_pixels, read_csv_columns
from core.data.store import load_dataset, save_dataset
from core.paths import shared_data_dir


def seconds(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def python_loop_parse(texts) -> np.ndarray:
    """What a straightforward script does: int() per value, one list per row."""
    return np.array([[int(v) for v in t.split()] for t in texts], dtype=np.uint8).reshape(-1, 48, 48)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", type=Path, default=shared_data_dir() / "fer2013" / "fer2013.csv.gz")
    parser.add_argument("--ferplus", type=Path, default=shared_data_dir() / "fer2013" / "fer2013new.csv")
    parser.add_argument("--rows", type=int, default=5000, help="rows for the parser comparison")
    args = parser.parse_args()

    texts = read_csv_columns(args.csv, ("pixels",))["pixels"].to_numpy()[: args.rows]
    ours = seconds(lambda: [parse_pixels(t, path=args.csv, line=file_line(i)) for i, t in enumerate(texts)])
    loop = seconds(lambda: python_loop_parse(texts))
    print(
        f"pixel parsing, {len(texts)} rows: numpy {ours:.2f} s, python loop {loop:.2f} s "
        f"-> numpy is {loop / ours:.1f}x faster"
    )

    holder = {}
    full = seconds(lambda: holder.setdefault("ds", build_fer2013_dataset(args.csv, args.ferplus)))
    with tempfile.TemporaryDirectory() as tmp:
        save_dataset(holder["ds"], Path(tmp))
        store = seconds(lambda: load_dataset(Path(tmp), fallback_to_sample=False))
        touch = seconds(lambda: np.asarray(load_dataset(Path(tmp), fallback_to_sample=False).images).sum())
    print(f"full read of {len(holder['ds']):,} rows (fer2013 + FERPlus csv): {full:.2f} s")
    print(
        f"load from the store: {store * 1000:.0f} ms open, {touch * 1000:.0f} ms open + read every pixel "
        f"-> {full / touch:.0f}x faster than the csv"
    )


if __name__ == "__main__":
    main()
