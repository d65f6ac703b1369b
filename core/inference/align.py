"""Eye-aligned face crops: faces in photos framed the way FER2013 frames its 48x48 faces.

FER2013's faces are roughly upright, with the eyes at about the same height and distance apart in every image.
A box crop (a square around MTCNN's box, see `faces.crop_face`) keeps a tilted head tilted and frames faces by
the box, which MTCNN draws larger than FER2013's frame. Here the two eye landmarks fix a similarity transform
(rotation, scale, shift) so that, in the crop, the eyes are level, `EYE_DISTANCE` apart and centred on
`EYE_CENTRE`. Plain numpy and PIL, so the torch-free ONNX path can use it.

The crop is cut in two steps, like the box crop: the rotated square at its own resolution (scale about 1, so
bilinear sampling loses nothing), then resized to the model's side with PIL's antialiased bilinear filter, the
same resize the box crop and the 48x48 originals went through.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from PIL import Image

from core.data.images import cut_padded

# Where FER2013 puts the eyes, as fractions of the frame side. Measured with the ONNX MTCNN itself (the detector
# that finds the faces this frame is applied to, so its landmark bias cancels out): 1,000 random Training faces
# (seed 0), each upscaled 4x to 192 px (bicubic) and pasted in the middle of a 384x384 mid-gray canvas; 897
# were found (threshold 0.9). Medians of the first face's landmarks, in 48x48 pixels: eye distance 17.84
# (IQR 16.1-19.4), eye midpoint x 24.41 (IQR 23.4-25.4), y 18.67 (IQR 17.3-19.7); eye-line angle -0.55 degrees.
EYE_DISTANCE = 17.84 / 48
EYE_CENTRE = (24.41 / 48, 18.67 / 48)
# Eye distance / longer side of MTCNN's box on the same faces: 5th percentile 0.29, 95th 0.40 (median 0.355).
# A face turned sideways shows its eyes close together: scaling by that distance alone would zoom in on half a
# face, so the distance used is kept within this range of the box.
EYE_TO_BOX = (0.29, 0.40)

Point = tuple[float, float]
Box = tuple[float, float, float, float]


def eye_angle(landmarks: Sequence[Point]) -> float:
    """The eye line's angle in degrees, clockwise on screen (image y points down); 0 is level."""
    (lx, ly), (rx, ry) = landmarks[0], landmarks[1]
    return math.degrees(math.atan2(ry - ly, rx - lx))


def frame_side(landmarks: Sequence[Point], box: Box) -> float:
    """The side, in image pixels, of the square that frames the face like FER2013 (from the eye distance,
    kept within EYE_TO_BOX of the box's longer side)."""
    (lx, ly), (rx, ry) = landmarks[0], landmarks[1]
    box_side = max(box[2] - box[0], box[3] - box[1])
    distance = min(max(math.hypot(rx - lx, ry - ly), EYE_TO_BOX[0] * box_side), EYE_TO_BOX[1] * box_side)
    return distance / EYE_DISTANCE


def alignment_affine(landmarks: Sequence[Point], box: Box, out: int) -> tuple[float, ...]:
    """PIL AFFINE coefficients (a, b, c, d, e, f) mapping a pixel of the out x out aligned square to the image
    point it shows: x = a*u + b*v + c, y = d*u + e*v + f (PIL's continuous coordinates, pixel centres at +0.5)."""
    (lx, ly), (rx, ry) = landmarks[0], landmarks[1]
    angle = math.atan2(ry - ly, rx - lx)
    scale = frame_side(landmarks, box) / out  # image pixels per output pixel
    cos, sin = scale * math.cos(angle), scale * math.sin(angle)
    # output x runs along the eye line, output y across it; the frame's eye point lands on the eye midpoint
    cu, cv = EYE_CENTRE[0] * out, EYE_CENTRE[1] * out
    mx, my = (lx + rx) / 2, (ly + ry) / 2
    return cos, -sin, mx - cos * cu + sin * cv, sin, cos, my - sin * cu - cos * cv


def align_face(gray: Image.Image, landmarks: Sequence[Point], box: Box, size: int) -> np.ndarray:
    """The eye-aligned gray uint8 crop (size, size) of one face; outside the image is edge-padded."""
    out = max(1, round(frame_side(landmarks, box)))
    a, b, c, d, e, f = alignment_affine(landmarks, box, out)
    # only the rotated square's bounding box is cut out and warped, not the whole photo
    corners = [(a * u + b * v + c, d * u + e * v + f) for u in (0, out) for v in (0, out)]
    left, top = math.floor(min(x for x, _ in corners)) - 1, math.floor(min(y for _, y in corners)) - 1
    right, bottom = math.ceil(max(x for x, _ in corners)) + 1, math.ceil(max(y for _, y in corners)) + 1
    region = Image.fromarray(np.ascontiguousarray(cut_padded(np.asarray(gray), left, top, right, bottom)))
    square = region.transform(
        (out, out), Image.Transform.AFFINE, (a, b, c - left, d, e, f - top), resample=Image.Resampling.BILINEAR
    )
    return np.asarray(square.resize((size, size), Image.Resampling.BILINEAR), dtype=np.uint8)
