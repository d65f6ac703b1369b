"""Exporting a checkpoint to ONNX (dynamic batch) with its class names, input size and normalisation inside."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from core.models.checkpoint import load_checkpoint, model_from_checkpoint

METADATA_KEY = "fer_studio"


def export_onnx(checkpoint: str | Path, out: str | Path, opset: int = 17) -> Path:
    """Write `out` (.onnx): input `input` (N, 1, S, S) normalised floats, output `logits` (N, C)."""
    import onnx

    payload = load_checkpoint(checkpoint)
    model = model_from_checkpoint(payload)
    size = payload["input_size"]
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(model, (torch.zeros(1, payload["in_chans"], size, size),), str(out), input_names=["input"],
                      output_names=["logits"], dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                      opset_version=opset, dynamo=False)
    exported = onnx.load(str(out))
    meta = {k: payload[k] for k in ("model", "classes", "input_size", "in_chans", "normalization", "tta",
                                    "label_source")}
    entry = exported.metadata_props.add()
    entry.key, entry.value = METADATA_KEY, json.dumps(meta)
    onnx.checker.check_model(exported)
    onnx.save(exported, str(out))
    return out


def read_metadata(path: str | Path) -> dict[str, Any]:
    """The metadata export_onnx stored, read without building a session."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    for entry in model.metadata_props:
        if entry.key == METADATA_KEY:
            return json.loads(entry.value)
    raise ValueError(f"{path} has no FER Studio metadata; export it with `python -m core export-onnx`")


def check_parity(checkpoint: str | Path, onnx_path: str | Path, faces: int = 64) -> float:
    """Max |torch - onnxruntime| logits on real faces from the shipped sample (random ones as a fallback)."""
    import numpy as np
    import onnxruntime

    from core.data.store import load_sample

    payload = load_checkpoint(checkpoint)
    model = model_from_checkpoint(payload)
    size, norm = payload["input_size"], payload["normalization"]
    images = torch.from_numpy(np.array(load_sample().images[:faces])).float().div(255).unsqueeze(1)
    batch = torch.nn.functional.interpolate(images, size=(size, size), mode="bilinear") if size != 48 else images
    batch = ((batch - norm["mean"]) / norm["std"]).repeat(1, payload["in_chans"], 1, 1)
    with torch.inference_mode():
        expected = model(batch).numpy()
    session = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    return float(np.abs(session.run(None, {"input": batch.numpy()})[0] - expected).max())
