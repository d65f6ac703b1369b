"""The `train` and `evaluate` commands. Flags follow the reference projects' (`--data-path`, `--batch-size`,
`--print_freq`)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path

from core.cli.bounds import int_in
from core.cli.config_flags import add_config_flags, config_from_args
from core.data.fer2013 import SPLITS
from core.data.preprocessing import TTA_MODES
from core.paths import runs_dir
from core.run_folder import RunFolder, report_name
from core.training.config import LABEL_SOURCES, TrainConfig

LAUNCHER_FLAGS = ("--nproc-per-node", "--nnodes", "--node-rank", "--master")


def step_printer(config: TrainConfig):
    """A tqdm bar per epoch on a terminal; a plain line every print_freq steps otherwise."""
    if not sys.stderr.isatty():
        return lambda r: print(
            f"epoch {r['epoch']} step {r['step']}/{r['steps']} loss {r['loss']:.4f} lr {r['lr']:.2e}", flush=True
        )
    from tqdm import tqdm

    bars: dict[int, tqdm] = {}

    def show(record: dict) -> None:
        bar = bars.get(record["epoch"])
        if bar is None:
            bar = bars[record["epoch"]] = tqdm(total=record["steps"], desc=f"epoch {record['epoch']}", unit="step")
        bar.update(record["step"] - bar.n)
        bar.set_postfix(loss=f"{record['loss']:.4f}", lr=f"{record['lr']:.2e}")
        if record["step"] == record["steps"]:
            bar.close()

    return show


def cmd_train(args: argparse.Namespace) -> int:
    # lazy: torch, and the label stores, load only for the command that trains
    from core.jobs.cli_run import check_out, claimed_run
    from core.jobs.label_sources import training_data
    from core.jobs.worker import final_evaluation_seconds, progress_reporter
    from core.training.loop import fit
    from core.training.preflight import preflight

    out = Path(args.out or runs_dir() / f"{time.strftime('%Y%m%d-%H%M%S')}-{args.model}")
    if (args.nproc_per_node > 1 or args.nnodes > 1) and "WORLD_SIZE" not in os.environ:
        return launch_distributed(args, out)
    rank = int(os.environ.get("RANK", "0"))
    if rank == 0:
        check_out(out, args.resume)  # first: a folder holding a run, or none to resume, is refused before anything
    config = (
        TrainConfig.load(RunFolder(out, create=False).config_path)
        if args.resume
        else config_from_args(args, TrainConfig)
    )
    preflight(config)
    dataset = training_data(config)
    if rank != 0:  # rank 0 alone writes files
        record = {}
        for record in fit(config, out, dataset=dataset, resume=args.resume):  # noqa: B007 (the last one is kept)
            pass
        print_digest(record, rank)
        return 0
    with claimed_run(out, args.resume, config.device) as evaluating:  # refuses a folder that holds a run
        if args.resume:
            epoch, step = RunFolder(out).rewind_to_last_checkpoint()  # the log then holds each step once
            print(f"resuming from last.pt: epoch {epoch}, step {step + 1}", flush=True)
        print(f"training {config.short()} into {out}", flush=True)
        RunFolder(out).write_command("python -m core " + " ".join(args.argv))
        final: dict[str, float] = {}  # the evaluation after training, once an epoch measured its pace (the ETA)
        printer, status = step_printer(config), progress_reporter(out, config, threading.Event(), final)
        record = {}
        for record in fit(config, out, dataset=dataset, on_step=lambda r: (printer(r), status(r)), resume=args.resume):
            print(epoch_line(record, config.epochs), flush=True)
            final["seconds"] = final_evaluation_seconds(record, config)
        print_digest(record, rank)
        evaluating()
        return report(RunFolder(out).best, list(SPLITS), None, None, out, dataset=dataset)


def print_digest(record: dict, rank: int) -> None:
    """Distributed runs: each rank's weights digest, which must agree across ranks."""
    if "weights_sha1" in record:
        print(f"rank {rank} weights sha1 {record['weights_sha1']}", flush=True)


def epoch_line(record: dict, epochs: int) -> str:
    public = f"{record['public_accuracy']:.4f}" if record["public_accuracy"] is not None else "-"
    return (
        f"epoch {record['epoch']}/{epochs}: train loss {record['train_loss']:.4f} "
        f"acc {record['train_accuracy']:.4f} | PublicTest acc {public} | {record['seconds']:.0f} s"
        + (" | best" if record["best"] else "")
        + (" | stopped" if record["stopped"] else "")
    )


def launch_distributed(args: argparse.Namespace, out: Path) -> int:
    """Re-run this same command under torchrun, minus the launcher flags, with one --out for every rank."""
    from core.training.distributed import launch_torchrun

    argv, items = [], iter(args.argv)
    for item in items:
        if item.split("=", 1)[0] in LAUNCHER_FLAGS:
            if "=" not in item:
                next(items, None)  # and its value
            continue
        argv.append(item)
    if args.out is None:
        argv += ["--out", str(out)]
    return launch_torchrun(args.nproc_per_node, args.nnodes, args.node_rank, args.master, argv)


def cmd_evaluate(args: argparse.Namespace) -> int:
    dataset = None
    if args.exclude_leaks:
        from core.audit.leak_free import leak_free
        from core.data.loading import load_training_dataset
        from core.jobs.label_sources import scoring_data

        loaded = load_training_dataset(str(args.data_path) if args.data_path else None)
        dataset, left_out = leak_free(scoring_data(args.checkpoint, args.label_source, loaded), args.audit)
        if not args.json:
            print(f"left out {left_out:,} test images with a copy in Training (python -m core audit)")
    return report(
        args.checkpoint,
        [args.split] if args.split else list(SPLITS),
        args.tta,
        args.data_path,
        args.out,
        as_json=args.json,
        labels=args.label_source,
        dataset=dataset,
    )


def report(
    checkpoint: Path,
    splits: list[str],
    tta: str | None,
    data_path: Path | None,
    out: Path | None,
    as_json: bool = False,
    labels: str | None = None,
    dataset=None,
) -> int:
    """Evaluate, print the reference-style table (or JSON); the report and confusion PNGs are written (report.py).
    `dataset`: the data with the labels the checkpoint is scored on (else read from `data_path` or the import)."""
    # lazy: torch loads only for the commands that evaluate
    from core.data.loading import load_training_dataset
    from core.evaluation.metrics import reference_table
    from core.evaluation.report import write_report
    from core.jobs.label_sources import scoring_data

    if dataset is None:
        dataset = scoring_data(checkpoint, labels, load_training_dataset(str(data_path)) if data_path else None)
    result, folder = write_report(checkpoint, splits, tta=tta, dataset=dataset, out=out, labels=labels)
    if as_json:
        print(json.dumps(result, indent=2))
    else:
        trained = f" (trained on {result['trained_on']})" if result["trained_on"] != result["label_source"] else ""
        print(
            f"{checkpoint}: {result['model']}, {len(result['classes'])} classes, {result['label_source']} "
            f"labels{trained}, tta {result['tta']}"
        )
        print(reference_table(result["reports"]))
        print(f"confusion matrices and {report_name(checkpoint)} written to {folder}")
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    from core.evaluation.model_card import calibrate_shipped

    report = calibrate_shipped(args.checkpoint)
    print(f"{args.checkpoint}: temperature {report['temperature']:.3f} (fitted on PublicTest), tta {report['tta']}")
    for split, split_report in report["reports"].items():
        calibration = split_report["calibration"]
        print(
            f"  {split}: ECE {calibration['ece_before']:.4f} -> {calibration['ece']:.4f}, "
            f"NLL {calibration['nll_before']:.4f} -> {calibration['nll']:.4f}"
        )
    return 0


def cmd_ship(args: argparse.Namespace) -> int:
    from core.evaluation.model_card import ship

    target = ship(args.run_dir, args.name)
    print(f"shipped {target} with its model card {target.with_suffix('.md')}")
    return 0


def cmd_ship_int8(args: argparse.Namespace) -> int:
    from core.evaluation.model_card import ship_int8

    target = ship_int8(args.checkpoint)
    print(f"shipped {target} with its card {target.with_suffix('.md')}")
    return 0


def add_train_commands(commands) -> None:
    p = commands.add_parser("train", help="train a model (writes config.json, metrics.jsonl, best.pt, last.pt)")
    add_config_flags(p, TrainConfig)  # every TrainConfig field: --batch-size, --no-augment, --model-option ...
    p.add_argument("--out", type=Path, help="run folder (default runs/<time>-<model>)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last.pt")
    p.add_argument(
        "--nproc-per-node",
        type=int_in(1, 1024),
        default=1,
        help="processes per machine (GPUs, or CPU workers); >1 launches torchrun with DistributedDataParallel",
    )
    p.add_argument("--nnodes", type=int_in(1, 1024), default=1, help="machines taking part (multi-node)")
    p.add_argument("--node-rank", type=int_in(0, 1023), default=0, help="this machine's index among --nnodes")
    p.add_argument("--master", default="127.0.0.1:29500", help="ADDRESS:PORT of node 0 (multi-node)")
    p.set_defaults(run=cmd_train)

    p = commands.add_parser("ship", help="(maintainers) copy a run's best.pt to checkpoints/ with a model card")
    p.add_argument("--run", dest="run_dir", type=Path, required=True, help="the run folder (runs/<id>)")
    p.add_argument("--name", required=True, help="file name in checkpoints/ (NAME.pt, NAME.md)")
    p.set_defaults(run=cmd_ship)

    p = commands.add_parser(
        "ship-int8", help="(maintainers) write CHECKPOINT's int8 ONNX version and its card beside it"
    )
    p.add_argument("--checkpoint", type=Path, required=True)
    p.set_defaults(run=cmd_ship_int8)

    p = commands.add_parser(
        "calibrate",
        help="fit temperature scaling on PublicTest and store it in the checkpoint (and its model card, if it has one)",
    )
    p.add_argument("--checkpoint", type=Path, required=True)
    p.set_defaults(run=cmd_calibrate)

    p = commands.add_parser("evaluate", help="evaluate a checkpoint: reference-style table and confusion matrices")
    p.add_argument("--checkpoint", type=Path, required=True)
    p.add_argument("--split", choices=SPLITS, help="one split (default: all three)")
    p.add_argument("--tta", choices=TTA_MODES, help="default: what the checkpoint records")
    p.add_argument("--data-path", type=Path, help="evaluate on this data instead of the checkpoint's")
    p.add_argument(
        "--out",
        type=Path,
        help="where to write the report and PNGs (default: beside a run's "
        "checkpoint; for shipped ones <data>/reports/NAME)",
    )
    p.add_argument(
        "--labels",
        "--label-source",
        dest="label_source",
        choices=LABEL_SOURCES,
        help="score on these labels of the same images instead of the checkpoint's own (e.g. ferplus: "
        "the FERPlus majority; images labelled outside the model's classes are left out)",
    )
    p.add_argument(
        "--exclude-leaks",
        action="store_true",
        help="score only test images without a copy (exact or near) in Training, as `python -m core audit` finds them",
    )
    p.add_argument(
        "--audit",
        type=Path,
        help="with --exclude-leaks: the audit folder to read (default: the data set's, or one run now)",
    )
    p.add_argument("--json", action="store_true", help="print the full report as JSON")
    p.set_defaults(run=cmd_evaluate)
