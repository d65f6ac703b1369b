"""Fake webcams for Chromium (`--use-file-for-fake-video-capture=clip.y4m`) made from the project's photos, and
the frame code that lets a page tell which camera frame it is looking at.

Y4M is a one-line header and raw I420 frames. Every frame carries its number as a bar code in its bottom
CODE_ROWS rows (CODE_BITS black or white blocks), which survives video compression; `CODE_JS` reads it back from
a <video> or <img> in the page. The faces drift a few pixels from frame to frame, so tracking has work to do.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

WIDTH, HEIGHT, FPS = 640, 480, 30
CODE_BITS, CODE_ROWS = 10, 16  # frame numbers 0-1023, 64 px blocks along the bottom 16 rows


def scene(photos: list[Image.Image], faces: int, shift: int = 0) -> Image.Image:
    """A 640x480 frame: one photo in the middle, or `faces` photos tiled 3 across; all moved `shift` px right."""
    frame = Image.new("RGB", (WIDTH, HEIGHT), (90, 100, 110))
    if faces == 1:
        frame.paste(photos[0].resize((200, 200)), (220 + shift, 120))
        return frame
    rows = -(-faces // 3)
    cell_w, cell_h = WIDTH // 3, (HEIGHT - 2 * CODE_ROWS) // rows
    side = min(cell_w, cell_h) - 24
    for i in range(faces):
        photo = photos[i % len(photos)].resize((side, side))
        frame.paste(photo, ((i % 3) * cell_w + (cell_w - side) // 2 + shift, (i // 3) * cell_h + 8))
    return frame


def with_code(rgb: np.ndarray, number: int) -> np.ndarray:
    out = rgb.copy()
    block = WIDTH // CODE_BITS
    for bit in range(CODE_BITS):
        out[-CODE_ROWS:, bit * block : (bit + 1) * block] = 255 if (number >> bit) & 1 else 0
    return out


def to_i420(rgb: np.ndarray) -> bytes:
    """Full-range BT.601 (Y4M's C420jpeg) planes: Y at full size, U and V averaged over 2x2 blocks."""
    r, g, b = (rgb[..., i].astype(np.float32) for i in range(3))
    y = 0.299 * r + 0.587 * g + 0.114 * b
    u = (b - y) * 0.564 + 128
    v = (r - y) * 0.713 + 128
    half = [(p.reshape(HEIGHT // 2, 2, WIDTH // 2, 2).mean(axis=(1, 3))) for p in (u, v)]
    return b"".join(np.clip(np.rint(p), 0, 255).astype(np.uint8).tobytes() for p in (y, *half))


def write_clip(path: Path, photos: list[Path], faces: int, frames: int = 90) -> Path:
    """A looping clip of `frames` frames at 30 fps; the faces drift +-12 px over it."""
    images = [Image.open(p).convert("RGB") for p in photos]
    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F{FPS}:1 Ip A1:1 C420jpeg\n".encode())
        for n in range(frames):
            shift = round(12 * np.sin(2 * np.pi * n / frames))
            out.write(b"FRAME\n" + to_i420(with_code(np.asarray(scene(images, faces, shift)), n)))
    return path


# Reads the frame number from an element's bottom rows: centre of each block, bright = 1.
CODE_JS = """(el) => {
  const c = window.__codeCanvas || (window.__codeCanvas = document.createElement('canvas'));
  c.width = %d; c.height = 1;
  const g = c.getContext('2d', {willReadFrequently: true});
  const w = el.videoWidth || el.naturalWidth || el.width, h = el.videoHeight || el.naturalHeight || el.height;
  if (!w || !h) return -1;
  g.drawImage(el, 0, h - h * %d / %d / 2, w, 1, 0, 0, %d, 1);
  const px = g.getImageData(0, 0, %d, 1).data;
  let n = 0;
  for (let bit = 0; bit < %d; bit++) {
    const x = Math.floor((bit + 0.5) * %d / %d);
    if (px[4 * x] + px[4 * x + 1] + px[4 * x + 2] > 3 * 128) n |= 1 << bit;
  }
  return n;
}""" % (WIDTH, CODE_ROWS, HEIGHT, WIDTH, WIDTH, CODE_BITS, WIDTH, CODE_BITS)
