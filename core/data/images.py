"""Turning any image a user has into the gray square faces the models see.

Handles every PIL mode people meet in practice (RGB, RGBA, LA, P, CMYK, 1, 16-bit and float),
EXIF rotation, animated files (first frame) and refuses decompression bombs before decoding. Every unusable
file is a DataError that says what is wrong with it: empty, not an image, truncated, too large.
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from core.errors import DataError

FACE_SIDE = 48  # FER2013 faces are 48x48 gray
MAX_PIXELS = 40_000_000  # about 6300x6300; larger images are refused, not decoded
MIN_SIDE = 12  # MTCNN's smallest window; fewer pixels than that cannot show a face
BOMB_SIZE = re.compile(r"\((\d+) pixels\)")  # Pillow's DecompressionBombError: "Image size (N pixels) exceeds ..."
ImageSource = str | Path | BinaryIO  # a file, or an upload's bytes (Streamlit's UploadedFile)


def source_name(source: ImageSource) -> str:
    """How messages name an image: its path, or an upload's own file name."""
    return str(source) if isinstance(source, (str, Path)) else str(getattr(source, "name", None) or "the upload")


def is_empty(source: ImageSource) -> bool:
    """Whether the file (or file object) holds no bytes at all; Pillow would only say it cannot identify it."""
    if isinstance(source, (str, Path)):
        return Path(source).is_file() and Path(source).stat().st_size == 0
    position = source.tell()
    size = source.seek(0, os.SEEK_END)
    source.seek(position)
    return size == 0


def open_image(source: ImageSource) -> Image.Image:
    """Open and fully decode an image file (or binary file object), upright (EXIF); DataError naming it if unusable.

    Animated images give their first frame, with `info["frames"]` holding how many there are."""
    name = source_name(source)
    if is_empty(source):
        raise DataError("the file is empty", path=name)
    try:
        with Image.open(source) as img:
            check_pixel_limit(img, name)
            frames = getattr(img, "n_frames", 1)
            img.seek(0)  # animated GIF/WebP/APNG: the first frame
            img.load()
            upright = ImageOps.exif_transpose(img)
    except DataError:
        raise
    except Exception as exc:  # Pillow's decoders raise many types (OSError, SyntaxError, struct.error ...)
        raise DataError(unreadable_problem(exc), path=name) from None
    if frames > 1:
        upright.info["frames"] = frames
    return upright


def unreadable_problem(exc: Exception) -> str:
    """What to tell a person whose file Pillow could not open."""
    if isinstance(exc, UnidentifiedImageError):
        return "not an image (or an unsupported format)"
    if isinstance(exc, Image.DecompressionBombError):
        found = BOMB_SIZE.search(str(exc))
        pixels = f"has {int(found.group(1)):,} pixels" if found else "has too many pixels"
        return f"image {pixels}, above the limit of {MAX_PIXELS:,} pixels"
    if isinstance(exc, FileNotFoundError):
        return "no such file"
    if isinstance(exc, OSError) and exc.errno is not None:  # permissions, a folder ...: not the file's fault
        return f"cannot be read ({exc.strerror})"
    if "truncated" in str(exc):  # Pillow: "image file is truncated (156 bytes not processed)"
        return "the image file is truncated: it ends before the image does"
    return f"the image file is damaged ({exc})"


def check_pixel_limit(img: Image.Image, path: str | Path | None = None) -> None:
    """Refuse images above MAX_PIXELS before their pixels are decoded (decompression bombs)."""
    width, height = img.size
    if width * height > MAX_PIXELS:
        raise DataError(f"image is {width}x{height} pixels, above the limit of {MAX_PIXELS:,} pixels", path=path)
    if width < 1 or height < 1:
        raise DataError(f"image has no pixels ({width}x{height})", path=path)


def too_small(size: tuple[int, int]) -> str | None:
    """Why an image of this size cannot hold a face, or None when it can."""
    if min(size) >= MIN_SIDE:
        return None
    return f"the image is {size[0]}x{size[1]} pixels, too small to hold a face (at least {MIN_SIDE}x{MIN_SIDE})"


def to_gray(img: Image.Image) -> Image.Image:
    """Convert any PIL mode to 8-bit gray ('L'); transparent areas become white."""
    if img.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        values = np.asarray(img, dtype=np.float64)
        top = 65535.0 if img.mode.startswith("I;16") or values.max(initial=0) > 255 else 255.0
        return Image.fromarray(np.clip(values / top * 255.0 + 0.5, 0, 255).astype(np.uint8))
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba)
    if img.mode not in ("L", "RGB"):
        img = img.convert("RGB")  # CMYK, YCbCr, LAB, HSV, 1, P ...
    return img.convert("L")


def to_rgb(img: Image.Image) -> Image.Image:
    """Convert any PIL mode to 8-bit RGB (what the face detector expects); transparent areas become white."""
    if img.mode == "RGB":
        return img
    if img.mode in ("L", "I;16", "I;16L", "I;16B", "I;16N", "I", "F", "1"):
        return to_gray(img).convert("RGB")
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        background = Image.new("RGBA", img.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, img.convert("RGBA")).convert("RGB")
    return img.convert("RGB")


def as_pil(image: Image.Image | np.ndarray) -> Image.Image:
    """Accept a PIL image or a numpy array (H,W), (H,W,3) or (H,W,4) of uint8, uint16 or float in [0, 1]."""
    if isinstance(image, Image.Image):
        return image
    array = np.asarray(image)
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (1, 3, 4)) or 0 in array.shape:
        raise DataError(f"an image array must be (H, W), (H, W, 3) or (H, W, 4), got shape {array.shape}")
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.dtype == np.uint16:
        array = (array / 257.0 + 0.5).astype(np.uint8)
    elif array.dtype.kind == "f":
        array = (np.clip(array, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    elif array.dtype != np.uint8:
        array = np.clip(array, 0, 255).astype(np.uint8)
    return Image.fromarray(np.ascontiguousarray(array))


def as_rgb(image: Image.Image | np.ndarray) -> Image.Image:
    """Any image or array (see `as_pil`) as 8-bit RGB; an animated image's `info["frames"]` is kept."""
    pil = as_pil(image)
    rgb = to_rgb(pil)
    if "frames" in pil.info and rgb is not pil:
        rgb.info["frames"] = pil.info["frames"]
    return rgb


def to_face_array(img: Image.Image, side: int = FACE_SIDE) -> np.ndarray:
    """A gray uint8 array of shape (side, side) from any image (the whole image, resized)."""
    gray = to_gray(img)
    if gray.size != (side, side):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gray = gray.resize((side, side), Image.Resampling.BILINEAR)
    return np.asarray(gray, dtype=np.uint8)


def cut_padded(array: np.ndarray, left: int, top: int, right: int, bottom: int) -> np.ndarray:
    """array[top:bottom, left:right] of a 2-D image, the part outside it filled by repeating the edge pixels
    (a face near the border keeps a plausible background instead of a black band)."""
    pad = max(0, -left, -top, right - array.shape[1], bottom - array.shape[0])
    if pad:
        array = np.pad(array, pad, mode="edge")
    return array[top + pad : bottom + pad, left + pad : right + pad]


def tile_faces(faces: np.ndarray, columns: int, gap: int = 2) -> np.ndarray:
    """Gray faces (n, H, W) as one picture, `columns` to a row, `gap` white pixels between them: a page shows one
    image instead of n (each image is a request and a redraw in the browser)."""
    faces = np.asarray(faces)
    n, height, width = faces.shape
    rows = -(-n // columns)
    sheet = np.full((rows * (height + gap) - gap, columns * (width + gap) - gap), 255, dtype=np.uint8)
    for k, face in enumerate(faces):
        top, left = (k // columns) * (height + gap), (k % columns) * (width + gap)
        sheet[top : top + height, left : left + width] = face
    return sheet
