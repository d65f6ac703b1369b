"""bench_live.py's model section: per-face latency and PrivateTest accuracy of each classifier and runtime, the
detector's time per frame, and the CLI's start-up and memory with and without torch.

    python bench/live_models.py [--rounds 5]     (bench/bench_live.py runs it before the webcam table)

Latency is one face, batch 1, 2 threads, the median of `--rounds` interleaved rounds of 300 calls (so machine noise
hits every runtime alike); ratios are against onnxruntime fp32 of the same model, measured in the same run.
Accuracy is PrivateTest of the full import, no TTA, on the labels each model was trained with.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

if TYPE_CHECKING:
    from PIL import Image

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from core.data.preprocessing import Preprocessing, to_model_input  # noqa: E402
from core.export.onnx import read_metadata  # noqa: E402
from core.inference.catalog import LIVE_MODEL  # noqa: E402
from core.paths import CHECKPOINTS_DIR, shared_data_dir  # noqa: E402

CALLS = 300


class Point(NamedTuple):
    ms: float  # per face, batch 1, 2 threads
    accuracy: float  # PrivateTest, no TTA


FER_PACKAGE = Point(0.63, 0.655)  # the `fer` package's mini-Xception through onnxruntime here, per issue 13
FER_INPUT = 64  # its input side; gray, (pixels / 255 - 0.5) * 2, channels last (../shared/peers/README.md)


def fer_package_model() -> Path | None:
    """The `fer` package's model converted to ONNX, when the peers folder beside the data has it."""
    path = shared_data_dir().parent / "peers" / "fer_mini_xception.onnx"
    return path if path.is_file() else None


def fer_package_accuracy(path: Path, dataset) -> float:
    """PrivateTest accuracy (FER2013 labels, no TTA) of the `fer` package's model, preprocessed as fer does."""
    import onnxruntime

    split = dataset.meta["split"].to_numpy() == "PrivateTest"
    faces, labels = np.asarray(dataset.images)[split], dataset.meta["label"].to_numpy()[split]
    spec = Preprocessing(input_size=FER_INPUT, mean=0.5, std=0.5)
    run = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = run.get_inputs()[0].name
    predicted = np.concatenate(
        [
            run.run(None, {name: to_model_input(faces[i : i + 256], spec).transpose(0, 2, 3, 1)})[0].argmax(1)
            for i in range(0, len(faces), 256)
        ]
    )
    return float((predicted == labels).mean())


def session(path: Path):
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = 2, 1
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def runtimes(checkpoint: Path, work: Path) -> dict[str, object]:
    """Torch fp32, onnxruntime fp32 and int8 of one checkpoint: name -> callable(batch) -> logits ("calls") and
    name -> the file evaluate scores for that runtime ("paths")."""
    import torch

    from core.data.store import load_dataset
    from core.export.onnx import export_onnx
    from core.export.quantize import calibration_faces, quantize_classifier
    from core.models.checkpoint import load_checkpoint, model_from_checkpoint

    torch.set_num_threads(2)
    model = model_from_checkpoint(load_checkpoint(checkpoint)).eval()
    fp32 = export_onnx(checkpoint, work / f"{checkpoint.stem}.onnx")
    shipped = checkpoint.with_name(f"{checkpoint.stem}_int8.onnx")
    int8 = (
        shipped
        if shipped.is_file()
        else quantize_classifier(fp32, work / f"{checkpoint.stem}_int8.onnx", calibration_faces(load_dataset()))
    )
    sessions = {"onnx fp32": session(fp32), "onnx int8": session(int8)}

    def torch_call(batch: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return model(torch.from_numpy(batch)).numpy()

    calls = {"torch fp32": torch_call}
    calls.update({name: (lambda s: lambda batch: s.run(None, {"input": batch})[0])(s) for name, s in sessions.items()})
    return {
        "calls": calls,
        "paths": {"torch fp32": checkpoint, "onnx fp32": fp32, "onnx int8": int8},
        "spec": Preprocessing.from_dict(read_metadata(fp32)["preprocessing"]),
    }


def latency_ms(calls: dict, item, rounds: int, per_round: int = CALLS) -> dict[str, float]:
    """Median per-call ms of each runtime over interleaved rounds."""
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for call in calls.values():
        for _ in range(min(30, per_round)):
            call(item)  # warm-up: allocations, oneDNN kernel selection
    for _ in range(rounds):
        for name, call in calls.items():
            start = time.perf_counter()
            for _ in range(per_round):
                call(item)
            samples[name].append((time.perf_counter() - start) / per_round * 1e3)
    return {name: statistics.median(values) for name, values in samples.items()}


def private_accuracy(path: Path, dataset) -> float:
    """PrivateTest accuracy without TTA on the labels the model was trained with: `evaluate`'s number, so the
    table agrees with the model cards (a .pt runs in torch on the CPU, an .onnx in onnxruntime)."""
    from core.evaluation.evaluate import evaluate_checkpoint

    report = evaluate_checkpoint(path, ["PrivateTest"], tta="none", dataset=dataset, device="cpu")
    return report["reports"]["PrivateTest"]["accuracy"]


def classifier_rows(rounds: int) -> list[tuple[str, str, float, float]]:
    """(model, runtime, ms a face, PrivateTest accuracy) of every shipped model and runtime, and of the `fer`
    package's model when it is at hand, all timed in one set of interleaved rounds (the same machine noise)."""
    from core.data.store import load_dataset

    dataset = load_dataset()  # the full import, read once for every model and runtime
    calls, accuracies = {}, {}
    with tempfile.TemporaryDirectory() as work:
        for checkpoint in sorted(CHECKPOINTS_DIR.glob("*.pt")):  # every shipped model, the tiny one included
            model = runtimes(checkpoint, Path(work))
            face = to_model_input(np.full((1, 48, 48), 128, np.uint8), model["spec"])
            for name, path in model["paths"].items():
                calls[(checkpoint.stem, name)] = (lambda call, face: lambda _: call(face))(model["calls"][name], face)
                accuracies[(checkpoint.stem, name)] = private_accuracy(path, dataset)
        fer = fer_package_model()
        if fer is not None:
            fer_session = session(fer)
            fer_face = np.zeros((1, FER_INPUT, FER_INPUT, 1), np.float32)
            fer_input = fer_session.get_inputs()[0].name
            calls[("fer mini-Xception", "onnx fp32")] = lambda _: fer_session.run(None, {fer_input: fer_face})
            accuracies[("fer mini-Xception", "onnx fp32")] = fer_package_accuracy(fer, dataset)
        times = latency_ms(calls, None, rounds)
    return [(model, name, times[(model, name)], accuracies[(model, name)]) for model, name in calls]


def six_face_frame() -> Image.Image:
    """The six-face test photo letterboxed into a 640x480 frame."""
    from PIL import Image

    photo = Image.open(shared_data_dir() / "photos" / "test.jpg").convert("RGB")
    frame = Image.new("RGB", (640, 480))
    photo.thumbnail((640, 480))
    frame.paste(photo, ((640 - photo.width) // 2, (480 - photo.height) // 2))
    return frame


def detector_ms(rounds: int) -> dict[str, float]:
    """ms per 640x480 frame (the six-face photo) for each MTCNN backend, and the ONNX one at the live path's 320 px."""
    from core.inference.faces import FaceDetector
    from core.inference.live import LIVE_DETECT_SIDE

    detectors = {f"MTCNN {backend}": FaceDetector(backend=backend).detect for backend in ("torch", "onnx")}
    detectors[f"MTCNN onnx, {LIVE_DETECT_SIDE} px"] = FaceDetector(max_side=LIVE_DETECT_SIDE, backend="onnx").detect
    return latency_ms(detectors, six_face_frame(), max(1, rounds // 2), per_round=5)


def tracking_figures(seconds: float = 5.0, fps: float = 30.0) -> dict[str, float]:
    """The live path (`LiveAnnotator`, int8 model, ONNX MTCNN at 320 px) fed the six-face frame at `fps`: the
    analyses (detect + classify) run on a background thread on the newest frame, the frames in between keep the
    tracked faces. Returns frames shown, analyses, the mean ms of one analysis, and the frame path's median ms."""
    from core.inference.live import LiveAnnotator, live_predictor

    annotator = LiveAnnotator(live_predictor(str(CHECKPOINTS_DIR / f"{LIVE_MODEL}.onnx")))
    frame, stats, path_ms = np.asarray(six_face_frame()), annotator.stats, []
    try:
        annotator.annotate(frame)
        if not annotator.wait_for_analysis(1):  # warm: sessions built, first faces known
            raise RuntimeError(f"the live analysis did not run: {stats.error or 'no result in 30 s'}")
        first, busy, end = stats.analyses, stats.analysis_seconds, time.monotonic() + seconds
        while time.monotonic() < end:
            start = time.perf_counter()
            annotator.annotate(frame)
            path_ms.append((time.perf_counter() - start) * 1e3)
            time.sleep(max(0.0, 1 / fps - (time.perf_counter() - start)))
    finally:
        annotator.close(wait=30)
    analyses = stats.analyses - first
    return {
        "frames": len(path_ms),
        "analyses": analyses,
        "analysis_ms": 1e3 * (stats.analysis_seconds - busy) / max(analyses, 1),
        "frame_ms": statistics.median(path_ms),
    }


# a wrapper process per run, so each peak is that run's own (RUSAGE_CHILDREN keeps the largest child ever seen)
PEAK = (
    "import resource, subprocess, sys, time; t = time.perf_counter(); subprocess.run(sys.argv[1:], check=True, "
    "capture_output=True); print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)


def cli_startup(checkpoint: Path) -> tuple[float, float]:
    """Wall seconds and peak MB of one `python -m core predict` on a photo, as a whole process."""
    with tempfile.TemporaryDirectory() as out:
        photo = shared_data_dir() / "photos" / "happy.jpeg"
        command = [
            sys.executable,
            "-m",
            "core",
            "predict",
            "--path",
            str(photo),
            "--checkpoint",
            str(checkpoint),
            "--out",
            f"{out}/a.jpg",
        ]
        wall, peak_kb = subprocess.run(
            [sys.executable, "-c", PEAK, *command], cwd=REPO_ROOT, check=True, capture_output=True, text=True
        ).stdout.split()
    return float(wall), float(peak_kb) / 1024


def plot_fer2013_curve(rows: list[tuple[str, str, float, float]], out: Path) -> None:
    """Accuracy against latency of the FER2013 models (every runtime), with the `fer` package's point."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    figure, axes = plt.subplots(figsize=(6.4, 4.0), dpi=120)
    fer2013 = [row for row in rows if row[0].startswith("fer2013")]
    for model, name, ms, accuracy in fer2013:
        axes.scatter(ms, 100 * accuracy, color="tab:blue")
        below = name == "onnx fp32"  # neighbours of the int8 points: their labels apart
        axes.annotate(
            f"{model.removeprefix('fer2013_')} {name}",
            (ms, 100 * accuracy),
            fontsize=7,
            xytext=(4, -10 if below else 3),
            textcoords="offset points",
        )
    points = sorted((ms, 100 * accuracy) for _, _, ms, accuracy in fer2013)
    best = [max(a for _, a in points[: i + 1]) for i in range(len(points))]  # the best accuracy at each latency
    axes.step([ms for ms, _ in points], best, where="post", color="tab:blue", alpha=0.5, label="ours: best so far")
    measured = [Point(ms, accuracy) for model, _, ms, accuracy in rows if model == "fer mini-Xception"]
    fer = measured[0] if measured else FER_PACKAGE
    axes.scatter(fer.ms, 100 * fer.accuracy, color="tab:red", marker="x", s=60)
    axes.annotate(
        "fer mini-Xception" + ("" if measured else " (issue 13)"),
        (fer.ms, 100 * fer.accuracy),
        fontsize=7,
        color="tab:red",
        xytext=(4, -9),
        textcoords="offset points",
    )
    axes.set(
        xscale="log",
        xlabel="ms per face (batch 1, 2 threads, log scale)",
        ylabel="PrivateTest accuracy, no TTA (%)",
        title="FER2013: accuracy against latency on this CPU",
    )
    axes.grid(True, which="both", alpha=0.3)
    axes.margins(x=0.3, y=0.15)  # room for the point labels
    axes.set_xticks([0.1, 0.2, 0.5, 1, 2, 5, 10], labels=["0.1", "0.2", "0.5", "1", "2", "5", "10"])
    axes.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    axes.legend(loc="lower right", fontsize=7)
    figure.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out)
    plt.close(figure)


def models_section(rounds: int, plot: Path | None = None, classifiers_only: bool = False) -> None:
    print("\nper-face latency (batch 1, 2 threads) and PrivateTest accuracy (no TTA), ratios against onnx fp32:")
    rows = classifier_rows(rounds)
    if plot is not None:
        plot_fer2013_curve(rows, plot)
    base = {model: ms for model, name, ms, _ in rows if name == "onnx fp32"}
    for model, name, ms, accuracy in rows:
        print(f"  {model:20s} {name:11s} {ms:6.3f} ms  ({base[model] / ms:4.1f}x faster)  accuracy {accuracy:.2%}")
    if not any(model == "fer mini-Xception" for model, *_ in rows):
        print(
            f"  {'fer mini-Xception':20s} {'onnxruntime':11s} {FER_PACKAGE.ms:6.3f} ms  (issue 13's figure, not "
            f"measured here: ../shared/peers/ is absent)  accuracy {FER_PACKAGE.accuracy:.2%}"
        )
    if classifiers_only:
        return
    print("\nface detector per 640x480 frame (six-face photo):")
    detectors = detector_ms(rounds)
    for name, ms in detectors.items():
        print(f"  {name:20s} {ms:7.1f} ms  ({detectors['MTCNN torch'] / ms:4.1f}x faster than torch)")
    live = tracking_figures()
    # the frame path is what a shown frame waits for; the analysis runs beside it on the newest frame
    print(
        f"  {'live, with tracking':20s} {live['frame_ms']:7.1f} ms  a frame shown (draws the tracked faces); "
        f"detect + classify {live['analysis_ms']:.0f} ms on a background thread, on {live['analyses']} of "
        f"{live['frames']} frames at 30 fps"
    )
    print("\n`python -m core predict` on one photo, whole process (wall, peak memory of the process):")
    for checkpoint in (CHECKPOINTS_DIR / "fer2013_fernet.pt", CHECKPOINTS_DIR / f"{LIVE_MODEL}.onnx"):
        if checkpoint.is_file():
            wall, peak = cli_startup(checkpoint)
            print(f"  {checkpoint.name:26s} {wall:5.2f} s  {peak:6.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--plot", type=Path, help="also draw the FER2013 accuracy/latency curve to this PNG")
    parser.add_argument(
        "--classifiers-only",
        action="store_true",
        help="only the per-face table (no detector, live path or CLI start-up)",
    )
    args = parser.parse_args()
    models_section(args.rounds, args.plot, args.classifiers_only)


if __name__ == "__main__":
    main()
