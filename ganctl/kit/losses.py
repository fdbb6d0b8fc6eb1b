"""Adversarial losses on raw discriminator outputs (logits)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

KINDS = ("bce", "lsgan", "hinge", "lsgan_sigmoid")


def toward(kind: str, logits: torch.Tensor, real: bool) -> torch.Tensor:
    """The loss that pulls D's outputs toward "real" or "fake": bce -log sigmoid(x) or
    -log(1 - sigmoid(x)) (numerically stable); lsgan the mean squared distance to 1 or 0."""
    if kind == "bce":
        return F.softplus(-logits if real else logits).mean()
    if kind == "lsgan":
        return (logits - 1).pow(2).mean() if real else logits.pow(2).mean()
    raise ValueError(f"unknown loss {kind!r}")


def d_loss(kind: str, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    if kind == "bce":
        return toward(kind, real, True) + toward(kind, fake, False)
    if kind == "lsgan":
        return 0.5 * (toward(kind, real, True) + toward(kind, fake, False))
    if kind == "hinge":
        return F.relu(1 - real).mean() + F.relu(1 + fake).mean()
    if kind == "lsgan_sigmoid":  # the sneakers seed: least squares on sigmoid outputs
        return 0.5 * ((torch.sigmoid(real) - 1).pow(2).mean() + torch.sigmoid(fake).pow(2).mean())
    raise ValueError(f"unknown loss {kind!r}")


def g_loss(kind: str, fake: torch.Tensor) -> torch.Tensor:
    if kind == "bce":  # non-saturating: -log sigmoid(fake)
        return toward(kind, fake, True)
    if kind == "lsgan":
        return 0.5 * toward(kind, fake, True)
    if kind == "hinge":
        return -fake.mean()
    if kind == "lsgan_sigmoid":
        return 0.5 * (torch.sigmoid(fake) - 1).pow(2).mean()
    raise ValueError(f"unknown loss {kind!r}")


def d_score(kind: str, logits: torch.Tensor) -> torch.Tensor:
    """The mean D output people read as D(x): a probability for BCE, raw otherwise."""
    probs = kind in ("bce", "lsgan_sigmoid")
    return (torch.sigmoid(logits) if probs else logits).mean().detach()
