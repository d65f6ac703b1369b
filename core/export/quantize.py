"""int8 static quantization of an exported classifier (onnxruntime), calibrated on Training faces.

Static (not dynamic) quantization, because a CNN's cost is its convolutions: QDQ format, weights int8 per output
channel, activations uint8 with MinMax ranges from `CALIBRATION_FACES` Training images preprocessed exactly as the
spec in the file says. On VNNI / AMX CPUs onnxruntime runs these as integer kernels: 1.7-2.9x faster than fp32 at
batch 1 (bench/bench_live.py). Of the calibration methods, MinMax kept the most accuracy (Entropy tied on FER2013,
Percentile lost 0.2 points) and calibrates fastest.
Weights use 7 bits (onnxruntime's `reduce_range`) by default: on x86 CPUs without VNNI (SSE, AVX2, AVX-512 without
VNNI) onnxruntime multiplies uint8 activations by int8 weights with VPMADDUBSW, whose int16 pair sums saturate
with 8-bit weights (255 * 127 * 2 > 32767) and cost accuracy there; with 7-bit weights they cannot (255 * 63 * 2 <
32767), so the integer result is exact, the same as VNNI's, and the file scores the same on every x86 CPU. The FER
Studio metadata is carried over, with a
"quantization" entry that says how the file was made, so the predictor, evaluate and the catalog read it as any
export. `quantize_checkpoint` is the whole path from a .pt checkpoint (export, quantize, compare) that the
`export-onnx --int8` and `ship-int8` commands share.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.data.dataset import FerDataset
from core.data.preprocessing import Preprocessing, to_model_input
from core.export.onnx import METADATA_KEY, export_onnx, read_metadata

CALIBRATION_FACES = 1000
CALIBRATION_BATCH = 50


def calibration_faces(dataset, count: int = CALIBRATION_FACES, seed: int = 0) -> np.ndarray:
    """`count` uint8 faces drawn at random from the Training split (never a test split: they are scored later)."""
    rows = np.flatnonzero(dataset.meta["split"].to_numpy() == "Training")
    if not len(rows):
        raise ValueError("the data set has no Training images to calibrate the int8 ranges on")
    chosen = np.random.default_rng(seed).choice(rows, min(count, len(rows)), replace=False)
    return np.asarray(dataset.images)[np.sort(chosen)]


def quantize_classifier(onnx_path: str | Path, out: str | Path, faces: np.ndarray, reduce_range: bool = True) -> Path:
    """Write the int8 version of an `export_onnx` file to `out`, its activation ranges taken on `faces`.

    `reduce_range`: 7-bit weights (see the module docstring), exact on every x86 CPU; False: full 8-bit weights,
    exact only on VNNI / AMX CPUs."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    meta = read_metadata(onnx_path)
    batches = to_model_input(faces, Preprocessing.from_dict(meta["preprocessing"]))

    class Faces(CalibrationDataReader):
        def __init__(self) -> None:
            self.feed = iter(
                {"input": batches[i : i + CALIBRATION_BATCH]} for i in range(0, len(batches), CALIBRATION_BATCH)
            )

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self.feed, None)

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        prepared = Path(scratch) / "prepared.onnx"  # shape inference + graph folding, as onnxruntime advises
        quant_pre_process(str(onnx_path), str(prepared))
        quantize_static(
            str(prepared),
            str(out),
            Faces(),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.MinMax,
            reduce_range=reduce_range,
        )
    weights = "int8 per channel, 7-bit range (reduce_range)" if reduce_range else "int8 per channel"
    set_metadata(
        out,
        {
            **meta,
            "quantization": {
                "format": "QDQ int8",
                "weights": weights,
                "activations": "uint8 MinMax",
                "calibration": f"{len(faces)} Training faces",
            },
        },
    )
    return out


def set_metadata(path: Path, meta: dict[str, Any]) -> None:
    """Replace the FER Studio metadata entry of an ONNX file."""
    import onnx

    model = onnx.load(str(path))
    for entry in list(model.metadata_props):
        if entry.key == METADATA_KEY:
            model.metadata_props.remove(entry)
    entry = model.metadata_props.add()
    entry.key, entry.value = METADATA_KEY, json.dumps(meta)
    onnx.save(model, str(path))


def agreement(fp32_path: str | Path, int8_path: str | Path, faces: np.ndarray) -> float:
    """Share of `faces` on which the int8 file's top class equals the fp32 file's."""
    import onnxruntime

    spec = Preprocessing.from_dict(read_metadata(fp32_path)["preprocessing"])
    batch = to_model_input(faces, spec)
    tops = [
        onnxruntime.InferenceSession(str(p), providers=["CPUExecutionProvider"])
        .run(None, {"input": batch})[0]
        .argmax(axis=1)
        for p in (fp32_path, int8_path)
    ]
    return float((tops[0] == tops[1]).mean())


@dataclass(frozen=True)
class Int8Export:
    """What `quantize_checkpoint` wrote, for the caller to report."""

    path: Path
    calibration_faces: int  # Training faces the activation ranges were taken on
    agreement: float | None  # share of the check faces on which the top class equals the fp32 export's


def quantize_checkpoint(
    checkpoint: str | Path,
    out: str | Path,
    dataset: FerDataset,
    check_faces: np.ndarray | None = None,
    reduce_range: bool = True,
) -> Int8Export:
    """Write the int8 ONNX version of a .pt checkpoint to `out`, calibrated on `dataset`'s Training faces, and
    measure on `check_faces` (uint8, N x H x W; None: not measured) how often its top class equals the fp32
    export's."""
    faces = calibration_faces(dataset)
    with tempfile.TemporaryDirectory() as scratch:  # the fp32 export is only a step: it is not kept
        fp32 = export_onnx(checkpoint, Path(scratch) / "fp32.onnx")
        path = quantize_classifier(fp32, out, faces, reduce_range)
        same = None if check_faces is None else agreement(fp32, path, check_faces)
    return Int8Export(path=path, calibration_faces=len(faces), agreement=same)
