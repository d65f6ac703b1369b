"""The prepared GPU run: pack the data here, then on a lent GPU machine train ensemble members and a distilled
student in bf16 with the data on the device, check the studio's runner on `cuda` and a one-GPU torchrun (NCCL),
and bring the checkpoints back through $OUT. docs/gpu.md says how to launch it.

    python bench/gpu_run.py pack [--out gpu_data/fer2013_pack.npz]        # here, once (an ignored path)
    python bench/gpu_run.py run --data gpu_data/fer2013_pack.npz --out "$OUT" [--minutes 8] [--tiny]

The pack holds Training as JPEG strips (quality 90: the device tool carries at most 64 MiB with the repo, and the
raw faces are 83 MB; a mean error of about 2 grey levels) and PublicTest lossless, for selection; PrivateTest stays
here and the checkpoints are scored on the real import after they come back. `--tiny` runs every step for seconds
on the CPU with tiny settings, which is what the test does.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from core.data.dataset import FerDataset  # noqa: E402

STRIP = 1024  # faces per JPEG strip: 48 rows each, so every 8x8 block stays inside one face
QUALITY = 90
MAX_PACK_MB = 36  # 64 MiB carried, less the repository
MAX_FILES, MAX_FILE_MB = 8, 16  # what comes back from $OUT


def encode_strips(images: np.ndarray, quality: int = QUALITY) -> tuple[np.ndarray, np.ndarray]:
    """(bytes, offsets): faces stacked vertically into JPEG strips of STRIP faces."""
    from PIL import Image

    chunks = []
    for start in range(0, len(images), STRIP):
        buffer = io.BytesIO()
        Image.fromarray(np.ascontiguousarray(images[start : start + STRIP].reshape(-1, 48))).save(
            buffer, "JPEG", quality=quality
        )
        chunks.append(np.frombuffer(buffer.getvalue(), np.uint8))
    return np.concatenate(chunks), np.cumsum([0] + [len(c) for c in chunks])


def decode_strips(data: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    from PIL import Image

    strips = [
        np.asarray(Image.open(io.BytesIO(data[a:b].tobytes())).convert("L")) for a, b in zip(offsets[:-1], offsets[1:])
    ]
    return np.concatenate(strips).reshape(-1, 48, 48)


def pack(dataset: FerDataset, out: Path, quality: int = QUALITY, max_mb: float = MAX_PACK_MB) -> Path:
    """Training (JPEG) and PublicTest (lossless) faces with their metadata in one compressed .npz."""
    split = dataset.meta["split"].to_numpy()
    train, public = np.flatnonzero(split == "Training"), np.flatnonzero(split == "PublicTest")
    data, offsets = encode_strips(np.asarray(dataset.images)[train], quality)
    meta = dataset.meta.iloc[np.concatenate([train, public])].reset_index(drop=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        out,
        train_jpeg=data,
        train_offsets=offsets,
        public=np.asarray(dataset.images)[public],
        meta=np.frombuffer(meta.to_json(orient="split").encode(), np.uint8),
        info=np.frombuffer(json.dumps(dataset.info, default=str).encode(), np.uint8),
    )
    size = out.stat().st_size / 2**20
    if size > max_mb:
        out.unlink()
        raise ValueError(f"the pack is {size:.1f} MiB, over {max_mb} MiB: lower --quality")
    return out


def unpack(path: Path) -> FerDataset:
    import pandas as pd

    with np.load(path) as pack_file:
        images = np.concatenate(
            [decode_strips(pack_file["train_jpeg"], pack_file["train_offsets"]), pack_file["public"]]
        )
        meta = pd.read_json(io.StringIO(pack_file["meta"].tobytes().decode()), orient="split")
        info = json.loads(pack_file["info"].tobytes().decode())
    return FerDataset(images, meta, {**info, "packed": str(path)})


class Step:
    """One timed step of the run, recorded in summary.json whatever happens."""

    def __init__(self, summary: dict, name: str) -> None:
        self.summary, self.name = summary, name

    def __enter__(self) -> Step:
        self.start = time.perf_counter()
        return self

    def __exit__(self, kind, error, trace) -> bool:
        record = {"seconds": round(time.perf_counter() - self.start, 1), "ok": error is None}
        if error is not None:
            record["error"] = f"{kind.__name__}: {error}"
        self.summary["steps"][self.name] = {**self.summary["steps"].get(self.name, {}), **record}
        print(f"[{self.name}] {'ok' if error is None else record['error']} in {record['seconds']} s", flush=True)
        return True  # the next steps still run: one failure must not cost the rest of the lease


def train(config, out: Path, dataset: FerDataset, deadline: float) -> dict:
    """fit() in this process until done or `deadline` (monotonic seconds); the last epoch record."""
    from core.training.loop import fit

    records = list(fit(config, out, dataset=dataset, should_stop=lambda: time.monotonic() > deadline))
    best = max(
        (r for r in records if r["public_accuracy"] is not None),
        key=lambda r: r["public_accuracy"],
        default=records[-1],
    )
    return {"epochs": len(records), "best_public": best["public_accuracy"], "last": records[-1]["epoch"]}


def run(args: argparse.Namespace) -> dict:
    import torch

    from core.data.store import save_dataset
    from core.ensemble_format import write_ensemble
    from core.training.config import TrainConfig

    out, work = Path(args.out), Path(args.work)
    out.mkdir(parents=True, exist_ok=True)
    device = "cuda" if torch.cuda.is_available() and not args.tiny else "cpu"
    summary = {
        "device": torch.cuda.get_device_name(0) if device == "cuda" else "cpu",
        "torch": torch.__version__,
        "tiny": args.tiny,
        "steps": {},
    }
    end = time.monotonic() + args.minutes * 60
    with Step(summary, "unpack"):
        dataset = unpack(Path(args.data))
        save_dataset(dataset, work / "data")  # the runner and torchrun read the import, as in the studio
        os.environ["FER_DATA_DIR"] = str(work / "data")
    small = (
        dict(model_options={"width": 0.25}, epochs=1, max_steps_per_epoch=2, batch_size=16)
        if args.tiny
        else dict(epochs=args.epochs, batch_size=args.batch_size, lr=0.1)
    )
    common = dict(device=device, amp="bf16" if device == "cuda" else "off", tta="flip", **small)
    # a share of the time left for each remaining training: members first, the student last
    trainings = [(f"member{seed}", TrainConfig(seed=seed, **common)) for seed in range(args.members)]
    members = []
    for index, (name, config) in enumerate(trainings):
        with Step(summary, name):
            share = (end - time.monotonic() - 60) / (len(trainings) - index + 1)
            summary["steps"][name] = train(config, work / name, dataset, time.monotonic() + share)
            members.append(work / name / "best.pt")
    with Step(summary, "student"):
        ensemble = write_ensemble(work / "members.ensemble.json", members)
        student = TrainConfig(teacher=str(ensemble), **{**common, "seed": 100})
        summary["steps"]["student"] = train(student, work / "student", dataset, end - 60)
    with Step(summary, "runner"):
        summary["steps"]["runner"] = runner_check(device, args.tiny)
    with Step(summary, "torchrun"):
        summary["steps"]["torchrun"] = torchrun_check(device, work, args.tiny)
    for name in [n for n, _ in trainings] + ["student"]:
        best = work / name / "best.pt"
        if best.is_file() and best.stat().st_size < MAX_FILE_MB * 2**20:
            shutil.copyfile(best, out / f"{name}.pt")
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary


def runner_check(device: str, tiny: bool) -> dict:
    """The studio's runner (a background worker process) trains on `device` with bf16 autocast on CUDA."""
    from core.jobs import runner
    from core.training.config import TrainConfig

    config = TrainConfig(
        model_options={"width": 0.25},
        epochs=1,
        max_steps_per_epoch=2 if tiny else 20,
        batch_size=16 if tiny else 256,
        device=device,
        amp="bf16" if device == "cuda" else "off",
    )
    run_id = runner.start_run(config)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        status = runner.refresh_status(run_id)
        if status.get("state") in ("finished", "failed", "stopped"):
            return {"state": status["state"], "run": run_id}
        time.sleep(1)
    runner.kill(run_id)
    return {"state": "timeout", "run": run_id}


def torchrun_check(device: str, work: Path, tiny: bool) -> dict:
    """`python -m core train --nproc-per-node 1` (torchrun; NCCL on CUDA, gloo on the CPU) for a few steps."""
    command = [
        sys.executable,
        "-m",
        "core",
        "train",
        "--nproc-per-node",
        "1",
        "--device",
        device,
        "--epochs",
        "1",
        "--max-steps-per-epoch",
        "3",
        "--batch-size",
        "16",
        "--model-option",
        "width=0.25",
        "--out",
        str(work / "torchrun"),
    ]
    done = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    return {
        "returncode": done.returncode,
        "tail": (done.stdout + done.stderr)[-400:],
        "best": (work / "torchrun" / "best.pt").is_file(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("pack", help="pack the imported data set for the device (here)")
    p.add_argument("--out", type=Path, default=REPO_ROOT / "gpu_data" / "fer2013_pack.npz")
    p.add_argument("--quality", type=int, default=QUALITY)
    p = commands.add_parser("run", help="train and check on the device; files land in --out")
    p.add_argument("--data", type=Path, default=REPO_ROOT / "gpu_data" / "fer2013_pack.npz")
    p.add_argument("--out", type=Path, required=True, help="$OUT on the device")
    p.add_argument("--work", type=Path, default=Path("/tmp/gpu_run"))
    p.add_argument("--minutes", type=float, default=8.5, help="wall-clock budget (a command may run 10)")
    p.add_argument("--members", type=int, default=3)
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--tiny", action="store_true", help="seconds on the CPU with tiny settings (the test)")
    args = parser.parse_args(argv)
    if args.command == "pack":
        from core.data.store import load_dataset

        made = pack(load_dataset(fallback_to_sample=False), args.out, args.quality)
        print(f"wrote {made} ({made.stat().st_size / 2**20:.1f} MiB)")
        return 0
    summary = run(args)
    failed = [name for name, step in summary["steps"].items() if not step.get("ok", True)]
    print(json.dumps(summary, indent=2))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
