"""The `audit` command: duplicates, leaks between splits and image problems of the current data set."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from core.progress import tqdm_progress


def cmd_audit(args: argparse.Namespace) -> int:
    from core.audit.report import AuditSettings, audit_dir, run_audit, save_audit
    from core.data.store import load_dataset

    dataset = load_dataset(args.data_dir)
    features = None
    if args.checkpoint:
        from core.audit.embeddings import dataset_features

        features = dataset_features(dataset, args.checkpoint, track=tqdm_progress)
    settings = AuditSettings(
        hamming=args.hamming, cosine=args.cosine, checkpoint=str(args.checkpoint) if args.checkpoint else None
    )
    audit = run_audit(dataset, settings, track=tqdm_progress, features=features)
    folder = save_audit(audit, Path(args.out) if args.out else audit_dir(dataset, args.data_dir))
    summary = audit.summary
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    duplicates, leaks, problems = summary["duplicates"], summary["leaks"], summary["problems"]
    print(f"{summary['images']:,} images audited in {summary['seconds']:.1f} s; written to {folder}")
    for name, counts in duplicates.items():
        if isinstance(counts, dict):
            print(
                f"  {name:<10} {counts['groups']:>6,} groups, {counts['images']:>6,} images "
                f"({counts['extra_copies']:,} beyond the first of each group)"
            )
    print(f"  {duplicates['conflicting_groups']:,} groups whose labels conflict")
    print(
        "  leaked into the test splits (a near copy in Training): "
        + ", ".join(f"{split} {count:,}" for split, count in leaks.items())
    )
    print("  image problems: " + ", ".join(f"{name} {count:,}" for name, count in problems.items()))
    return 0


def add_audit_commands(commands) -> None:
    from core.audit.report import DEFAULT_COSINE, DEFAULT_HAMMING

    p = commands.add_parser(
        "audit",
        help="find duplicates, leaks between splits and image problems; writes the "
        "groups and a summary to <data>/audit/",
    )
    p.add_argument(
        "--hamming",
        type=int,
        default=DEFAULT_HAMMING,
        help="perceptual-hash bits (of 64) that may differ between near copies",
    )
    p.add_argument(
        "--cosine",
        type=float,
        default=DEFAULT_COSINE,
        help="feature cosine similarity from which two faces are near copies (with --checkpoint)",
    )
    p.add_argument(
        "--checkpoint",
        type=Path,
        help="also join faces whose penultimate features (of this model) are this similar (computed once and cached)",
    )
    p.add_argument("--out", type=Path, help="folder to write to (default: <data>/audit/<data set>)")
    p.add_argument("--json", action="store_true", help="print the counts as JSON")
    p.set_defaults(run=cmd_audit)
