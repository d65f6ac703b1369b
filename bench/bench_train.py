"""Benchmark: training throughput of every registered model, and where the time goes in the input pipeline.

    python bench/bench_train.py [--steps 8] [--images 2048] [--models fernet,resnet18]

1. Train-step throughput (images/s, forward + backward + SGD step, batch 64, each model at its input size) per path:
   plain fp32, fp32 channels_last, and bf16 autocast + channels_last where the CPU has bf16 units (AMX or
   AVX512-BF16; elsewhere bf16 is emulated and slower, so it is not timed), with the CPU and its features named and
   the path training picks (`use_bf16`) marked.
2. Data vs model time for `fernet`: our pipeline (uint8 tensor in memory, batched tensor augmentation) against a
   reference-style one (PNG files, torchvision ImageFolder, per-sample PIL transforms, DataLoader with 2 workers),
   measured in the same run. Ratios, not absolute times, are what carries over between machines.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from core.data.augment_options import AugmentOptions
from core.data.folders import export_folders
from core.data.preprocessing import Preprocessing
from core.data.store import load_dataset
from core.device import cpu_flags, cpu_has_bf16, cpu_has_int8_dot
from core.models.registry import create_model, list_models, model_spec
from core.training.tensors import training_input


def step_seconds(model, batch: torch.Tensor, bf16: bool, steps: int) -> float:
    """Median seconds of one training step on a fixed batch."""
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True)
    target = torch.randint(0, 7, (len(batch),))
    times = []
    for i in range(steps + 2):
        start = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = F.cross_entropy(model(batch).float(), target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if i >= 2:  # the first steps pay for allocation and kernel selection
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def cpu_description() -> str:
    """The CPU's name and the features that decide the training and inference paths."""
    try:
        names = [line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")]
    except OSError:
        names = []
    wanted = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_bf16", "amx_int8")
    features = [flag for flag in wanted if flag in cpu_flags()] or ["none of " + ", ".join(wanted)]
    return (
        f"{names[0] if names else platform.processor() or 'unknown CPU'}; features: {', '.join(features)}; "
        f"bf16 units: {cpu_has_bf16()}, int8 dot products: {cpu_has_int8_dot()}"
    )


def model_throughput(steps: int, models: list[str]) -> None:
    """images/s per path; the path training takes on this CPU (bf16 + channels_last with bf16 units, else fp32
    channels_last) is marked with *."""
    bf16 = cpu_has_bf16()
    print(f"CPU: {cpu_description()}")
    print(f"train-step throughput, batch 64, {torch.get_num_threads()} threads (images/s; * = the path training takes)")
    print(f"{'model':<22}{'input':>6}{'fp32':>10}{'fp32 ch-last':>14}{'bf16 ch-last':>14}")
    for name in models:
        size = model_spec(name).input_size
        batch = torch.rand(64, 1, size, size)
        plain = 64 / step_seconds(create_model(name, num_classes=7), batch, False, steps)
        last = create_model(name, num_classes=7).to(memory_format=torch.channels_last)
        batch_last = batch.contiguous(memory_format=torch.channels_last)
        channels_last = 64 / step_seconds(last, batch_last, False, steps)
        cells = [f"{plain:.0f}", f"{channels_last:.0f}" + ("" if bf16 else "*")]
        if bf16:
            cells.append(f"{64 / step_seconds(last, batch_last, True, steps):.0f}*")
        else:
            cells.append("no bf16")
        print(f"{name:<22}{size:>6}{cells[0]:>10}{cells[1]:>14}{cells[2]:>14}")


def endless(loader):
    """The loader's batches, starting over when it runs out (fewer images than the batches asked for)."""
    while True:
        yield from loader


def seed_style_loader(root: Path, batch_size: int):
    """torchvision ImageFolder + per-sample PIL transforms + DataLoader, as the reference projects train."""
    from torch.utils.data import DataLoader
    from torchvision import datasets, transforms

    transform = transforms.Compose(
        [
            transforms.Grayscale(),
            transforms.RandomHorizontalFlip(),
            transforms.RandomAffine(10, translate=(0.1, 0.1), scale=(0.9, 1.1)),
            transforms.ColorJitter(0.2, 0.2),
            transforms.ToTensor(),
            transforms.RandomErasing(p=0.25),
            transforms.Normalize([0.5], [0.5]),
        ]
    )
    folder = datasets.ImageFolder(str(root / "train"), transform=transform)
    return DataLoader(folder, batch_size=batch_size, shuffle=True, num_workers=2, persistent_workers=True)


def pipeline_share(images: int, batches: int) -> None:
    dataset = load_dataset()
    subset = dataset.subset(dataset.split_index("Training")[:images])
    model = create_model("fernet", num_classes=7).to(memory_format=torch.channels_last)
    bf16 = cpu_has_bf16()
    model_time = step_seconds(
        model, torch.rand(64, 1, 48, 48).contiguous(memory_format=torch.channels_last), bf16, batches
    )
    tensors = torch.from_numpy(subset.images.copy()).unsqueeze(1)
    generator, options = torch.Generator().manual_seed(0), AugmentOptions()
    start = time.perf_counter()
    for _ in range(batches):
        index = torch.randint(0, len(tensors), (64,), generator=generator)
        training_input(tensors[index], Preprocessing(48), options, generator)
    ours = (time.perf_counter() - start) / batches
    with tempfile.TemporaryDirectory() as tmp:
        export_folders(subset, tmp)
        loader = endless(seed_style_loader(Path(tmp), 64))
        next(loader)  # workers start up
        start = time.perf_counter()
        for _ in range(batches):
            next(loader)
        seed = (time.perf_counter() - start) / batches
    print(f"\ninput pipeline, fernet, batch 64 ({images} training images, {batches} batches):")
    print(f"  model step {model_time * 1000:.0f} ms")
    for label, data in (
        ("ours (uint8 tensor + batched augmentation)", ours),
        ("reference-style (ImageFolder + PIL transforms + DataLoader, 2 workers)", seed),
    ):
        print(f"  {label}: data {data * 1000:.1f} ms/batch, {data / (data + model_time):.0%} of the step")
    print(f"  -> our data path is {seed / ours:.0f}x faster per batch")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument(
        "--images",
        type=int,
        default=2048,
        help="Training images for the pipeline comparison (at least 64; fewer than the batches need are reused)",
    )
    parser.add_argument("--models", help="comma-separated registered models (default: all)")
    args = parser.parse_args()
    if args.images < 64 or args.steps < 1:
        parser.error("--images must be at least 64 (one batch) and --steps at least 1")
    models = args.models.split(",") if args.models else list_models()
    unknown = sorted(set(models) - set(list_models()))
    if unknown:
        parser.error(f"unknown model(s): {', '.join(unknown)} (python -m core models lists them)")
    torch.manual_seed(0)
    model_throughput(args.steps, models)
    pipeline_share(args.images, args.steps * 3)


if __name__ == "__main__":
    main()
