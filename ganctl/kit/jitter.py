"""Paired augmentation: one random crop and flip shared by every tensor of a sample."""

from __future__ import annotations

import torch


def random_crop_flip(tensors: tuple[torch.Tensor, ...], crop: int, flip: bool):
    """The same random crop (and horizontal flip) for every tensor of a sample, drawn per
    sample from the global RNG (so it is part of the resumable training state)."""
    n, _, h, w = tensors[0].shape
    ys = torch.randint(0, h - crop + 1, (n,)).tolist()
    xs = torch.randint(0, w - crop + 1, (n,)).tolist()
    flips = (torch.rand(n) < 0.5).tolist() if flip else [False] * n
    out = []
    for t in tensors:
        parts = [t[i:i + 1, :, y:y + crop, x:x + crop] for i, (y, x) in enumerate(zip(ys, xs))]
        parts = [p.flip(-1) if f else p for p, f in zip(parts, flips)]
        out.append(torch.cat(parts))
    return out
