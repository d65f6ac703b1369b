"""The process behind one training run: `python -m core.worker RUN_DIR [--resume]`.

It waits for its turn on the device (first queued, first served), trains with `fit`, keeps status.json up to
date (progress, ETA), turns SIGTERM into a graceful stop, and records why it failed when it does.
"""
from __future__ import annotations

import argparse
import fcntl
import signal
import threading
import time
import traceback
from contextlib import contextmanager
from pathlib import Path

from core.config import TrainConfig
from core.fer2013 import SPLITS
from core.runner import ACTIVE, is_alive, read_status, update_status
from core.train import fit, resolve_device


def my_turn(run: Path, device: str) -> bool:
    """True when no live run on the same device was queued before this one."""
    mine = queued_at(read_status(run))
    for other in run.parent.iterdir():
        if other == run or not (other / "status.json").is_file():
            continue
        theirs = read_status(other)
        if theirs.get("state") == "queued" and theirs.get("device") == device and is_alive(theirs) \
                and queued_at(theirs) < mine:
            return False
    return True


def queued_at(status: dict) -> float:
    """When a run joined the queue: a resumed run queues anew, a new one when it was created."""
    return status.get("queued") or status.get("created", 0)


@contextmanager
def device_turn(run: Path, device: str, stop: threading.Event):
    """Hold the device's lock file for the duration of the run; waits while others go first."""
    with open(run.parent / f".device-{device.replace(':', '-')}.lock", "w") as lock:
        while not stop.is_set():
            if my_turn(run, device):
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    pass
            time.sleep(0.5)
        yield not stop.is_set()


def progress_reporter(run: Path, config: TrainConfig):
    """An on_step callback that writes progress and an ETA (from the pace since the first report) to status.json."""
    first: dict[str, float] = {}

    def report(record: dict) -> None:
        done = (record["epoch"] - 1) * record["steps"] + record["step"]
        total = config.epochs * record["steps"]
        first.setdefault("done", done)
        first.setdefault("time", time.time())
        pace = (time.time() - first["time"]) / (done - first["done"]) if done > first["done"] else None
        update_status(run, epoch=record["epoch"], step=record["step"], steps=record["steps"], progress=done / total,
                      eta_seconds=round(pace * (total - done)) if pace else None, loss=record["loss"])
    return report


def train(run: Path, config: TrainConfig, resume: bool, stop: threading.Event) -> str:
    """Train, then evaluate best.pt on every split; return the final state."""
    from core.cli_train import report

    started = time.time()
    update_status(run, state="running", started=started, reason=None)
    stopped = False
    for record in fit(config, run, on_step=progress_reporter(run, config), should_stop=stop.is_set,
                      resume=resume):
        print(f"epoch {record['epoch']}/{config.epochs}: train acc {record['train_accuracy']:.4f} "
              f"PublicTest acc {record['public_accuracy']}", flush=True)
        stopped = record["stopped"]
    if stopped:
        return "stopped"
    report(run / "best.pt", list(SPLITS), None, None, run)
    return "finished"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.worker", description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--resume", action="store_true")
    args = parser.parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    config = TrainConfig.load(args.run / "config.json")
    device = str(resolve_device(config.device))
    with device_turn(args.run, read_status(args.run).get("device", device), stop) as ready:
        if not ready:
            update_status(args.run, state="stopped", finished=time.time(), reason="stopped while queued")
            return 0
        try:
            state = train(args.run, config, args.resume, stop)
            update_status(args.run, state=state, finished=time.time())
        except Exception as exc:  # the reason goes to status.json, the traceback to log.txt
            traceback.print_exc()
            update_status(args.run, state="failed", finished=time.time(), reason=f"{type(exc).__name__}: {exc}")
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
