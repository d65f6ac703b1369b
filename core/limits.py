"""Bounds on every input the project reads or is told: one place, so docs/security.md and the checks agree.

Each bound sits well above what the real data or a real use needs (the margin is said beside it) and well below
what would exhaust this machine's memory or disk; an input beyond one is refused with a one-line error before
anything is written.
"""

from __future__ import annotations

# csv files (fer2013.csv, fer2013new.csv; plain or gzipped): counted on the DECOMPRESSED text while it streams,
# so a small .gz cannot expand into gigabytes before it is refused
MAX_CSV_BYTES = 1 << 29  # 512 MiB; the real fer2013.csv is 301 MB unzipped (1.7x margin)
MAX_CSV_LINE_BYTES = 1 << 16  # 64 KiB; fer2013.csv's longest line is 9,229 bytes (48x48 pixels of "255 "), 7x
MAX_CSV_ROWS = 250_000  # fer2013.csv has 35,887 rows (7x margin); bounds pandas' per-row cost on tiny lines
MAX_FOLDER_IMAGES = MAX_CSV_ROWS  # an image-folder data set: the same number of faces (48x48 bytes each, 576 MB)

# images: more pixels than this are refused from the header alone (core.data.images.MAX_PIXELS, 40 M)

# model input side in pixels: the largest registered model takes 160; one 512x512 gray image is 1 MiB as float32,
# a batch of 64 is 64 MiB, while 100000 asked for 2 TB per batch. Above 512 a 48x48 face is only blown up.
MAX_INPUT_SIZE = 512
