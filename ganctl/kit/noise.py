"""Latent noise from its own generator: sampling never moves the training RNG, and an
image depends only on its seed."""

from __future__ import annotations

import torch


def fixed_noise(n: int, dim: int, seed: int, device: torch.device) -> torch.Tensor:
    """`n` latents from one seed (fixed sample grids, batch-norm recalibration inputs)."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, dim, generator=g).to(device)


def seed_noise(seed: int, dim: int) -> torch.Tensor:
    """The latent of one seed: its own generator, so it never depends on the batch."""
    return torch.randn(dim, generator=torch.Generator().manual_seed(seed))
