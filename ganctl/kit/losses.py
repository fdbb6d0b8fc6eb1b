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


def relativistic_d_loss(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """ESRGAN's relativistic average discriminator loss: a real image should look more real
    than the average fake, and a fake less real than the average real."""
    return 0.5 * (toward("bce", real - fake.mean(), True) +
                  toward("bce", fake - real.mean(), False))


def relativistic_g_loss(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """The generator's side of it (`real` detached): both terms flipped."""
    return 0.5 * (toward("bce", real - fake.mean(), False) +
                  toward("bce", fake - real.mean(), True))


def d_score(kind: str, logits: torch.Tensor) -> torch.Tensor:
    """The mean D output people read as D(x): a probability for BCE, raw otherwise."""
    probs = kind in ("bce", "lsgan_sigmoid")
    return (torch.sigmoid(logits) if probs else logits).mean().detach()
