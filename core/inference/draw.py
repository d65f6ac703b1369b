"""Drawing predictions onto images: a box per face and its label with the confidence."""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from core.data.images import as_rgb
from core.inference.predictor import PredictionResult

COLOURS = {"angry": (220, 50, 47), "disgust": (133, 153, 0), "fear": (108, 113, 196), "happy": (255, 193, 7),
           "sad": (38, 139, 210), "surprise": (211, 54, 130), "neutral": (147, 161, 161), "contempt": (203, 75, 22)}


def annotate(image: Image.Image | np.ndarray, result: PredictionResult) -> Image.Image:
    """An RGB copy of `image` with each face boxed and labelled ("happy 87%")."""
    canvas = as_rgb(image).copy()
    draw = ImageDraw.Draw(canvas)
    line = max(2, round(max(canvas.size) / 250))
    font = ImageFont.load_default(size=max(12, round(max(canvas.size) / 30)))
    for face in result.faces:
        box = face.box or (0, 0, canvas.width - 1, canvas.height - 1)
        colour = COLOURS.get(face.label, (255, 255, 255))
        draw.rectangle(box, outline=colour, width=line)
        text = f"{face.label} {face.confidence:.0%}"
        left, top, right, bottom = draw.textbbox((box[0], box[1]), text, font=font)
        top_y = box[1] - (bottom - top) - 2 * line if box[1] - (bottom - top) - 2 * line >= 0 else box[1]
        draw.rectangle((box[0], top_y, box[0] + (right - left) + 2 * line, top_y + (bottom - top) + 2 * line),
                       fill=colour)
        draw.text((box[0] + line, top_y + line - (top - box[1])), text, fill=(0, 0, 0), font=font)
    return canvas
