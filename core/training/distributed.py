"""Multi-process training with PyTorch's own engine: DistributedDataParallel under `torchrun`.

`python -m core train --nproc-per-node N` re-launches itself through `torch.distributed.run`; each process
then finds RANK / WORLD_SIZE / LOCAL_RANK in its environment. NCCL on GPUs, gloo on CPUs. Every rank draws
the same batch order and trains on its own slice of it; rank 0 alone writes the run folder.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn


@dataclass
class DistContext:
    """Where this process stands in a (possibly one-process) training job."""

    rank: int = 0
    world_size: int = 1
    device: torch.device | None = None

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world_size > 1

    def wrap(self, model: nn.Module) -> nn.Module:
        """The module to train: DDP keeps every rank's weights identical by averaging gradients."""
        if not self.active:
            return model
        ids = [self.device.index] if self.device.type == "cuda" else None
        return nn.parallel.DistributedDataParallel(model, device_ids=ids)

    def shard(self, order: torch.Tensor) -> torch.Tensor:
        """This rank's share of an epoch's batch order (same order on every rank, same seed)."""
        return order[self.rank :: self.world_size] if self.active else order

    def any(self, flag: bool) -> bool:
        """True on every rank when any rank says True (a stop request reaches all of them)."""
        if not self.active:
            return flag
        value = torch.tensor([1.0 if flag else 0.0], device=self.device if self.device.type == "cuda" else "cpu")
        dist.all_reduce(value, op=dist.ReduceOp.MAX)
        return bool(value.item())

    def sync_buffers(self, model: nn.Module) -> None:
        """Copy rank 0's buffers (BatchNorm running statistics) to every rank: DDP averages gradients, but each
        rank updates these from its own batches, so without this the ranks' models drift apart after an epoch."""
        if self.active:
            for buffer in model.buffers():
                dist.broadcast(buffer, src=0)

    def close(self) -> None:
        if self.active and dist.is_initialized():
            dist.destroy_process_group()


def setup(device_name: str, default: torch.device) -> DistContext:
    """Join the process group torchrun set up, or return a one-process context."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return DistContext(device=default)
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = torch.cuda.is_available() and device_name in ("auto", "cuda")
    device = torch.device(f"cuda:{local_rank}") if use_cuda else torch.device("cpu")
    if use_cuda:
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    return DistContext(rank=rank, world_size=world_size, device=device)


def weights_digest(model: nn.Module) -> str:
    """A SHA-1 of every parameter and buffer: equal on all ranks when DDP keeps them in step."""
    digest = hashlib.sha1()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def launch_torchrun(nproc_per_node: int, nnodes: int, node_rank: int, master: str, argv: list[str]) -> int:
    """Re-run `python -m core <argv>` under torchrun with N processes per node; return its exit code."""
    address, _, port = master.partition(":")
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        f"--nproc-per-node={nproc_per_node}",
        f"--nnodes={nnodes}",
        f"--node-rank={node_rank}",
        f"--master-addr={address}",
        f"--master-port={port or 29500}",
        "-m",
        "core",
        *argv,
    ]
    return subprocess.run(command).returncode
