"""Image helpers (core/data/images.py): tiling faces into one picture for the pages."""

from __future__ import annotations

import numpy as np

from core.data.images import tile_faces


def test_faces_tile_in_reading_order_with_white_gaps():
    faces = np.stack([np.full((3, 4), k * 10, dtype=np.uint8) for k in range(5)])  # face k is all k * 10
    sheet = tile_faces(faces, columns=3, gap=1)
    assert sheet.shape == (2 * 3 + 1, 3 * 4 + 2)
    assert sheet[0, 0] == 0 and sheet[0, 5] == 10 and sheet[0, 10] == 20  # first row: faces 0, 1, 2
    assert sheet[4, 0] == 30 and sheet[4, 5] == 40  # second row: faces 3, 4
    assert sheet[3, 0] == 255 and sheet[0, 4] == 255  # the gaps
    assert (sheet[4:, 10:] == 255).all()  # no sixth face: blank
