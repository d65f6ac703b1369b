"""Exporting a checkpoint to ONNX (dynamic batch) with its class names and preprocessing spec inside.

torch is imported by the functions that need it: reading the metadata back (the onnxruntime predictor) must not.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from core.data.preprocessing import Preprocessing, to_model_input

METADATA_KEY = "fer_studio"


def export_onnx(checkpoint: str | Path, out: str | Path, opset: int = 17) -> Path:
    """Write `out` (.onnx): input `input` (N, 1, S, S) normalised floats, output `logits` (N, C)."""
    import onnx
    import torch

    from core.models.checkpoint import load_checkpoint, model_from_checkpoint

    payload = load_checkpoint(checkpoint)
    model = model_from_checkpoint(payload)
    size = Preprocessing.from_payload(payload).input_size
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(model, (torch.zeros(1, payload["in_chans"], size, size),), str(out), input_names=["input"],
                      output_names=["logits"], dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                      opset_version=opset, dynamo=False)
    exported = onnx.load(str(out))
    # "preprocessing" is the spec; input_size, normalization and tta repeat it for readers of older exports
    meta = {k: payload[k] for k in ("model", "classes", "preprocessing", "input_size", "in_chans", "normalization",
                                    "tta", "label_source")}
    entry = exported.metadata_props.add()
    entry.key, entry.value = METADATA_KEY, json.dumps(meta)
    onnx.checker.check_model(exported)
    onnx.save(exported, str(out))
    return out


def read_metadata(path: str | Path) -> dict[str, Any]:
    """The metadata export_onnx stored, read through onnxruntime (which serving imports anyway, in 0.5 s; the onnx
    package costs ~2 s more to import, a large part of the Gradio app's start), or with onnx where onnxruntime is
    missing."""
    try:
        import onnxruntime
    except ImportError:
        import onnx

        props = {e.key: e.value for e in onnx.load(str(path), load_external_data=False).metadata_props}
    else:
        return session_metadata(onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"]), path)
    return parse_metadata(props, path)


def session_metadata(session, path: str | Path) -> dict[str, Any]:
    """The metadata of an open onnxruntime session (the predictor reads it from the session it serves with)."""
    return parse_metadata(session.get_modelmeta().custom_metadata_map, path)


def parse_metadata(props: dict[str, str], path: str | Path) -> dict[str, Any]:
    if METADATA_KEY not in props:
        raise ValueError(f"{path} has no FER Studio metadata; export it with `python -m core export-onnx`")
    return json.loads(props[METADATA_KEY])


def check_parity(checkpoint: str | Path, onnx_path: str | Path, faces: int = 64) -> float:
    """Max |torch - onnxruntime| logits on real faces from the shipped sample, both fed the input the spec
    stored in the ONNX file makes (so the metadata is checked too)."""
    import onnxruntime
    import torch

    from core.data.store import load_sample
    from core.models.checkpoint import load_checkpoint, model_from_checkpoint

    model = model_from_checkpoint(load_checkpoint(checkpoint))
    batch = to_model_input(np.array(load_sample().images[:faces]), Preprocessing.from_payload(read_metadata(onnx_path)))
    with torch.inference_mode():
        expected = model(torch.from_numpy(batch)).numpy()
    session = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    return float(np.abs(session.run(None, {"input": batch})[0] - expected).max())
