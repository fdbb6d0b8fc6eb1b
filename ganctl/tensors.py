"""Leaf helpers for image tensors, used by every layer; imports nothing of ganctl.

Images travel as uint8 (N, C, H, W) in [0, 255] (datasets, caches) or float in [-1, 1]
(nets); PIL images at the edges.
"""

from __future__ import annotations

import math

import torch
from PIL import Image


def to_unit(x: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float [-1, 1] on the same device."""
    return x.float().div_(127.5).sub_(1.0)


def from_unit(x: torch.Tensor) -> torch.Tensor:
    """float [-1, 1] -> uint8 [0, 255]."""
    return x.detach().clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8)


# ImageNet's per-channel statistics, for nets trained on it (VGG, Inception).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def match_channels(x: torch.Tensor, channels: int) -> torch.Tensor:
    """(N, C, H, W) to 1 channel (the mean; rounded for integer images) or 3 (gray
    repeated); unchanged if it has them."""
    if x.shape[1] == channels:
        return x
    if channels == 3:
        return x.expand(-1, 3, -1, -1)
    if x.is_floating_point():
        return x.mean(1, keepdim=True)
    return x.float().mean(1, keepdim=True).round().to(x.dtype)


def imagenet_input(x: torch.Tensor) -> torch.Tensor:
    """Images in [-1, 1] (1 or 3 channels) normalised as ImageNet nets expect."""
    mean = torch.tensor(IMAGENET_MEAN, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=x.device).view(1, 3, 1, 1)
    return ((match_channels(x, 3) + 1) / 2 - mean) / std


def from_pil(images: list[Image.Image]) -> torch.Tensor:
    """Same-size PIL images (8-bit L or RGB, or 16-bit gray) -> float (N, C, H, W) in
    [-1, 1]. 16-bit images use their full range when any value is above 255."""
    import numpy as np

    arrs = []
    for img in images:
        arr = np.asarray(img, dtype=np.float32)
        sixteen = img.mode in ("I;16", "I;16B", "I;16L", "I") and arr.max() > 255
        arrs.append(arr / (65535.0 if sixteen else 255.0))
    x = torch.from_numpy(np.stack(arrs)).mul_(2).sub_(1)
    return (x[:, None] if x.dim() == 3 else x.permute(0, 3, 1, 2)).contiguous()


def to_pil(img: torch.Tensor) -> Image.Image:
    """One (C, H, W) image in [-1, 1] to an 8-bit PIL image (L or RGB)."""
    arr = from_unit(img).cpu().permute(1, 2, 0).numpy()
    return Image.fromarray(arr[..., 0], "L") if arr.shape[2] == 1 else Image.fromarray(arr, "RGB")


def make_grid(images: torch.Tensor, nrow: int | None = None, pad: int = 2,
              fill: float = 1.0) -> torch.Tensor:
    """Tile (N, C, H, W) into one (C, H', W') image, square by default, white gutters
    (torchvision's make_grid; a 1-channel grid stays 1 channel)."""
    from torchvision.utils import make_grid as tv_grid

    nrow = nrow or max(1, math.ceil(math.sqrt(len(images))))
    grid = tv_grid(images, nrow=nrow, padding=pad, pad_value=fill)
    return grid[:1] if images.shape[1] == 1 else grid


def grid_image(images: torch.Tensor, nrow: int | None = None) -> Image.Image:
    return to_pil(make_grid(images.detach().float().cpu(), nrow))
