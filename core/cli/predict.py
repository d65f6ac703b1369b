"""The `predict` and `export-onnx` commands: an image, a folder (CSV) or a video (CSV + annotated video)."""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

from core.cli.bounds import int_in
from core.data.preprocessing import TTA_MODES
from core.errors import DataError
from core.export.quantize import CALIBRATION_FACES
from core.inference.faces import DETECTORS
from core.inference.onnx_detector import DETECTOR_DIR
from core.progress import tqdm_progress

VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v"}


def csv_rows(result, prefix: dict) -> list[dict]:
    """One CSV row per face (or one row saying there was none)."""
    if not result.faces:
        return [{**prefix, "face": "", "label": "", "message": result.message}]
    rows = []
    for i, face in enumerate(result.faces, 1):
        box = [round(v, 1) for v in face.box] if face.box else ["", "", "", ""]
        rows.append(
            {
                **prefix,
                "face": i,
                "x0": box[0],
                "y0": box[1],
                "x1": box[2],
                "y1": box[3],
                "score": "" if face.score is None else round(face.score, 4),
                "label": face.label,
                "confidence": round(face.confidence, 4),
                **{f"p_{c}": round(p, 4) for c, p in face.probabilities.items()},
                "message": result.message,
            }
        )
    return rows


def write_csv(path: Path, rows: list[dict]) -> None:
    columns = list(dict.fromkeys(key for row in rows for key in row))
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def predict_image(predictor, path: Path, out: Path | None, whole: bool | None, tta: str | None = None) -> int:
    from core.data.images import open_image
    from core.inference.draw import annotate

    image = open_image(path)
    result = predictor.predict(image, whole=whole, tta=tta)
    print(f"{path}: {result.message}" + (f" (test-time augmentation: {result.tta})" if result.faces else ""))
    for i, face in enumerate(result.faces, 1):
        ranked = sorted(face.probabilities.items(), key=lambda kv: -kv[1])
        print(f"  face {i}: {face.label} ({face.confidence:.1%})  " + "  ".join(f"{c} {p:.3f}" for c, p in ranked))
    target = out if out and out.suffix else (out or path.parent) / f"{path.stem}_pred.png"
    target.parent.mkdir(parents=True, exist_ok=True)
    annotate(image, result).save(target)
    print(f"annotated copy: {target}")
    return 0


def predict_folder(predictor, folder: Path, out: Path | None, whole: bool | None, tta: str | None = None) -> int:
    from core.data.folders import image_extensions
    from core.data.images import open_image

    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in image_extensions())
    if not files:
        raise DataError("no images in this folder", path=folder)
    rows = []
    for path in tqdm_progress(files, len(files), "predicting"):
        prefix = {"file": path.relative_to(folder).as_posix()}
        try:
            rows += csv_rows(predictor.predict(open_image(path), whole=whole, tta=tta), prefix)
        except DataError as exc:  # one bad file is reported in its row, the rest still get predictions
            rows.append({**prefix, "face": "", "label": "", "message": exc.problem})
    target = out or folder / "predictions.csv"
    write_csv(target, rows)
    print(f"{len(files)} images, {sum(1 for r in rows if r['label'])} faces -> {target}")
    return 0


def predict_video(predictor, path: Path, out: Path | None, stride: int, tta: str | None = None) -> int:
    import cv2

    from core.inference.draw import annotate

    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise DataError("cannot be opened as a video", path=path)
    fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
    total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) or 0
    base = out or path.parent / f"{path.stem}_pred"
    writer, rows = None, []
    for index in tqdm_progress(range(total if total > 0 else 10**9), total, "frames"):
        ok, frame = capture.read()
        if not ok:
            break
        if index % stride:
            continue
        rgb = np.ascontiguousarray(frame[:, :, ::-1])
        result = predictor.predict(rgb, whole=False, tta=tta)
        rows += csv_rows(result, {"frame": index, "time": round(index / fps, 3)})
        drawn = np.asarray(annotate(rgb, result))[:, :, ::-1]
        if writer is None:
            writer = cv2.VideoWriter(
                str(base.with_suffix(".mp4")),
                cv2.VideoWriter_fourcc(*"mp4v"),
                fps / stride,
                (drawn.shape[1], drawn.shape[0]),
            )
        writer.write(np.ascontiguousarray(drawn))
    capture.release()
    if writer is None:
        raise DataError("the video has no readable frames", path=path)
    writer.release()
    write_csv(base.with_suffix(".csv"), rows)
    print(f"{len(rows)} rows -> {base.with_suffix('.csv')}; annotated video -> {base.with_suffix('.mp4')}")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from core.inference.predictor import Predictor

    checkpoint = args.checkpoint
    if checkpoint is None:
        from core.inference.catalog import default_checkpoint

        checkpoint = default_checkpoint()
    if checkpoint is None:
        raise FileNotFoundError("no checkpoint: pass --checkpoint (a .pt or .onnx) or train one first")
    predictor = Predictor.load(checkpoint, device=args.device, detector=args.detector, align=not args.no_align)
    whole = True if args.whole else None
    path = args.path
    if path.is_dir():
        return predict_folder(predictor, path, args.out, whole, args.tta)
    if not path.is_file():
        raise FileNotFoundError(f"no such file or folder: {path}")
    if path.suffix.lower() in VIDEO_SUFFIXES:
        return predict_video(predictor, path, args.out, args.stride, args.tta)
    return predict_image(predictor, path, args.out, whole, args.tta)


def cmd_export_onnx(args: argparse.Namespace) -> int:
    from core.export.onnx import check_parity, export_onnx

    if args.int8:
        return export_int8(args.checkpoint, args.out)
    out = export_onnx(args.checkpoint, args.out)
    difference = check_parity(args.checkpoint, out)
    print(
        f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB, dynamic batch); torch vs onnxruntime max |diff| "
        f"on sample faces: {difference:.2e}"
    )
    return 0


def export_int8(checkpoint: Path, out: Path) -> int:
    """Static int8 quantization calibrated on the imported Training faces, checked against fp32 on the sample."""
    from core.data.store import load_dataset, load_sample
    from core.export.quantize import quantize_checkpoint

    sample = np.asarray(load_sample().images)
    made = quantize_checkpoint(checkpoint, out, load_dataset(), sample)
    print(
        f"wrote {made.path} ({made.path.stat().st_size / 1e6:.1f} MB, int8, calibrated on {made.calibration_faces} "
        f"Training faces); top class as fp32 on {made.agreement:.1%} of {len(sample)} sample faces"
    )
    return 0


def cmd_export_detector(args: argparse.Namespace) -> int:
    from core.export.mtcnn import check_mtcnn_parity, export_mtcnn

    written = export_mtcnn(args.out)
    sizes = ", ".join(f"{p.name} {p.stat().st_size / 1e3:.0f} kB" for p in written)
    print(f"wrote {sizes} to {args.out}; torch vs onnxruntime max |diff|: {check_mtcnn_parity(args.out):.2e}")
    return 0


def add_predict_commands(commands) -> None:
    p = commands.add_parser("predict", help="predict expressions in an image, a folder of images or a video")
    p.add_argument("--path", type=Path, required=True, help="an image, a folder (CSV out) or a video (.mp4 ...)")
    p.add_argument("--checkpoint", type=Path, help="a .pt checkpoint or .onnx export (default: the shipped one)")
    p.add_argument("--out", type=Path, help="annotated image / CSV / video path (default: next to the input)")
    p.add_argument("--tta", choices=TTA_MODES, help="test-time augmentation (default: what the checkpoint records)")
    p.add_argument("--whole", action="store_true", help="the image is a face crop: classify it whole")
    p.add_argument("--stride", type=int_in(1, 1_000_000), default=1, help="video: predict every Nth frame")
    p.add_argument("--device", default="auto")
    p.add_argument(
        "--detector",
        choices=DETECTORS,
        help="face detector: MTCNN in torch or in onnxruntime (default: onnx for an .onnx checkpoint)",
    )
    p.add_argument(
        "--no-align",
        action="store_true",
        help="crop faces as a square around the detector's box instead of eye-aligned",
    )
    p.set_defaults(run=cmd_predict)

    p = commands.add_parser("export-onnx", help="export a checkpoint to ONNX (dynamic batch, metadata inside)")
    p.add_argument("--checkpoint", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument(
        "--int8",
        action="store_true",
        help=f"static int8 quantization, calibrated on {CALIBRATION_FACES:,} Training faces of the imported data set",
    )
    p.set_defaults(run=cmd_export_onnx)

    p = commands.add_parser("export-detector", help="(maintainers) export MTCNN's three networks to ONNX")
    p.add_argument("--out", type=Path, default=DETECTOR_DIR, help="folder for pnet/rnet/onet.onnx")
    p.set_defaults(run=cmd_export_detector)
