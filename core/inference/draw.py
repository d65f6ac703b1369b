"""Drawing predictions onto images: each face boxed in its own colour, with its number (as in the face list and the
chart, which use the same colour) and its label.

Labels always lie wholly inside the picture: above the box where there is room, else just inside its top edge,
slid left or down at the image's borders. Their size follows the picture, not the face, so they stay readable on
small faces; a label wider than its face is shortened ("3 happy", then "3") so neighbours do not cover each other,
and the face list says the rest. Pictures smaller than MIN_SIDE are enlarged first (nearest neighbour: the pixels
stay as they were) so that a 48x48 face crop still gets a legible label.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from core.data.images import as_rgb
from core.inference.predictor import PredictionResult

# Okabe-Ito's colour-blind-safe set (black left out: it vanishes on dark photos), then two more; face n gets
# FACE_COLOURS[(n - 1) % 10] in the picture and in every chart
FACE_COLOURS = (
    "#E69F00",
    "#56B4E9",
    "#009E73",
    "#F0E442",
    "#0072B2",
    "#D55E00",
    "#CC79A7",
    "#999999",
    "#8C564B",
    "#17BECF",
)
MIN_SIDE = 160  # pixels: smaller pictures (face crops) are enlarged by a whole factor before drawing
MIN_FONT = 14  # pixels: the smallest label text drawn
OVERHANG = 1.5  # a label may be this many times as wide as its face before it is shortened


def face_colour(number: int) -> str:
    """The colour of face `number` (1-based, as faces are numbered) as "#rrggbb"."""
    return FACE_COLOURS[(number - 1) % len(FACE_COLOURS)]


def rgb(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))


def text_colour(colour: str) -> tuple[int, int, int]:
    """Black or white, whichever reads better on `colour` (WCAG relative luminance, threshold near its middle)."""
    channels = [c / 255 for c in rgb(colour)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    return (0, 0, 0) if luminance > 0.18 else (255, 255, 255)


@dataclass(frozen=True)
class Tag:
    """One face as drawn: its box on the canvas, its label text and the label's rectangle, and its colour."""

    number: int
    box: tuple[float, float, float, float]
    text: str
    rect: tuple[int, int, int, int]
    colour: str


def scale_for(size: tuple[int, int]) -> int:
    """The whole factor a picture is enlarged by before drawing (1 for pictures of MIN_SIDE and more)."""
    return max(1, math.ceil(MIN_SIDE / max(size)))


def font_for(size: tuple[int, int]) -> ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=max(MIN_FONT, round(max(size) / 30)))


def tags(
    size: tuple[int, int], result: PredictionResult, font: ImageFont.FreeTypeFont, scale: int = 1, pad: int = 2
) -> list[Tag]:
    """Where each face's box and label go on a canvas of `size` (boxes scaled by `scale`); labels inside it."""
    width, height = size
    placed = []
    for number, face in enumerate(result.faces, 1):
        # a box may reach past the picture (a face at its border): its outline is drawn where it is seen
        x0, y0, x1, y1 = (v * scale for v in face.box) if face.box else (0, 0, width - 1, height - 1)
        box = (max(0, x0), max(0, y0), min(width - 1, x1), min(height - 1, y1))
        text_w, text_h, text = fitting_text(
            font, number, face.label, face.confidence, box[2] - box[0], width, pad, alone=len(result.faces) == 1
        )
        left = min(max(0, round(box[0])), width - text_w)
        above = round(box[1]) - text_h
        top = min(above if above >= 0 else max(0, round(box[1])), height - text_h)
        placed.append(
            Tag(number, box, text, (left, max(0, top), left + text_w, max(0, top) + text_h), face_colour(number))
        )
    return placed


def fitting_text(
    font: ImageFont.FreeTypeFont,
    number: int,
    label: str,
    confidence: float,
    face_width: float,
    canvas_width: int,
    pad: int,
    alone: bool = False,
) -> tuple[int, int, str]:
    """The longest of "3 happy 87%", "3 happy", "3" that fits the face (with OVERHANG) and the canvas; its size.
    A face `alone` in the picture has no neighbour to cover: its label may be as wide as the canvas."""
    candidates = [f"{number} {label} {confidence:.0%}", f"{number} {label}", f"{number}"]
    height = font.getbbox("0 Ag%")[3] + 2 * pad  # one height for every label, whatever its letters
    for text in candidates:
        text_w = round(font.getlength(text)) + 2 * pad
        if text == candidates[-1] or text_w <= (canvas_width if alone else min(face_width * OVERHANG, canvas_width)):
            return min(text_w, canvas_width), height, text
    raise AssertionError("unreachable: the last candidate is always taken")


def annotate(image: Image.Image | np.ndarray, result: PredictionResult) -> Image.Image:
    """An RGB copy of `image` (enlarged when small, see `scale_for`) with each face boxed, numbered and labelled."""
    canvas = as_rgb(image).copy()
    scale = scale_for(canvas.size)
    if scale > 1:
        canvas = canvas.resize((canvas.width * scale, canvas.height * scale), Image.Resampling.NEAREST)
    draw = ImageDraw.Draw(canvas)
    line = max(2, round(max(canvas.size) / 250))
    font = font_for(canvas.size)
    placed = tags(canvas.size, result, font, scale)
    for tag in placed:
        draw.rectangle(tag.box, outline=rgb(tag.colour), width=line)
    for tag in placed:  # labels after every box, so no box line crosses a label
        draw.rectangle(tag.rect, fill=rgb(tag.colour))
        draw.text((tag.rect[0] + 2, tag.rect[1] + 2), tag.text, fill=text_colour(tag.colour), font=font)
    return canvas
