import imagehash
import numpy as np
import pytest
from PIL import Image

from core.audit.hashing import near_hash_pairs, near_hash_pairs_naive, perceptual_hashes, pixel_digests
from tests.audit_data import planted_faces


def test_perceptual_hashes_are_imagehash_phash():
    faces = planted_faces()
    hashes = perceptual_hashes(faces)
    assert [f"{h:016x}" for h in hashes] == [str(imagehash.phash(Image.fromarray(face))) for face in faces]


def test_pixel_digests_equal_only_for_equal_pixels():
    faces = planted_faces()
    digests = pixel_digests(faces)
    assert digests[3] == digests[42] and digests[10] == digests[11]
    assert len(set(digests)) == len(faces) - 2


@pytest.mark.parametrize("threshold", [0, 3, 6, 9, 14])
def test_near_pairs_join_what_all_pairs_finds(threshold):
    """Random hashes plus planted close ones: every pair the naive all-pairs search finds ends up in one
    component of the edges multi-index hashing returns, and no edge is farther than the threshold."""
    rng = np.random.default_rng(threshold)
    base = rng.integers(0, 2**63, size=300, dtype=np.uint64)
    flips = rng.integers(0, 64, size=(100, threshold + 1))
    close = base[:100].copy()
    for k, bits in enumerate(flips):
        for bit in bits[: rng.integers(0, threshold + 1)]:
            close[k] ^= np.uint64(1) << np.uint64(bit)
    hashes = np.concatenate([base, close, base[:5]])  # and some equal ones
    first, second = near_hash_pairs(hashes, threshold)
    distance = np.bitwise_count(hashes[first] ^ hashes[second])
    assert (distance <= threshold).all() and (first < second).all()
    parent = list(range(len(hashes)))

    def root(i):
        while parent[i] != i:
            i = parent[i]
        return i

    for a, b in zip(first, second):
        parent[root(int(a))] = root(int(b))
    expected = near_hash_pairs_naive(hashes, threshold)
    assert expected and all(root(a) == root(b) for a, b in expected)


def test_threshold_out_of_range_is_refused():
    with pytest.raises(ValueError, match="0..63"):
        near_hash_pairs(np.zeros(3, np.uint64), 64)
