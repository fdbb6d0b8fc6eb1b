"""Adversarial losses on raw discriminator outputs (logits)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

KINDS = ("bce", "lsgan", "hinge")


def d_loss(kind: str, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    if kind == "bce":  # -log sigmoid(real) - log(1 - sigmoid(fake)), numerically stable
        return F.softplus(-real).mean() + F.softplus(fake).mean()
    if kind == "lsgan":
        return 0.5 * ((real - 1).pow(2).mean() + fake.pow(2).mean())
    if kind == "hinge":
        return F.relu(1 - real).mean() + F.relu(1 + fake).mean()
    raise ValueError(f"unknown loss {kind!r}")


def g_loss(kind: str, fake: torch.Tensor) -> torch.Tensor:
    if kind == "bce":  # non-saturating: -log sigmoid(fake)
        return F.softplus(-fake).mean()
    if kind == "lsgan":
        return 0.5 * (fake - 1).pow(2).mean()
    if kind == "hinge":
        return -fake.mean()
    raise ValueError(f"unknown loss {kind!r}")


def d_score(kind: str, logits: torch.Tensor) -> torch.Tensor:
    """The mean D output people read as D(x): a probability for BCE, raw otherwise."""
    return (torch.sigmoid(logits) if kind == "bce" else logits).mean().detach()
