"""The checkpoint format tag, and reading a checkpoint's metadata without torch.

Outside core/models on purpose: importing that package imports every architecture, hence torch, and the model
catalog must list `.pt` files for the onnxruntime-only apps too.
"""

from __future__ import annotations

import collections
import io
import pickle
import zipfile
from pathlib import Path
from typing import Any

from core.ensemble_format import is_ensemble_file, peek_ensemble

FORMAT = "fer-studio-checkpoint/1"


class WeightlessUnpickler(pickle.Unpickler):
    """Unpickles a torch checkpoint's data.pkl without torch: tensors come back as None, and only plain
    containers are built (nothing else is importable, so no code can run)."""

    def find_class(self, module: str, name: str) -> Any:
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        if module.split(".")[0] in ("torch", "numpy"):  # tensors, storages, numpy scalars in metrics
            return lambda *args, **kwargs: None
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a checkpoint")

    def persistent_load(self, pid: Any) -> None:
        return None  # a storage: its bytes stay in the zip


def peek_checkpoint(path: str | Path) -> dict[str, Any]:
    """A `.pt` checkpoint's keys other than the weights, read without torch (the catalog lists models for the
    onnxruntime-only apps too, and this skips reading the weights); ValueError when it is not one of ours. An
    ensemble file gives its own metadata, read from its members."""
    if is_ensemble_file(path):
        return peek_ensemble(path, peek_checkpoint)
    try:
        with zipfile.ZipFile(path) as archive:
            name = next(n for n in archive.namelist() if n.endswith("/data.pkl"))
            payload = WeightlessUnpickler(io.BytesIO(archive.read(name))).load()
    except (zipfile.BadZipFile, StopIteration, pickle.UnpicklingError, EOFError) as exc:
        raise ValueError(f"{path} is not a loadable checkpoint ({type(exc).__name__}: {exc})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"{path} is not a FER Studio checkpoint (no '{FORMAT}' format tag)")
    return payload
