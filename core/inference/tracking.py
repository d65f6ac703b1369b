"""Faces followed across video frames: each detection is matched to the track it continues, and the track's
recent probabilities (and its box) are averaged, so labels and boxes stay steady from frame to frame.

Used by both webcam paths: the Gradio app's frame-by-frame stream and the live (WebRTC) mode of
`core.inference.live`. Pure functions over plain data: the caller keeps the tracks between frames.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from core.inference.predictor import FacePrediction

SMOOTH_WINDOW = 5  # detections averaged per face: steady labels, and an expression change shows within ~5
BOX_SMOOTHING = 0.5  # weight of the new box against the track's: halves detector jitter, lags a moving face ~1 step

Box = tuple[float, float, float, float]


@dataclass
class Track:
    """One face followed across frames: where it was last seen, its recent probabilities and its smoothed box."""

    centre: tuple[float, float]
    history: list[dict[str, float]]
    box: Box | None = None


def box_centre(box: Box | None) -> tuple[float, float]:
    return (0.0, 0.0) if box is None else ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)


def match_faces(tracks: list[Track], faces: list[FacePrediction]) -> dict[int, int]:
    """face index -> track index: closest centres first, each used once, never farther than the face's size
    (a face that jumps further is a different person or a new detection, so it starts fresh)."""
    pairs = []
    for f, face in enumerate(faces):
        reach = math.inf if face.box is None else max(face.box[2] - face.box[0], face.box[3] - face.box[1])
        for t, track in enumerate(tracks):
            distance = math.dist(box_centre(face.box), track.centre)
            if distance <= reach:
                pairs.append((distance, f, t))
    matched: dict[int, int] = {}
    for _, f, t in sorted(pairs):
        if f not in matched and t not in matched.values():
            matched[f] = t
    return matched


def blend_box(old: Box | None, new: Box | None, weight: float = BOX_SMOOTHING) -> Box | None:
    """`new` moved towards `old` (exponential smoothing); a new face, or a whole-image "box", is taken as is."""
    if old is None or new is None:
        return new
    return tuple(weight * n + (1 - weight) * o for o, n in zip(old, new))  # type: ignore[return-value]


def smooth_faces(
    tracks: list[Track], faces: list[FacePrediction], window: int = SMOOTH_WINDOW, box_weight: float = 1.0
) -> tuple[list[Track], list[FacePrediction]]:
    """Each face's probabilities averaged over its last `window` detections, and the tracks for the next frame.

    `box_weight` < 1 also smooths the boxes (1.0 keeps the detector's). Faces that left the frame drop their track."""
    matched = match_faces(tracks, faces)
    new_tracks, smoothed = [], []
    for f, face in enumerate(faces):
        track = tracks[matched[f]] if f in matched else None
        # a model switch changes the class list; older frames then cannot be averaged in
        kept = [h for h in track.history if h.keys() == face.probabilities.keys()] if track else []
        history = (kept[-(window - 1) :] if window > 1 else []) + [dict(face.probabilities)]
        mean = {c: sum(h[c] for h in history) / len(history) for c in face.probabilities}
        label = max(mean, key=mean.get)
        box = blend_box(track.box if track else None, face.box, box_weight)
        smoothed.append(FacePrediction(box, face.score, mean, label, mean[label]))
        new_tracks.append(Track(box_centre(face.box), history, box))
    return new_tracks, smoothed
