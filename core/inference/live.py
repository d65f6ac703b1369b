"""Live video annotation: every frame is drawn at once with the latest labels, while faces are detected and
classified on a background thread, always on the newest frame.

A 640x480 frame costs ~1-5 ms to draw but 30-300 ms to analyse (MTCNN is most of it) on 2 busy cores. Doing both
in the frame path caps a stream at the analysis rate and makes every frame wait for it; here the stream runs at
the camera's rate and the analysis at its own (it skips the frames that arrive while it works). Between
analyses the faces keep their smoothed boxes and labels (`core.inference.tracking`), so labels stay steady.

The transport (WebRTC through aiortc, or any loop over frames) only calls `annotate(frame)`; `close()` ends the
analysis thread.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import numpy as np

from core.inference.draw import annotate
from core.inference.predictor import FacePrediction, PredictionResult, Predictor
from core.inference.tracking import SMOOTH_WINDOW, Track, smooth_faces

LIVE_DETECT_SIDE = 320  # frames shrunk to this for detection: ~4x cheaper than 640 and finds faces >= ~60 px
LIVE_BOX_WEIGHT = 0.6  # box smoothing across analyses (see tracking.blend_box)


@dataclass
class LiveStats:
    """What the stream has done so far (for the page and the benchmark)."""

    frames: int = 0  # frames annotated and handed back
    analyses: int = 0  # frames on which faces were detected and classified
    analysis_ms: float = 0.0  # the last analysis's duration
    analysis_seconds: float = 0.0  # all analyses together (the benchmark's mean)
    faces: int = 0  # faces in the last analysis
    error: str = ""  # the analysis thread's last error, shown instead of failing the stream
    started: float = field(default_factory=time.monotonic)  # when the stream began (rates for the page)


class LiveAnnotator:
    """Annotates a stream of RGB frames (H, W, 3 uint8) with one predictor; thread-safe, one per stream."""

    def __init__(
        self,
        predictor: Predictor,
        tta: str | None = None,
        window: int = SMOOTH_WINDOW,
        box_weight: float = LIVE_BOX_WEIGHT,
    ):
        self.predictor, self.tta, self.window, self.box_weight = predictor, tta, window, box_weight
        self.stats = LiveStats()
        self._faces: list[FacePrediction] = []
        self._tracks: list[Track] = []
        self._pending: np.ndarray | None = None
        self._wake = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._analyse_forever, name="live-analysis", daemon=True)
        self._thread.start()

    @property
    def faces(self) -> list[FacePrediction]:
        """The smoothed faces drawn on the current frames."""
        return list(self._faces)

    def annotate(self, frame: np.ndarray) -> np.ndarray:
        """`frame` with the latest faces drawn on it; the frame also becomes the next one to analyse."""
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ValueError(f"expected an RGB uint8 frame (H, W, 3), got {frame.dtype} {frame.shape}")
        with self._wake:
            self._pending = frame  # replaces a frame the analysis has not reached: only the newest matters
            self._wake.notify()
        self.stats.frames += 1
        faces = self._faces
        return np.asarray(annotate(frame, PredictionResult(faces))) if faces else frame

    def wait_for_analysis(self, count: int = 1, timeout: float = 30.0) -> bool:
        """Block until `count` analyses are done in all (tests and warm-up); False on timeout."""
        deadline = time.monotonic() + timeout
        while self.stats.analyses < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.stats.analyses >= count

    def close(self, wait: float = 0.0) -> bool:
        """End the analysis thread, waiting up to `wait` seconds for its current analysis (a benchmark about to
        exit, so no onnxruntime call is cut off mid-run); True when the thread has ended."""
        with self._wake:
            self._closed = True
            self._wake.notify()
        if wait > 0 and threading.current_thread() is not self._thread:
            self._thread.join(wait)
        return not self._thread.is_alive()

    def _next_frame(self) -> np.ndarray | None:
        with self._wake:
            while self._pending is None and not self._closed:
                self._wake.wait()
            frame, self._pending = self._pending, None
            return None if self._closed else frame

    def _analyse_forever(self) -> None:
        while (frame := self._next_frame()) is not None:
            start = time.perf_counter()
            try:
                result = self.predictor.predict(frame, whole=False, tta=self.tta)
            except Exception as exc:  # noqa: BLE001 - a bad frame or model must not end the stream; shown in stats
                self.stats.error = f"{type(exc).__name__}: {exc}"
                continue
            self._tracks, faces = smooth_faces(self._tracks, result.faces, self.window, self.box_weight)
            self._faces = faces  # one assignment: the frame path reads either the old list or the new one
            self.stats.analyses += 1
            seconds = time.perf_counter() - start
            self.stats.analysis_ms, self.stats.analysis_seconds = seconds * 1000, self.stats.analysis_seconds + seconds
            self.stats.faces, self.stats.error = len(faces), ""


def live_predictor(path: str, detect_side: int = LIVE_DETECT_SIDE) -> Predictor:
    """A predictor for live video: the ONNX MTCNN (cheaper than torch's on this path) on frames shrunk to
    `detect_side`. A separate instance from the upload path's, which keeps full-size detection."""
    predictor = Predictor.load(path, device="cpu", detector="onnx")
    predictor.detect_side = detect_side
    return predictor
