"""The process behind one training run: `python -m core.jobs.worker RUN_DIR [--resume]`.

It waits for its turn on the device (first queued, first served), trains with `fit`, keeps status.json up to
date (progress, ETA), hands training the labels its config names (`label_sources`), turns SIGTERM into a graceful
stop, and records why it failed when it does. It runs in its
own session, so the app that started it can be killed (or ctrl-C'd) without taking the run with it.
"""

from __future__ import annotations

import argparse
import signal
import threading
import time
import traceback
from contextlib import contextmanager
from pathlib import Path

from core.data.fer2013 import SPLITS
from core.device import resolve_device  # torch loads inside it: after the SIGTERM handler
from core.files import exclusive_lock
from core.job_status import (
    EVALUATING,
    FAILED,
    FINISHED,
    HELDOUT,
    QUEUED,
    RUNNING,
    STATUS,
    STOPPED,
    TRAINING,
    Eta,
    is_alive,
    merge_status,
    queued_at,
    read_status,
    status_lock,
    stopped_while_queued,
    update_status,
)
from core.run_folder import RunFolder
from core.training.config import TrainConfig


def device_key(name: str) -> str:
    """One name per physical device, so "auto", "cpu" and "cuda" vs "cuda:0" share one queue."""
    device = resolve_device(name)
    return "cpu" if device.type == "cpu" else f"{device.type}:{device.index or 0}"


def my_turn(run: Path, queue: str) -> bool:
    """True when no live run queued before this one waits for the same device (or has yet to say which)."""
    mine = queued_at(read_status(run))
    for other in run.parent.iterdir():
        if other == run or not (other / STATUS).is_file():
            continue
        theirs = read_status(other)
        if (
            theirs.get("state") == QUEUED
            and theirs.get("queue") in (None, queue)
            and is_alive(theirs)
            and queued_at(theirs) < mine
        ):
            return False
    return True


@contextmanager
def device_turn(run: Path, queue: str, stop: threading.Event):
    """Hold the device's lock file for the duration of the run; waits while others go first.

    It polls rather than blocks on the lock, so a stop or an earlier-queued run is noticed while waiting."""
    lock = run.parent / f".device-{queue.replace(':', '-')}.lock"
    while not stop.is_set():
        if read_status(run).get("stop_requested"):  # asked before this process could be signalled
            stop.set()
        elif my_turn(run, queue):
            with exclusive_lock(lock, wait=0) as had:
                if had:
                    yield True
                    return
        time.sleep(0.5)
    yield False


def final_evaluation_seconds(record: dict, config: TrainConfig) -> float:
    """The evaluation after training, estimated from an epoch's PublicTest evaluation: every split's images, each
    in as many views as the checkpoint's test-time augmentation."""
    from core.data.preprocessing import tta_views  # lazy, as the other imports that may bring torch: after SIGTERM

    per_image = record.get("eval_seconds_per_image") or 0.0
    return per_image * record.get("images", 0) * len(tta_views(config.input_size or 48, config.tta))


def progress_reporter(run: Path, config: TrainConfig, stop: threading.Event, final: dict[str, float]):
    """An on_step callback that writes progress and an ETA to status.json: the training left plus the final
    evaluation (`final["seconds"]`, once an epoch measured it); none once a stop was asked."""
    eta = Eta()

    def report(record: dict) -> None:
        done = (record["epoch"] - 1) * record["steps"] + record["step"]
        progress = eta.report(done, config.epochs * record["steps"])
        if stop.is_set():
            progress["eta_seconds"] = None
        elif progress["eta_seconds"] is not None:
            progress["eta_seconds"] = round(progress["eta_seconds"] + final.get("seconds", 0))
        update_status(
            run, epoch=record["epoch"], step=record["step"], steps=record["steps"], loss=record["loss"], **progress
        )

    return report


def train(run: Path, config: TrainConfig, resume: bool, stop: threading.Event) -> str:
    """Train, then evaluate best.pt on every split; return the final state."""
    # lazy: torch loads after the SIGTERM handler is in place (a stop during the imports is kept)
    from core.evaluation.report import write_report
    from core.jobs.label_sources import training_data  # pandas, cleanlab's scores
    from core.training.cross_validation import write_heldout
    from core.training.loop import fit

    if resume:
        epoch, step = RunFolder(run).rewind_to_last_checkpoint()
        print(f"resuming from last.pt: epoch {epoch}, step {step + 1}", flush=True)
    update_status(run, state=RUNNING, phase=TRAINING, started=time.time(), reason=None)
    dataset = training_data(config)
    stopped, final = False, {}
    for record in fit(
        config,
        run,
        dataset=dataset,
        on_step=progress_reporter(run, config, stop, final),
        should_stop=stop.is_set,
        resume=resume,
    ):
        print(
            f"epoch {record['epoch']}/{config.epochs}: train acc {record['train_accuracy']:.4f} "
            f"PublicTest acc {record['public_accuracy']}",
            flush=True,
        )
        stopped = record["stopped"]
        final["seconds"] = final_evaluation_seconds(record, config)
    if stopped:
        return STOPPED
    update_status(
        run,
        phase=HELDOUT if config.folds else EVALUATING,
        eta_seconds=None if config.folds else round(final.get("seconds", 0)) or None,
    )
    if config.folds:  # cross-validation: the held-out fold's probabilities are the result
        write_heldout(run, config, dataset)
        return FINISHED
    write_report(RunFolder(run).best, list(SPLITS), dataset=dataset, out=run)
    return FINISHED


def stop_while_queued(run: Path) -> None:
    """Mark a run that never started as stopped, unless something else (kill) already ended it."""
    with status_lock(run):
        if read_status(run).get("state") == QUEUED:
            merge_status(run, stopped_while_queued())


def main(argv: list[str] | None = None) -> int:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())  # first: a stop during the slow imports is kept
    parser = argparse.ArgumentParser(prog="python -m core.jobs.worker", description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--resume", action="store_true")
    args = parser.parse_args(argv)
    config = TrainConfig.load(RunFolder(args.run, create=False).config_path)
    queue = device_key(config.device)
    update_status(args.run, queue=queue)
    with device_turn(args.run, queue, stop) as ready:
        if not ready:
            stop_while_queued(args.run)
            return 0
        try:
            state = train(args.run, config, args.resume, stop)
            update_status(args.run, state=state, phase=state, finished=time.time(), eta_seconds=None)
        except Exception as exc:  # the reason goes to status.json, the traceback to log.txt
            traceback.print_exc()
            update_status(
                args.run,
                state=FAILED,
                phase=FAILED,
                finished=time.time(),
                eta_seconds=None,
                reason=f"{type(exc).__name__}: {exc}",
            )
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
