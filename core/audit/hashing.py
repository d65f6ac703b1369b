"""Image hashes: exact (the pixels' SHA-1) and perceptual (pHash, 64 bits), and the near pairs of perceptual hashes.

The perceptual hash is imagehash's `phash` (Lanczos resize to 32 x 32, a 2-D DCT, the 8 x 8 lowest frequencies
compared with their median), computed for a whole batch at once: the resize stays PIL's, the DCT and the median are
vectorised, which is what makes hashing a full import take seconds rather than a minute. Hashes are uint64 with the
bits in imagehash's order, so `f"{h:016x}"` is its hex string.

Near pairs are found by multi-index hashing: the 64 bits are cut into four 16-bit chunks; two hashes within
Hamming distance t agree within t // 4 bits on at least one chunk (pigeonhole), so only rows whose chunk values are
that close are compared, looked up with sorted arrays; every candidate is then checked on all 64 bits.
"""

from __future__ import annotations

import hashlib
from itertools import combinations

import numpy as np
import scipy.fftpack
from PIL import Image

from core.progress import ProgressCallback, no_progress

HASH_SIZE, HIGHFREQ_FACTOR = 8, 4  # imagehash.phash's defaults: 64-bit hashes from a 32 x 32 DCT
CHUNKS, CHUNK_BITS = 4, 16
BATCH = 4096


def pixel_digests(images: np.ndarray) -> np.ndarray:
    """The SHA-1 of each image's pixels (and shape), as hex strings: equal digests are exact duplicates."""
    return np.array([hashlib.sha1(np.ascontiguousarray(image).tobytes()).hexdigest() for image in images], dtype=object)


def perceptual_hashes(images: np.ndarray, track: ProgressCallback = no_progress) -> np.ndarray:
    """imagehash's pHash of every uint8 gray image (N, H, W), as uint64."""
    side = HASH_SIZE * HIGHFREQ_FACTOR
    starts = range(0, len(images), BATCH)
    parts = []
    for start in track(starts, len(starts), "perceptual hashes"):
        small = lanczos_resize(np.asarray(images[start : start + BATCH]), side)
        # only the 8 lowest frequencies are kept: the second DCT runs on those rows alone (the same numbers)
        dct = scipy.fftpack.dct(scipy.fftpack.dct(small, axis=1)[:, :HASH_SIZE], axis=2)[:, :, :HASH_SIZE]
        low = dct.reshape(len(small), -1)
        bits = low > np.median(low, axis=1, keepdims=True)
        parts.append(np.packbits(bits, axis=1).view(">u8").ravel().astype(np.uint64))
    return np.concatenate(parts) if parts else np.zeros(0, np.uint64)


def lanczos_resize(faces: np.ndarray, side: int) -> np.ndarray:
    """PIL's Lanczos resize of every face (N, H, W) to side x side, in two PIL calls for the whole batch: PIL
    resizes rows, then columns, each pass rounded to 8 bits, with the same coefficients; a tall strip of faces
    resized in width only is the row pass of every face at once, and the strip of the transposed results resized
    in width is the column pass."""
    count, height, width = faces.shape
    rows = Image.fromarray(np.ascontiguousarray(faces).reshape(count * height, width), "L")
    rows = np.asarray(rows.resize((side, count * height), Image.LANCZOS)).reshape(count, height, side)
    columns = np.ascontiguousarray(rows.transpose(0, 2, 1)).reshape(count * side, height)
    columns = np.asarray(Image.fromarray(columns, "L").resize((side, count * side), Image.LANCZOS))
    return columns.reshape(count, side, side).transpose(0, 2, 1)


def hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Bitwise Hamming distance of uint64 hashes (broadcast)."""
    return np.bitwise_count(np.bitwise_xor(a, b)).astype(np.int64)


def flip_masks(bits: int, radius: int) -> np.ndarray:
    """Every `bits`-bit mask with at most `radius` bits set."""
    masks = [0]
    for r in range(1, radius + 1):
        masks += [sum(1 << b for b in chosen) for chosen in combinations(range(bits), r)]
    return np.array(masks, dtype=np.int64)


def near_hash_pairs(hashes: np.ndarray, threshold: int) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of rows (i < j) whose hashes are within Hamming distance `threshold`, enough of them to join every
    such pair into one group: rows with equal hashes are paired with the first row of that hash, and distinct
    hash values within the threshold through those first rows (multi-index hashing over the distinct values)."""
    if not 0 <= threshold < 64:
        raise ValueError(f"the Hamming threshold must be in 0..63, got {threshold}")
    values, first_rows, inverse = np.unique(np.asarray(hashes, dtype=np.uint64), return_index=True, return_inverse=True)
    copies = np.flatnonzero(first_rows[inverse] != np.arange(len(inverse)))
    a, b = distinct_near_pairs(values, threshold)
    left = np.concatenate([first_rows[inverse[copies]], first_rows[a]])
    right = np.concatenate([copies, first_rows[b]])
    return np.minimum(left, right), np.maximum(left, right)


def distinct_near_pairs(values: np.ndarray, threshold: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions (i < j) of distinct hash values within `threshold`: per 16-bit chunk, the rows whose chunk is at
    most threshold // 4 bits from each row's are looked up in the sorted chunk values and checked on 64 bits."""
    n = len(values)
    rows = np.arange(n, dtype=np.int64)
    found = []
    for chunk in range(CHUNKS):
        chunk_values = ((values >> np.uint64(chunk * CHUNK_BITS)) & np.uint64(0xFFFF)).astype(np.int64)
        order = np.argsort(chunk_values, kind="stable")
        ordered = chunk_values[order]
        for mask in flip_masks(CHUNK_BITS, threshold // CHUNKS):
            target = chunk_values ^ mask
            left = np.searchsorted(ordered, target, "left")
            count = np.searchsorted(ordered, target, "right") - left
            first = np.repeat(rows, count)
            offsets = np.arange(len(first)) - np.repeat(np.cumsum(count) - count, count)
            second = order[np.repeat(left, count) + offsets]
            keep = first < second
            first, second = first[keep], second[keep]
            close = hamming(values[first], values[second]) <= threshold
            found.append(first[close] * n + second[close])
    pairs = np.unique(np.concatenate(found)) if found else np.zeros(0, np.int64)
    return pairs // max(n, 1), pairs % max(n, 1)


def near_hash_pairs_naive(hashes: np.ndarray, threshold: int) -> set[tuple[int, int]]:
    """All pairs within `threshold`, every pair compared (the baseline the tests and the bench check against)."""
    hashes = np.asarray(hashes, dtype=np.uint64)
    pairs = set()
    for i in range(len(hashes)):
        distance = hamming(hashes[i], hashes[i + 1 :])
        pairs.update((i, i + 1 + int(j)) for j in np.flatnonzero(distance <= threshold))
    return pairs
