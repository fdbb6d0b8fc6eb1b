"""Latent noise from its own generator: sampling never moves the training RNG, and an
image depends only on its seed."""

from __future__ import annotations

import torch


def fixed_noise(n: int, dim: int, seed: int, device: torch.device) -> torch.Tensor:
    """`n` latents from one seed (fixed sample grids, batch-norm recalibration inputs)."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, dim, generator=g).to(device)


def seed_noise(seed: int, dim: int, truncation: float | None = None) -> torch.Tensor:
    """The latent of one seed: its own generator, so it never depends on the batch. With
    `truncation`, components beyond +-truncation are redrawn (from the same generator, so
    still a function of the seed alone)."""
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(dim, generator=g)
    if truncation:
        for _ in range(1000):
            bad = z.abs() > truncation
            if not bad.any():
                break
            z[bad] = torch.randn(int(bad.sum()), generator=g)
    return z
