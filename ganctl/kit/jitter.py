"""Augmentation: one random crop and flip shared by every tensor of a sample, and the
random symmetries of a square image."""

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


def random_symmetry(x: torch.Tensor, dihedral: bool = True) -> torch.Tensor:
    """Each image of a square batch (N, C, S, S) in one of its 8 dihedral versions
    (transposed or not, times flipped left-right or not, times flipped upside down or not),
    or only flipped left-right or not when `dihedral` is false. Drawn per image on the
    batch's device from the global RNG (so it is part of the resumable training state)."""
    def where(mask, a, b):
        return torch.where(mask[:, None, None, None], a, b)

    draws = torch.rand(3 if dihedral else 1, len(x), device=x.device) < 0.5
    x = where(draws[0], x.flip(-1), x)
    if dihedral:
        x = where(draws[1], x.flip(-2), x)
        x = where(draws[2], x.transpose(-1, -2), x)
    return x


def random_crops(x: torch.Tensor, size: int) -> torch.Tensor:
    """One random `size` x `size` crop of each image of the batch (N, C, H, W), offsets
    drawn on the CPU from the global RNG (resumable, and no device sync); the batch itself
    when `size` is 0 or does not fit inside the images."""
    n, _, h, w = x.shape
    if not 0 < size < min(h, w):
        return x
    ys = torch.randint(0, h - size + 1, (n,)).tolist()
    xs = torch.randint(0, w - size + 1, (n,)).tolist()
    return torch.stack([img[:, y:y + size, x_:x_ + size] for img, y, x_ in zip(x, ys, xs)])
