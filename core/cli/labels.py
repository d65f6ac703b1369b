"""The `label-issues` command: start the cross-validated label-error job, then list what it found."""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

from core.cli.bounds import int_in
from core.data.store import load_dataset
from core.evaluation.label_finder import precision_markdown, precision_table
from core.job_status import ACTIVE, ENDED_EARLY, FINISHED, RUNNING
from core.jobs import label_issues
from core.jobs.label_issues import DEFAULT_FOLDS, DEFAULT_RECIPE
from core.labels import issues
from core.labels.shipped_oof import shipped_reference
from core.options import parse_option
from core.training.config import LABEL_SOURCES, MAX_EPOCHS, MAX_FOLDS


def cmd_label_issues(args: argparse.Namespace) -> int:
    dataset = load_dataset(args.data_dir)
    if args.compute:
        return start(dataset, args)
    if args.consensus:
        return print_consensus(dataset, args)
    if args.ship:
        from core.jobs.ship_oof import ship_oof  # lazy: torch, for the reference model's probabilities

        print(f"shipped {ship_oof(dataset, args.label_source)} with its card")
        return 0
    table = label_issues.load_issues(dataset, args.label_source)
    if table is None:
        return report_progress(label_issues.job_progress(dataset, args.label_source))
    if args.precision:
        return print_precision(dataset, table, args.label_source)
    top = table.head(args.top)[list(issues.ISSUE_COLUMNS)]
    if args.out:
        top.to_csv(args.out, index=False)
        print(f"wrote the {len(top):,} lowest-quality labels to {args.out}")
    else:
        print(top.to_string(index=False, float_format=lambda q: f"{q:.4f}"))
    print(f"{int(table['is_issue'].sum()):,} of {len(table):,} labels flagged as issues", file=sys.stderr)
    return 0


def start(dataset, args: argparse.Namespace) -> int:
    recipe, model = DEFAULT_RECIPE, args.model or DEFAULT_RECIPE.model
    options = dict(parse_option(o) for o in args.model_option)  # the recipe's options belong to its model only
    options = options or (dict(recipe.model_options) if model == recipe.model else {})
    base = dataclasses.replace(
        recipe,
        model=model,
        model_options=options,
        classes=args.classes,
        label_source=args.label_source,
        epochs=args.epochs or recipe.epochs,
        device=args.device,
    )
    ids = label_issues.start_job(dataset, base, folds=args.folds)
    print(f"started {len(ids)} fold runs (one at a time per device): {', '.join(ids)}")
    if not args.wait:
        print("they run in the background; `python -m core label-issues` shows progress, then the result")
        return 0
    return wait_for(dataset, args.label_source)


def wait_for(dataset, label_source: str) -> int:
    from tqdm import tqdm

    with tqdm(total=100, unit="%", desc="cross-validation") as bar:
        while True:
            runs = label_issues.job_progress(dataset, label_source) or []
            done = label_issues.folds_done(runs)
            bar.update(round(100 * done / max(len(runs), 1)) - bar.n)
            if any(r.get("state") in (*ENDED_EARLY, label_issues.MISSING) for r in runs):
                return report_progress(runs)
            if runs and all(r.get("state") == FINISHED for r in runs):
                return 0
            time.sleep(5)


def report_progress(runs: list[dict] | None) -> int:
    if runs is None:
        print(
            "no label-issue result for this data set yet: start one with `python -m core label-issues --compute`",
            file=sys.stderr,
        )
        return 1
    for run in runs:
        progress = f" {100 * float(run.get('progress') or 0):.0f}%" if run.get("state") == RUNNING else ""
        print(f"{run['id']}: {run.get('state')}{progress}" + (f" ({run['reason']})" if run.get("reason") else ""))
    return 0 if all(r.get("state") in (*ACTIVE, FINISHED) for r in runs) else 1


def print_precision(dataset, table, label_source: str) -> int:
    found = label_issues.oof_probabilities(dataset, label_source)
    if found is None:
        print(
            "scoring the ranking needs its out-of-fold probabilities: the fold runs are gone; run "
            "`python -m core label-issues --compute` again",
            file=sys.stderr,
        )
        return 1
    probs, classes = found
    reference = shipped_reference(dataset, label_source, classes)
    if reference is None:
        from core.jobs.ship_oof import reference_model_probabilities  # lazy: torch, to run the reference model

        baseline = reference_model_probabilities(dataset)[0]
    else:
        baseline = reference
    oof_only = None if reference is None else issues.score_issues(dataset, probs, classes, label_source)
    labels = issues.given_labels(dataset, label_source, classes)
    print(precision_markdown(precision_table(dataset, table, baseline, labels, oof_only)))
    return 0


def print_consensus(dataset, args: argparse.Namespace) -> int:
    found = label_issues.load_consensus(dataset, args.label_source)
    if found is None:
        return report_progress(None)
    images, annotators = found
    print(annotators.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    if args.out:
        images.to_csv(args.out, index=False)
        print(f"wrote the consensus label and its quality for {len(images):,} images to {args.out}")
    return 0


def add_label_commands(commands) -> None:
    p = commands.add_parser("label-issues", help="find wrong labels: cross-validated models + confident learning")
    p.add_argument("--compute", action="store_true", help="start the K-fold job (background runs, resumable)")
    p.add_argument("--folds", type=int_in(2, MAX_FOLDS), default=DEFAULT_FOLDS)
    p.add_argument("--model", help=f"the architecture each fold trains (default {DEFAULT_RECIPE.model})")
    p.add_argument(
        "--model-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=f"model options (default {DEFAULT_RECIPE.model_options})",
    )
    p.add_argument("--epochs", type=int_in(1, MAX_EPOCHS), help=f"epochs per fold (default {DEFAULT_RECIPE.epochs})")
    p.add_argument("--classes", default="fer7")
    p.add_argument(
        "--label-source",
        "--labels",
        dest="label_source",
        default="fer2013",
        choices=LABEL_SOURCES,
        help="the labels to check",
    )
    p.add_argument("--device", default="auto", help="auto (a GPU when there is one), cpu, cuda, cuda:1 ...")
    p.add_argument("--wait", action="store_true", help="with --compute: show a progress bar until the folds finish")
    p.add_argument(
        "--top", type=int_in(1, 10_000_000), default=50, help="how many of the lowest-quality labels to list"
    )
    p.add_argument("--out", type=Path, help="write the listed rows to this CSV")
    p.add_argument(
        "--consensus",
        action="store_true",
        help="multi-annotator consensus (FERPlus votes + the studio's "
        "annotators, CROWDLAB): annotator quality; per-image consensus with --out",
    )
    p.add_argument(
        "--ship",
        action="store_true",
        help="(maintainers) ship the finished out-of-fold probabilities to checkpoints/ with a card",
    )
    p.add_argument(
        "--precision",
        action="store_true",
        help="score the ranking against the FERPlus majority (FER2013 with FERPlus votes only)",
    )
    p.set_defaults(run=cmd_label_issues)
