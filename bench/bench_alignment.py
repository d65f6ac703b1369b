"""Benchmark: eye-aligned against box crops, on PrivateTest faces re-detected in 640x480 scenes.

    python bench/bench_alignment.py [--faces 600] [--seed 0] [--checkpoint checkpoints/fer2013_fernet_int8.onnx]
    python bench/bench_alignment.py --detector-sweep [--faces 600]

Each face is upscaled to 96-200 px, rotated by up to +-20 degrees and pasted into a scene of blurred noise
(core/evaluation/redetection.py, the same scenes tests/test_align.py checks); the predictor's ONNX MTCNN finds
it, it is cropped with and without eye alignment and classified without TTA, against the same faces classified
directly at 48x48. Faces not found count as wrong. `--detector-sweep` instead runs the ONNX MTCNN with looser
thresholds and finer pyramids over the same scenes: the share of faces found against the false alarms (boxes
elsewhere in the noise), and the time per scene. Needs the imported FER2013 (`python -m core import-data`); with
only the shipped sample it runs on the sample's PrivateTest faces and says so.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from core.data.store import load_dataset  # noqa: E402
from core.evaluation.redetection import FACE_SIDES, MAX_ANGLE, SCENE_SIZE, found_face, make_scene, redetection  # noqa: E402
from core.inference.catalog import LIVE_MODEL  # noqa: E402
from core.inference.faces import SCORE_THRESHOLD, FaceDetector  # noqa: E402
from core.inference.onnx_detector import FACTOR, THRESHOLDS  # noqa: E402
from core.inference.predictor import Predictor  # noqa: E402

INT8 = REPO_ROOT / "checkpoints" / f"{LIVE_MODEL}.onnx"
# (PNet, RNet, ONet thresholds), the final score cut, the pyramid factor: the defaults first
SWEEP = [
    (THRESHOLDS, SCORE_THRESHOLD, FACTOR),
    (THRESHOLDS, 0.7, FACTOR),
    (THRESHOLDS, SCORE_THRESHOLD, 0.85),
    ((0.5, 0.6, 0.7), 0.8, 0.85),
    ((0.4, 0.5, 0.6), 0.7, 0.85),
    ((0.3, 0.4, 0.5), 0.5, FACTOR),
]


def private_test(n: int, seed: int) -> tuple[np.ndarray, list[str], str]:
    """n PrivateTest faces and labels drawn with `seed`, and where they come from."""
    dataset = load_dataset()
    rows = np.flatnonzero(dataset.meta["split"].to_numpy() == "PrivateTest")
    pick = np.sort(np.random.default_rng(seed).choice(rows, min(n, len(rows)), replace=False))
    kind = "the shipped sample only: import FER2013 for the full figure" if dataset.is_sample else "FER2013"
    source = f"{len(pick)} of {len(rows)} PrivateTest faces ({kind})"
    return np.asarray(dataset.images[pick]), dataset.meta["label"].to_numpy()[pick].tolist(), source


def detector_sweep(faces: np.ndarray, seed: int) -> None:
    """Faces found and false alarms of the ONNX MTCNN at each SWEEP setting, on one seeded scene per face."""
    rng = np.random.default_rng(seed)
    scenes = [make_scene(face, rng) for face in faces]
    for thresholds, final, factor in SWEEP:
        detector = FaceDetector(threshold=final, backend="onnx", thresholds=thresholds, factor=factor)
        found, false_alarms, start = 0, 0, time.perf_counter()
        for scene in scenes:
            kept = detector.detect(scene.image)
            hit = found_face(kept, scene) is not None
            found, false_alarms = found + hit, false_alarms + len(kept) - hit
        seconds = (time.perf_counter() - start) / len(scenes)
        print(
            f"thresholds {thresholds}, final {final}, pyramid factor {factor}: found {found / len(scenes):.1%}, "
            f"{false_alarms} false alarms in {len(scenes)} scenes, {1000 * seconds:.0f} ms per scene"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=int, default=600)
    parser.add_argument("--seed", type=int, default=0, help="draws the faces and the scenes")
    parser.add_argument("--checkpoint", type=Path, default=INT8, help="a .pt or .onnx (default: the int8 export)")
    parser.add_argument(
        "--detector-sweep",
        action="store_true",
        help="faces found vs false alarms per detector setting, instead of the accuracy figures",
    )
    args = parser.parse_args()
    faces, labels, source = private_test(args.faces, args.seed)
    if args.detector_sweep:
        print(f"{source}, seed {args.seed}, ONNX MTCNN at 640x480")
        detector_sweep(faces, args.seed)
        return
    predictor = Predictor.load(args.checkpoint, device="cpu", detector="onnx")
    start = time.perf_counter()
    r = redetection(predictor, faces, labels, seed=args.seed)
    seconds = time.perf_counter() - start
    print(
        f"{source}, seed {args.seed}, {args.checkpoint.name}, ONNX MTCNN, no TTA; faces {FACE_SIDES[0]}-"
        f"{FACE_SIDES[1]} px rotated up to +-{MAX_ANGLE:.0f} deg in {SCENE_SIZE[0]}x{SCENE_SIZE[1]} scenes "
        f"({seconds / r.n:.2f} s per scene)"
    )
    print(f"{'direct 48x48:':36s}{r.direct:.2%}")
    print(f"{'detected:':36s}{r.detected:.2%}  (direct on the detected faces: {r.direct_found:.2%})")
    for name, accuracy in (("box crop (no alignment)", r.box), ("eye-aligned crop", r.aligned)):
        found = accuracy / r.detected if r.detected else float("nan")
        print(
            f"{'pipeline, ' + name + ':':36s}{accuracy:.2%}  gap {100 * (accuracy - r.direct):+.1f} points; "
            f"on the detected faces {found:.2%}, gap {100 * (found - r.direct_found):+.1f}"
        )


if __name__ == "__main__":
    main()
