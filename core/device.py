"""Which device runs torch work, and what this CPU can do fast (bf16, int8 dot products)."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


def resolve_device(name: str) -> torch.device:
    """`auto` is CUDA when present, else the CPU; any other name is torch's ("cpu", "cuda:1" ...)."""
    import torch  # lazy: the CPU-feature checks below serve torch-free paths (onnxruntime backends)

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


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
