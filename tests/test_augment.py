"""Batched augmentation: shapes and range kept, each op doing what it says, seeds reproducible."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from core.data.augment import N_DRAWS, ROTATE, SHIFT_X, SHIFT_Y, affine_theta, augment_batch, preview_grid
from core.data.augment_options import NO_AUGMENT, AugmentOptions


def only(**fields) -> AugmentOptions:
    """Options with every op off except the ones given."""
    return dataclasses.replace(NO_AUGMENT, **fields)


def faces(n: int = 8, seed: int = 0, chans: int = 1) -> torch.Tensor:
    return torch.rand((n, chans, 48, 48), generator=torch.Generator().manual_seed(seed))


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("options", [AugmentOptions(), AugmentOptions(color_jitter=True, invert=0.2, erase=1.0)])
@pytest.mark.parametrize("chans", [1, 3])
def test_shape_dtype_device_and_range_kept(options, chans):
    images = faces(16, chans=chans)
    out = augment_batch(images, options, seeded())
    assert out.shape == images.shape and out.dtype == images.dtype and out.device == images.device
    assert out.min() >= 0 and out.max() <= 1
    assert not torch.equal(out, images)


def test_no_augment_is_identity():
    images = faces()
    torch.testing.assert_close(augment_batch(images, NO_AUGMENT, seeded()), images, atol=1e-5, rtol=0)
    torch.testing.assert_close(augment_batch(images, NO_AUGMENT), images, atol=1e-5, rtol=0)


def test_flip_mirrors_about_half_the_batch_exactly():
    images = faces(400)
    out = augment_batch(images, only(flip=True), seeded(1))
    mirrored = torch.isclose(out, images.flip(-1), atol=1e-6).flatten(1).all(1)
    kept = torch.isclose(out, images, atol=1e-6).flatten(1).all(1)
    assert bool((mirrored | kept).all())  # every image is exactly one or the other
    assert 160 < int(mirrored.sum()) < 240


def test_tiny_affine_warp_is_close_to_identity():
    images = faces(4)
    out = augment_batch(images, only(shift=1e-6, rotate=1e-6, scale=1e-6), seeded())
    torch.testing.assert_close(out, images, atol=1e-4, rtol=0)  # the matrices and grid line up with the pixels


def centre_of_mass(images: torch.Tensor) -> torch.Tensor:
    """(B, 2) centre of mass (x, y) in pixels."""
    weights = images[:, 0] / images[:, 0].sum(dim=(1, 2), keepdim=True)
    ys, xs = torch.meshgrid(torch.arange(48.0), torch.arange(48.0), indexing="ij")
    return torch.stack([(weights * xs).sum((1, 2)), (weights * ys).sum((1, 2))], 1)


def bright_dot(n: int) -> torch.Tensor:
    images = torch.zeros((n, 1, 48, 48))
    images[:, :, 20:28, 20:28] = 1.0  # a blob, not one pixel, so bilinear resampling keeps its mass
    return images


@pytest.mark.parametrize("column,axis", [(SHIFT_X, 0), (SHIFT_Y, 1)])
def test_shift_moves_content_in_the_drawn_direction(column, axis):
    u = torch.full((2, N_DRAWS), 0.5)
    u[:, column] = torch.tensor([1.0, 0.0])  # the largest shift one way, then the other
    theta = affine_theta(u, only(shift=0.1), 48, 48)
    grid = torch.nn.functional.affine_grid(theta, [2, 1, 48, 48], align_corners=False)
    moved = torch.nn.functional.grid_sample(bright_dot(2), grid, padding_mode="border", align_corners=False)
    delta = centre_of_mass(moved)[:, axis] - centre_of_mass(bright_dot(2))[:, axis]
    torch.testing.assert_close(delta, torch.tensor([4.8, -4.8]), atol=0.05, rtol=0)


def test_rotation_keeps_lengths_on_non_square_images():
    bar = torch.zeros((1, 1, 40, 80))
    bar[..., 19:21, 30:50] = 1.0  # 20 pixels wide, centred
    u = torch.full((1, N_DRAWS), 0.5)
    u[:, ROTATE] = 1.0
    theta = affine_theta(u, only(rotate=90.0), 40, 80)
    grid = torch.nn.functional.affine_grid(theta, [1, 1, 40, 80], align_corners=False)
    rows, cols = np.nonzero(torch.nn.functional.grid_sample(bar, grid, align_corners=False)[0, 0].numpy() > 0.5)
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (10, 29, 39, 40)  # now 20 pixels tall


def test_random_shift_stays_in_range_and_averages_out():
    delta = centre_of_mass(augment_batch(bright_dot(400), only(shift=0.1), seeded(2))) - 23.5
    assert delta.abs().max() <= 4.8 + 1e-3
    assert delta.abs().mean() > 1.0  # it does move
    assert delta.mean(0).abs().max() < 0.5  # and neither way more than the other


def test_same_seed_same_output_other_seed_differs():
    images = faces(32)
    first = augment_batch(images, AugmentOptions(), seeded(7))
    assert torch.equal(first, augment_batch(images, AugmentOptions(), seeded(7)))
    assert not torch.allclose(first, augment_batch(images, AugmentOptions(), seeded(8)))


def test_erase_always_changes_every_image():
    images = faces(64)
    out = augment_batch(images, only(erase=1.0), seeded(3))
    changed = (out != images).flatten(1).sum(1)
    assert bool((changed > 0).all())
    assert int(changed.max()) <= 0.2 * 48 * 48 + 48  # at most ~20% of the area (rounding of the sides)


def test_invert_always_gives_one_minus_x():
    images = faces()
    torch.testing.assert_close(augment_batch(images, only(invert=1.0), seeded()), 1 - images)


def test_brightness_and_contrast_stay_within_their_factors():
    images = torch.full((200, 1, 48, 48), 0.5)
    out = augment_batch(images, only(brightness=0.2), seeded(4))
    assert 0.4 - 1e-6 <= float(out.min()) and float(out.max()) <= 0.6 + 1e-6 and out.std() > 0.02
    flat = torch.rand((1, 1, 48, 48)).expand(50, 1, 48, 48).contiguous()
    out = augment_batch(flat, only(contrast=0.2), seeded(5))
    torch.testing.assert_close(out.mean(dim=(1, 2, 3)), flat.mean(dim=(1, 2, 3)), atol=1e-3, rtol=0)


def test_color_jitter_uses_seed_003_ranges():
    images = torch.full((400, 1, 48, 48), 0.5)
    out = augment_batch(images, only(brightness=0.0, color_jitter=True), seeded(6))
    assert float(out.min()) < 0.3 and float(out.max()) > 0.7  # 0.5 * (1 +- 0.5), not the 0 of the field


def test_bad_input_and_options_refused():
    with pytest.raises(ValueError, match="B, C, H, W"):
        augment_batch(torch.zeros((48, 48)), AugmentOptions())
    with pytest.raises(ValueError, match="probability"):
        AugmentOptions(erase=1.5)
    assert augment_batch(torch.zeros((0, 1, 48, 48)), AugmentOptions()).shape == (0, 1, 48, 48)


def test_preview_grid():
    face = (np.arange(48 * 48) % 251).astype(np.uint8).reshape(48, 48)
    grid = preview_grid(face, AugmentOptions(), n=16, seed=0)
    assert grid.dtype == np.uint8 and grid.shape == (16, 48, 48)
    assert np.array_equal(grid[0], face)  # the original first, for comparison
    assert all(not np.array_equal(tile, face) for tile in grid[1:])
    assert np.array_equal(grid, preview_grid(face, AugmentOptions(), n=16, seed=0))
    assert not np.array_equal(grid, preview_grid(face, AugmentOptions(), n=16, seed=1))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_batch_with_cpu_generator_matches_cpu():
    images = faces(32)
    out = augment_batch(images.cuda(), AugmentOptions(), seeded(9))
    assert out.device.type == "cuda"
    torch.testing.assert_close(out.cpu(), augment_batch(images, AugmentOptions(), seeded(9)), atol=1e-4, rtol=0)
