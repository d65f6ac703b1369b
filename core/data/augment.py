"""Batched data augmentation on image tensors, for the training hot loop.

Everything works on a whole (B, C, H, W) batch at once, on whatever device the batch lives on: flip, shift,
rotation and zoom are one affine matrix per image (a single ``grid_sample`` call), and the photometric ops
(invert, brightness, contrast, random erasing) are broadcast arithmetic. All randomness comes from one
optional ``torch.Generator``, so a run seeded the same way sees the same augmented batches.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from core.data.augment_options import AugmentOptions

ERASE_AREA = (0.02, 0.2)  # random erasing: share of the image, as in torchvision's RandomErasing
ERASE_ASPECT = (0.3, 3.3)

# Columns of the per-image block of uniform numbers drawn for a batch (one draw, one device transfer).
FLIP, SHIFT_X, SHIFT_Y, ROTATE, SCALE, INVERT, BRIGHT, CONTRAST, ERASE, AREA, ASPECT, TOP, LEFT, FILL = range(14)
N_DRAWS = 14


def draw_uniform(shape: tuple[int, ...], generator: torch.Generator | None, device: torch.device) -> torch.Tensor:
    """U[0, 1) float32 numbers on ``device``, drawn on the generator's own device (torch requires they match)."""
    source = generator.device if generator is not None else device
    return torch.rand(shape, generator=generator, device=source).to(device, non_blocking=True)


def affine_theta(u: torch.Tensor, options: AugmentOptions, height: int, width: int) -> torch.Tensor:
    """(B, 2, 3) matrices for ``affine_grid``: output coordinates -> input coordinates, normalised to [-1, 1]."""
    spread = 2 * u - 1  # U[-1, 1)
    flip = torch.where((u[:, FLIP] < 0.5) & options.flip, -1.0, 1.0)
    angle = spread[:, ROTATE] * math.radians(options.rotate)
    zoom = 1 + spread[:, SCALE] * options.scale
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    # The inverse map of "flip, then rotate and zoom, then shift": affine_grid asks where each output pixel
    # comes from. Normalised x and y have different pixel sizes on a non-square image, hence the H/W factors.
    a = torch.stack(
        [torch.stack([flip * cos, flip * sin * height / width], 1), torch.stack([-sin * width / height, cos], 1)], 1
    )
    shift = spread[:, [SHIFT_X, SHIFT_Y]] * (2 * options.shift)  # the side spans 2 normalised units
    b = -(a @ shift.unsqueeze(-1))
    return torch.cat([a, b], dim=2)


def transform_geometry(images: torch.Tensor, u: torch.Tensor, options: AugmentOptions) -> torch.Tensor:
    """Flip, shift, rotate and zoom every image with one affine warp."""
    if not (options.shift or options.rotate or options.scale):
        if not options.flip:
            return images
        # A flip alone is an exact pixel permutation; no need to resample.
        return torch.where((u[:, FLIP] < 0.5).view(-1, 1, 1, 1), images.flip(-1), images)
    height, width = images.shape[-2:]
    theta = affine_theta(u, options, height, width).to(images.dtype)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    # "border" repeats the edge pixels into the corners a rotation or shift uncovers; "zeros" would paint black
    # wedges, a sharp artificial edge that never appears in test images and that a CNN learns to notice.
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)


def adjust_photometry(images: torch.Tensor, u: torch.Tensor, options: AugmentOptions) -> torch.Tensor:
    """Invert, then scale brightness and contrast, per image (reference 003's RandomInvert-then-ColorJitter order)."""
    shape = (-1, 1, 1, 1)
    if options.invert:
        images = torch.where((u[:, INVERT] < options.invert).view(shape), 1 - images, images)
    brightness, contrast = options.jitter()
    if brightness:
        factor = 1 + (2 * u[:, BRIGHT] - 1) * brightness
        images = (images * factor.view(shape).to(images.dtype)).clamp(0, 1)
    if contrast:
        factor = (1 + (2 * u[:, CONTRAST] - 1) * contrast).view(shape).to(images.dtype)
        mean = images.mean(dim=(1, 2, 3), keepdim=True)
        images = (mean + factor * (images - mean)).clamp(0, 1)
    return images


def erase_mask(u: torch.Tensor, options: AugmentOptions, height: int, width: int) -> torch.Tensor:
    """(B, 1, H, W) bool: one random rectangle for the images chosen to be erased, nothing for the others."""
    area = (ERASE_AREA[0] + u[:, AREA] * (ERASE_AREA[1] - ERASE_AREA[0])) * (height * width)
    log_lo, log_hi = math.log(ERASE_ASPECT[0]), math.log(ERASE_ASPECT[1])
    aspect = torch.exp(log_lo + u[:, ASPECT] * (log_hi - log_lo))  # log-uniform, so h/w and w/h are as likely
    # torchvision retries rectangles that do not fit; clamping instead keeps this one vectorised pass.
    h = torch.sqrt(area * aspect).round().clamp(1, height)
    w = torch.sqrt(area / aspect).round().clamp(1, width)
    top = (u[:, TOP] * (height - h + 1)).floor()
    left = (u[:, LEFT] * (width - w + 1)).floor()
    rows = torch.arange(height, device=u.device).view(1, -1, 1)
    cols = torch.arange(width, device=u.device).view(1, 1, -1)
    inside = (
        (rows >= top.view(-1, 1, 1))
        & (rows < (top + h).view(-1, 1, 1))
        & (cols >= left.view(-1, 1, 1))
        & (cols < (left + w).view(-1, 1, 1))
    )
    return (inside & (u[:, ERASE] < options.erase).view(-1, 1, 1)).unsqueeze(1)


def erase_rectangles(
    images: torch.Tensor, u: torch.Tensor, options: AugmentOptions, generator: torch.Generator | None
) -> torch.Tensor:
    """Random erasing: each chosen image gets one rectangle of uniform noise (half of them) or black (the rest)."""
    if not options.erase:
        return images
    mask = erase_mask(u, options, *images.shape[-2:])
    noise = draw_uniform(tuple(images.shape), generator, images.device).to(images.dtype)
    fill = noise * (u[:, FILL] < 0.5).view(-1, 1, 1, 1).to(images.dtype)
    return torch.where(mask, fill, images)


def augment_batch(
    images: torch.Tensor, options: AugmentOptions, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Augment a float (B, C, H, W) batch in [0, 1]; same shape, dtype and device, clamped to [0, 1]."""
    if images.ndim != 4 or not images.is_floating_point():
        raise ValueError(f"expected a float (B, C, H, W) batch, got {tuple(images.shape)} {images.dtype}")
    if images.shape[0] == 0:
        return images
    # One block of numbers per batch, whatever the options, so a seed means the same thing for every setting.
    u = draw_uniform((images.shape[0], N_DRAWS), generator, images.device)
    out = transform_geometry(images, u, options)
    out = adjust_photometry(out, u, options)
    out = erase_rectangles(out, u, options, generator)
    return out.clamp(0, 1)


def preview_grid(image: np.ndarray, options: AugmentOptions, n: int = 16, seed: int = 0) -> np.ndarray:
    """``n`` augmented copies of one (H, W) uint8 face as (n, H, W) uint8; copy 0 is the original, for reference."""
    if image.ndim != 2:
        raise ValueError(f"expected one (H, W) gray image, got shape {image.shape}")
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    batch = torch.from_numpy(np.array(image, copy=True))  # a copy: the store's arrays are read-only maps
    batch = batch.float().div(255).expand(n, 1, *image.shape)
    generator = torch.Generator().manual_seed(seed)
    out = augment_batch(batch.contiguous(), options, generator)
    out[0] = batch[0]
    return out.squeeze(1).mul(255).round().to(torch.uint8).numpy()
