"""The process behind one training run: `python -m core.training.worker RUN_DIR [--resume]`.

It waits for its turn on the device (first queued, first served), trains with `fit`, keeps status.json up to
date (progress, ETA), turns SIGTERM into a graceful stop, and records why it failed when it does. It runs in its
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

from core.files import exclusive_lock
from core.training.config import TrainConfig
from core.training.run_folder import STATUS, RunFolder
from core.training.runner import (EVALUATING, HELDOUT, TRAINING, is_alive, merge_status, queued_at, read_status,
                                  status_lock, stopped_while_queued, update_status)


def device_key(name: str) -> str:
    """One name per physical device, so "auto", "cpu" and "cuda" vs "cuda:0" share one queue."""
    from core.training.loop import resolve_device  # torch: imported after the SIGTERM handler is in place

    device = resolve_device(name)
    return "cpu" if device.type == "cpu" else f"{device.type}:{device.index or 0}"


def my_turn(run: Path, queue: str) -> bool:
    """True when no live run queued before this one waits for the same device (or has yet to say which)."""
    mine = queued_at(read_status(run))
    for other in run.parent.iterdir():
        if other == run or not (other / STATUS).is_file():
            continue
        theirs = read_status(other)
        if theirs.get("state") == "queued" and theirs.get("queue") in (None, queue) and is_alive(theirs) \
                and queued_at(theirs) < mine:
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
    from core.data.preprocessing import tta_views

    per_image = record.get("eval_seconds_per_image") or 0.0
    return per_image * record.get("images", 0) * len(tta_views(config.input_size or 48, config.tta))


def progress_reporter(run: Path, config: TrainConfig, stop: threading.Event, final: dict[str, float]):
    """An on_step callback that writes progress and an ETA (from the pace since the first report, plus the final
    evaluation `final["seconds"]` once an epoch measured it; none once a stop was asked) to status.json."""
    first: dict[str, float] = {}

    def report(record: dict) -> None:
        done = (record["epoch"] - 1) * record["steps"] + record["step"]
        total = config.epochs * record["steps"]
        first.setdefault("done", done)
        first.setdefault("time", time.time())
        pace = (time.time() - first["time"]) / (done - first["done"]) if done > first["done"] else None
        pace = None if stop.is_set() else pace
        update_status(run, epoch=record["epoch"], step=record["step"], steps=record["steps"], progress=done / total,
                      eta_seconds=round(pace * (total - done) + final.get("seconds", 0)) if pace else None,
                      loss=record["loss"])
    return report


def train(run: Path, config: TrainConfig, resume: bool, stop: threading.Event) -> str:
    """Train, then evaluate best.pt on every split; return the final state."""
    from core.data.fer2013 import SPLITS
    from core.evaluation.report import write_report
    from core.training.loop import fit

    if resume:
        epoch, step = RunFolder(run).rewind_to_last_checkpoint()
        print(f"resuming from last.pt: epoch {epoch}, step {step + 1}", flush=True)
    update_status(run, state="running", phase=TRAINING, started=time.time(), reason=None)
    stopped, final = False, {}
    for record in fit(config, run, on_step=progress_reporter(run, config, stop, final), should_stop=stop.is_set,
                      resume=resume):
        print(f"epoch {record['epoch']}/{config.epochs}: train acc {record['train_accuracy']:.4f} "
              f"PublicTest acc {record['public_accuracy']}", flush=True)
        stopped = record["stopped"]
        final["seconds"] = final_evaluation_seconds(record, config)
    if stopped:
        return "stopped"
    update_status(run, phase=HELDOUT if config.folds else EVALUATING,
                  eta_seconds=None if config.folds else round(final.get("seconds", 0)) or None)
    if config.folds:  # cross-validation: the held-out fold's probabilities are the result
        from core.training.cross_validation import write_heldout
        write_heldout(run, config)
        return "finished"
    write_report(RunFolder(run).best, list(SPLITS), out=run)
    return "finished"


def stop_while_queued(run: Path) -> None:
    """Mark a run that never started as stopped, unless something else (kill) already ended it."""
    with status_lock(run):
        if read_status(run).get("state") == "queued":
            merge_status(run, stopped_while_queued())


def main(argv: list[str] | None = None) -> int:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())  # first: a stop during the slow imports is kept
    parser = argparse.ArgumentParser(prog="python -m core.training.worker", description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--resume", action="store_true")
    args = parser.parse_args(argv)
    config = RunFolder(args.run, create=False).load_config()
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
            update_status(args.run, state="failed", phase="failed", finished=time.time(), eta_seconds=None,
                          reason=f"{type(exc).__name__}: {exc}")
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
