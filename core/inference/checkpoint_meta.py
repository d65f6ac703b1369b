"""A checkpoint's metadata (classes, model, metrics) read without importing torch.

A `.pt` file written by `torch.save` is a zip whose `data.pkl` pickles the payload; tensors appear in it only as
calls to a few torch functions and as references to storages kept in other zip members. Unpickling `data.pkl`
with those calls replaced by placeholders gives every plain value of the payload, so pages that only show what a
model *is* (the sidebar, the Models page) paint without the seconds torch takes to import. Anything else in the
pickle is refused, as `torch.load(weights_only=True)` would.
"""
from __future__ import annotations

import collections
import pickle
import zipfile
from pathlib import Path
from typing import Any

FORMAT = "fer-studio-checkpoint/1"  # the same tag core.models.checkpoint writes
PLACEHOLDERS = {("torch._utils", "_rebuild_tensor_v2"), ("torch._utils", "_rebuild_parameter")}


class Placeholder:
    """Stands in for a tensor or storage: the metadata never needs their values."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass


class MetadataUnpickler(pickle.Unpickler):
    """Plain values, OrderedDict, and placeholders for torch's tensors and storages; nothing else."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) in PLACEHOLDERS or (module == "torch" and name.endswith("Storage")):
            return Placeholder
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a checkpoint")

    def persistent_load(self, pid: Any) -> Placeholder:
        return Placeholder()


def read_pt_metadata(path: str | Path, keys: tuple[str, ...]) -> dict[str, Any]:
    """`keys` of a FER Studio `.pt` checkpoint's payload; ValueError when the file is not one."""
    try:
        with zipfile.ZipFile(path) as archive:
            member = next(name for name in archive.namelist() if name.endswith("/data.pkl"))
            with archive.open(member) as handle:
                payload = MetadataUnpickler(handle).load()
    except (OSError, zipfile.BadZipFile, StopIteration, pickle.UnpicklingError, EOFError, AttributeError) as exc:
        raise ValueError(f"{path}: no readable checkpoint metadata ({type(exc).__name__}: {exc})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"{path} is not a FER Studio checkpoint (no '{FORMAT}' format tag)")
    return {key: payload.get(key) for key in keys}
