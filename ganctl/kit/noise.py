"""Latent noise from its own generator: sampling never moves the training RNG, and an
image depends only on its seed."""

from __future__ import annotations

import torch

from ganctl.errors import UsageError


def fixed_noise(n: int, dim: int, seed: int, device: torch.device) -> torch.Tensor:
    """`n` latents from one seed (fixed sample grids, batch-norm recalibration inputs)."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, dim, generator=g).to(device)


def recalibration_noise(n: int, dim: int, index: int, device: torch.device) -> torch.Tensor:
    """Batch `index` of the latents an EMA generator's batch-norm statistics are
    recomputed on: seeded apart from the sample grids' noise, never moving an RNG."""
    return fixed_noise(n, dim, 7919 + index, device)


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


def parse_seeds(text: str) -> list[int]:
    """'0-63', '1,5,9-11' -> a list of ints, order kept."""
    seeds: list[int] = []
    for part in text.replace(" ", "").split(","):
        if not part:
            continue
        try:
            if "-" in part[1:]:
                lo, hi = part.split("-", 1) if not part.startswith("-") else (part, part)
                a, b = int(lo), int(hi)
                if b < a:
                    raise ValueError
                seeds.extend(range(a, b + 1))
            else:
                seeds.append(int(part))
        except ValueError:
            raise UsageError(f"bad seed list {text!r}; use e.g. 0-63 or 1,5,9-11") from None
    if not seeds:
        raise UsageError("empty seed list")
    if any(s < 0 or s >= 2**63 for s in seeds):
        raise UsageError("seeds must be between 0 and 2**63 - 1")
    return seeds
