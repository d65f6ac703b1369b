"""Benchmark: the data audit and the map job on an import, with the naive ways as baselines in the same run.

    FER_DATA_DIR=/path/to/an/import python bench/bench_audit.py [--sample 4000] [--map-sample 2000] [--out DIR]

Times (wall and this process's CPU): the whole audit (hashes; no model features), written to --out (default a
temporary folder, so a read-only import stays untouched); the batched pHash against imagehash's per-image `phash`
on --sample faces; multi-index Hamming search against every pair compared, on the same hashes; and, for the map job,
the penultimate features and the UMAP layout of --map-sample faces (the full map job: --map-sample 0).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from core.audit.hashing import near_hash_pairs, near_hash_pairs_naive, perceptual_hashes  # noqa: E402
from core.audit.report import AuditSettings, run_audit, save_audit  # noqa: E402
from core.data.store import load_dataset  # noqa: E402
from core.paths import CHECKPOINTS_DIR  # noqa: E402


def timed(work):
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=2000, help="faces for the pHash baseline")
    parser.add_argument("--pair-sample", type=int, default=8000, help="hashes for the all-pairs Hamming baseline")
    parser.add_argument("--map-sample", type=int, default=2000, help="faces for the map job (0: all)")
    parser.add_argument("--checkpoint", type=Path, default=CHECKPOINTS_DIR / "fer2013_fernet.pt")
    parser.add_argument("--out", type=Path, help="where to write the audit (default: a temporary folder)")
    args = parser.parse_args()
    dataset = load_dataset(fallback_to_sample=False)
    print(f"{len(dataset):,} images; CPU time is this process's (the machine may be shared)")

    audit, wall, cpu = timed(lambda: run_audit(dataset, AuditSettings()))
    with tempfile.TemporaryDirectory() as scratch:
        save_audit(audit, args.out or Path(scratch))
    counts = audit.summary["duplicates"]
    print(
        f"audit (hashes, statistics, groups): {wall:.1f} s wall, {cpu:.1f} s CPU; exact groups "
        f"{counts['exact']['groups']:,}, near groups {counts['near']['groups']:,}, leaks {audit.summary['leaks']}"
    )

    rows = np.random.default_rng(0).choice(len(dataset), min(args.sample, len(dataset)), replace=False)
    faces = np.asarray(dataset.images[np.sort(rows)])
    import imagehash
    from PIL import Image

    _, naive_wall, _ = timed(lambda: [imagehash.phash(Image.fromarray(face)) for face in faces])
    hashes, batched_wall, _ = timed(lambda: perceptual_hashes(faces))
    print(
        f"pHash of {len(faces):,} faces: imagehash one by one {naive_wall:.2f} s, batched {batched_wall:.2f} s "
        f"({naive_wall / batched_wall:.1f}x)"
    )
    every = np.array([int(text, 16) for text in audit.rows["phash"]], dtype=np.uint64)
    threshold = AuditSettings().hamming
    some = every[np.random.default_rng(1).choice(len(every), min(args.pair_sample, len(every)), replace=False)]
    pairs, naive_wall, _ = timed(lambda: near_hash_pairs_naive(some, threshold))
    _, index_wall, _ = timed(lambda: near_hash_pairs(some, threshold))
    _, full_wall, _ = timed(lambda: near_hash_pairs(every, threshold))
    print(
        f"near pairs (Hamming <= {threshold}) among {len(some):,} hashes: every pair compared {naive_wall:.2f} s, "
        f"multi-index {index_wall:.3f} s ({naive_wall / index_wall:.1f}x; {len(pairs)} pairs); "
        f"multi-index on all {len(every):,}: {full_wall:.2f} s"
    )

    from core.audit.embeddings import compute_features
    from core.audit.face_map import layout

    count = len(dataset) if args.map_sample == 0 else min(args.map_sample, len(dataset))
    subset = dataset.images[:count]
    features, feature_wall, _ = timed(lambda: compute_features(subset, args.checkpoint))
    _, layout_wall, _ = timed(lambda: layout(features))
    print(
        f"map job on {count:,} faces ({args.checkpoint.name}): features {feature_wall:.1f} s "
        f"({count / feature_wall:.0f} faces/s), UMAP layout {layout_wall:.1f} s (includes numba's first compile)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
