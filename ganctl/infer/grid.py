"""Image tensors in [-1, 1] to PIL images and grids."""

from __future__ import annotations

import math

import torch
from PIL import Image

from ganctl.train.recipe import from_unit


def to_pil(img: torch.Tensor) -> Image.Image:
    """One (C, H, W) image in [-1, 1] to an 8-bit PIL image (L or RGB)."""
    arr = from_unit(img).cpu().permute(1, 2, 0).numpy()
    return Image.fromarray(arr[..., 0], "L") if arr.shape[2] == 1 else Image.fromarray(arr, "RGB")


def make_grid(images: torch.Tensor, nrow: int | None = None, pad: int = 2,
              fill: float = 1.0) -> torch.Tensor:
    """Tile (N, C, H, W) into one (C, H', W') image; white gutters by default."""
    n, c, h, w = images.shape
    nrow = nrow or max(1, math.ceil(math.sqrt(n)))
    rows = math.ceil(n / nrow)
    grid = images.new_full((c, rows * (h + pad) + pad, nrow * (w + pad) + pad), fill)
    for i in range(n):
        r, col = divmod(i, nrow)
        y, x = pad + r * (h + pad), pad + col * (w + pad)
        grid[:, y:y + h, x:x + w] = images[i]
    return grid


def grid_image(images: torch.Tensor, nrow: int | None = None) -> Image.Image:
    return to_pil(make_grid(images.detach().float().cpu(), nrow))
