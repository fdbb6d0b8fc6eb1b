"""Differentiable augmentation (Zhao et al., "Differentiable Augmentation for Data-Efficient
GAN Training", 2020): every image the discriminator sees, real or generated, in its own step
and in the generator's, goes through the same random family of transforms. The
discriminator then cannot overfit a hundred training images, and since generated images
are transformed the same way, the generator has no reason to make the transforms
themselves (the failure of augmenting only the real images). Each transform is
differentiable in the image, so the generator's gradient passes through it.

Transforms (images in [-1, 1], per sample, drawn on the batch's device from the global
RNG, so they are part of the resumable training state):
- color: brightness shift in [-0.5, 0.5), saturation factor in [0, 2), contrast in [0.5, 1.5)
- translation: a shift of up to 1/8 of the side in each direction, zero-filled
- cutout: a zeroed square of half the side at a random place (partly outside is allowed)
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ganctl.console import info
from ganctl.kit import DIFFAUG_POLICIES


def color(x: torch.Tensor, groups: int = 1) -> torch.Tensor:
    """Brightness, saturation and contrast, the same draw for every group of channels
    (`groups` = 2 for a (condition, image) pair stacked on the channels)."""
    n = len(x)
    v = x.unflatten(1, (groups, -1))
    shape = (n, 1, 1, 1, 1)
    v = v + (torch.rand(shape, device=x.device, dtype=x.dtype) - 0.5)
    mean = v.mean(2, keepdim=True)
    v = (v - mean) * (torch.rand(shape, device=x.device, dtype=x.dtype) * 2) + mean
    mean = v.mean((2, 3, 4), keepdim=True)
    v = (v - mean) * (torch.rand(shape, device=x.device, dtype=x.dtype) + 0.5) + mean
    return v.flatten(1, 2)


def translation(x: torch.Tensor, ratio: float = 0.125) -> torch.Tensor:
    """Each image shifted by up to `ratio` of its side along each axis, the uncovered
    border zero."""
    n, _, h, w = x.shape
    sy, sx = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = torch.randint(-sy, sy + 1, (n, 1), device=x.device)
    dx = torch.randint(-sx, sx + 1, (n, 1), device=x.device)
    rows = (torch.arange(h, device=x.device) + dy + sy)  # (n, h) rows of the padded image
    cols = (torch.arange(w, device=x.device) + dx + sx)
    padded = torch.nn.functional.pad(x, [sx, sx, sy, sy])
    batch = torch.arange(n, device=x.device)[:, None, None]
    return padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]] \
        .permute(0, 3, 1, 2)


def cutout(x: torch.Tensor, ratio: float = 0.5) -> torch.Tensor:
    """A square of `ratio` of the side zeroed in each image, centred anywhere in it."""
    n, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = torch.randint(0, h + (1 - ch % 2), (n, 1), device=x.device)
    cx = torch.randint(0, w + (1 - cw % 2), (n, 1), device=x.device)
    ys = torch.arange(h, device=x.device) - cy + ch // 2  # (n, h): row inside the square
    xs = torch.arange(w, device=x.device) - cx + cw // 2
    inside = ((ys >= 0) & (ys < ch))[:, :, None] & ((xs >= 0) & (xs < cw))[:, None, :]
    return x * (~inside)[:, None].to(x.dtype)


# `auto` turns every transform on below this many training images. Measured on 109 faces
# (docs/decisions.md, "Faces: differentiable augmentation"); the paper's gains extend to
# CIFAR-10 subsets of 5,000 and 10,000 images.
SMALL_DATA = 10_000
ALL = "color,translation,cutout"


def resolve(policy: str, images: int) -> str:
    """The policy a run uses: `auto` becomes all three transforms on a small training set,
    none on a larger one; any other policy is itself."""
    if policy != "auto":
        return policy
    return ALL if images < SMALL_DATA else "none"


def augmenter(policy: str, images: int | None = None,
              groups: int = 1) -> Callable[[torch.Tensor], torch.Tensor]:
    """The function a recipe applies to every discriminator input: the identity for
    "none", else the policy's transforms in the order color, translation, cutout; "auto"
    is resolved for a training set of `images` images (and says what it chose)."""
    if policy == "auto" and images is not None:
        policy = resolve(policy, images)
        info(f"diffaug=auto: {policy} ({images:,} training images; on below "
             f"{SMALL_DATA:,})")
    if policy not in DIFFAUG_POLICIES or policy == "auto":
        raise ValueError(f"unknown augmentation policy {policy!r}; choose from "
                         f"{', '.join(DIFFAUG_POLICIES)}")
    kinds = [] if policy == "none" else policy.split(",")

    def apply(x: torch.Tensor) -> torch.Tensor:
        if "color" in kinds:
            x = color(x, groups)
        if "translation" in kinds:
            x = translation(x)
        if "cutout" in kinds:
            x = cutout(x)
        return x

    return apply if kinds else (lambda x: x)
