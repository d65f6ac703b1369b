"""Which device runs torch work, and what this CPU can do fast (bf16, int8 dot products)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.errors import OptionError

if TYPE_CHECKING:
    import torch


def resolve_device(name: str) -> torch.device:
    """`auto` is CUDA when present, else the CPU; any other name is torch's ("cpu", "cuda:1" ...); OptionError for
    one this machine lacks."""
    import torch  # lazy: the CPU-feature checks below serve torch-free paths (onnxruntime backends)

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError):
        raise OptionError(f"unknown device {name!r}; use auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda" and (device.index or 0) >= torch.cuda.device_count():
        raise OptionError(f"device {name} is not on this machine ({torch.cuda.device_count()} CUDA device(s))")
    if device.type not in ("cpu", "cuda"):
        raise OptionError(f"device {name!r} is not supported here; use auto, cpu, cuda or cuda:N")
    return device


def cpu_flags() -> set[str]:
    """This CPU's feature flags (Linux's /proc/cpuinfo; empty elsewhere)."""
    try:
        lines = open("/proc/cpuinfo").read().splitlines()
    except OSError:
        return set()
    return {flag for line in lines if line.startswith("flags") for flag in line.split(":", 1)[1].split()}


def cpu_has_bf16() -> bool:
    """Whether this CPU computes bf16 natively (AMX or AVX512-BF16); elsewhere bf16 autocast is slower."""
    return bool({"amx_bf16", "avx512_bf16"} & cpu_flags())


def cpu_has_int8_dot() -> bool:
    """Whether this CPU has int8 dot-product units (VNNI or AMX-INT8), where onnxruntime's int8 kernels pay."""
    return bool({"avx512_vnni", "avx_vnni", "amx_int8"} & cpu_flags())
