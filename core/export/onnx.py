"""Exporting a checkpoint to ONNX (dynamic batch) with its class names and preprocessing spec inside.

torch is imported by the functions that need it: reading the metadata back (the onnxruntime predictor) must not.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from core.data.preprocessing import Preprocessing, to_model_input
from core.errors import DataError
from core.limits import MAX_INPUT_SIZE

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
    torch.onnx.export(
        model,
        (torch.zeros(1, payload["in_chans"], size, size),),
        str(out),
        input_names=["input"],
        output_names=["logits"],
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
        opset_version=opset,
        dynamo=False,
    )
    exported = onnx.load(str(out))
    # "preprocessing" is the spec; input_size, normalization and tta repeat it for readers of older exports
    meta = {
        k: payload[k]
        for k in ("model", "classes", "preprocessing", "input_size", "in_chans", "normalization", "tta", "label_source")
    }
    entry = exported.metadata_props.add()
    entry.key, entry.value = METADATA_KEY, json.dumps(meta)
    onnx.checker.check_model(exported)
    onnx.save(exported, str(out))
    return out


def read_metadata(path: str | Path) -> dict[str, Any]:
    """The metadata export_onnx stored, checked against the model's inputs and outputs, read through onnxruntime
    (which serving imports anyway, in 0.5 s; the onnx package costs ~2 s more to import, a large part of the Gradio
    app's start), or with onnx where onnxruntime is missing (the metadata alone is checked then)."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        import onnx

        try:
            props = {e.key: e.value for e in onnx.load(str(path), load_external_data=False).metadata_props}
        except Exception as exc:  # protobuf's DecodeError and friends
            raise DataError(f"not a loadable ONNX model ({first_line(exc)})", path=path) from None
        return checked_metadata(parse_metadata(props, path), path)
    return session_metadata(open_session(path), path)


def open_session(path: str | Path):
    """An onnxruntime CPU session for `path`; DataError with one line for a file that is no ONNX model."""
    import onnxruntime

    try:
        return onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime's InvalidProtobuf, Fail, NoSuchFile ... are plain pybind exceptions
        raise DataError(f"not a loadable ONNX model ({first_line(exc)})", path=path) from None


def first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__


def session_metadata(session, path: str | Path) -> dict[str, Any]:
    """The metadata of an open onnxruntime session (the predictor reads it from the session it serves with),
    checked against the session's input [N, in_chans, S, S] and output [N, classes]."""
    meta = checked_metadata(parse_metadata(session.get_modelmeta().custom_metadata_map, path), path)
    inputs, outputs = session.get_inputs(), session.get_outputs()
    side = meta["input_size"]
    if [i.name for i in inputs] != ["input"] or not dims_match(inputs[0].shape, [None, meta["in_chans"], side, side]):
        found = ", ".join(f"{i.name} {i.shape}" for i in inputs)
        raise DataError(
            f"the model's input is {found}; its metadata says input [N, {meta['in_chans']}, {side}, {side}]", path=path
        )
    if not outputs or not dims_match(outputs[0].shape, [None, len(meta["classes"])]):
        found = ", ".join(f"{o.name} {o.shape}" for o in outputs)
        raise DataError(f"the model's output is {found}; its metadata names {len(meta['classes'])} classes", path=path)
    return meta


def dims_match(shape: list, expected: list) -> bool:
    """A shape as onnxruntime reports it (ints, or names/None for dynamic axes) against `expected` (None: any)."""
    return len(shape) == len(expected) and all(
        want is None or not isinstance(have, int) or have == want for have, want in zip(shape, expected)
    )


def parse_metadata(props: dict[str, str], path: str | Path) -> dict[str, Any]:
    if METADATA_KEY not in props:
        raise DataError("has no FER Studio metadata; export it with `python -m core export-onnx`", path=path)
    try:
        return json.loads(props[METADATA_KEY])
    except json.JSONDecodeError:
        raise DataError("its FER Studio metadata is not valid JSON", path=path) from None


def checked_metadata(meta: Any, path: str | Path) -> dict[str, Any]:
    """The metadata when it names at least two distinct classes, an input side in 1..core.limits.MAX_INPUT_SIZE
    and one or three channels; DataError otherwise."""
    classes = meta.get("classes") if isinstance(meta, dict) else None
    if not (
        isinstance(classes, list)
        and len(classes) >= 2
        and all(isinstance(c, str) and c for c in classes)
        and len(set(classes)) == len(classes)
    ):
        raise DataError("its metadata names no list of distinct classes", path=path)
    try:
        side = Preprocessing.from_payload(meta).input_size
    except Exception:
        raise DataError("its metadata holds no usable preprocessing (input size, normalization)", path=path) from None
    if isinstance(side, bool) or not isinstance(side, int) or not 1 <= side <= MAX_INPUT_SIZE:
        raise DataError(f"its metadata's input size {side!r} is outside 1..{MAX_INPUT_SIZE}", path=path)
    in_chans = meta.get("in_chans", 1)
    if in_chans not in (1, 3) or isinstance(in_chans, bool):
        raise DataError(f"its metadata's in_chans {in_chans!r} is not 1 or 3", path=path)
    return {**meta, "input_size": side, "in_chans": in_chans}


def check_parity(checkpoint: str | Path, onnx_path: str | Path, faces: int = 64) -> float:
    """Max |torch - onnxruntime| logits on real faces from the shipped sample, both fed the input the spec
    stored in the ONNX file makes (so the metadata is checked too)."""
    import torch

    from core.data.store import load_sample
    from core.models.checkpoint import load_checkpoint, model_from_checkpoint

    model = model_from_checkpoint(load_checkpoint(checkpoint))
    batch = to_model_input(np.array(load_sample().images[:faces]), Preprocessing.from_payload(read_metadata(onnx_path)))
    with torch.inference_mode():
        expected = model(torch.from_numpy(batch)).numpy()
    session = open_session(onnx_path)
    return float(np.abs(session.run(None, {"input": batch})[0] - expected).max())
