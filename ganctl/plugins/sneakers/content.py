"""Content losses for super-resolution: VGG19 features when ImageNet weights can be had,
else pixel L1 + image-gradient L1. Which one ran is recorded by the caller."""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ganctl.tensors import imagenet_input
from ganctl.weights import torchvision_file

VGG19_FILE = "vgg19-dcbb9e9d.pth"  # torchvision's ImageNet VGG19 (VGG19_Weights.IMAGENET1K_V1)


def vgg19_record():
    from torchvision.models import VGG19_Weights

    return VGG19_Weights.IMAGENET1K_V1


WHAT = "torchvision's ImageNet VGG19 (for the stage-2 content loss)"


def vgg19_cached() -> Path | None:
    return torchvision_file(vgg19_record(), WHAT, download=False)


def vgg19_download() -> Path | None:
    """Fetch the VGG19 weights into GANCTL_HOME (announced, checked; refused offline)."""
    return torchvision_file(vgg19_record(), WHAT)


class VGGContent(nn.Module):
    """MSE between VGG19 relu5_4 features (scaled by 1/12.75 as in SRGAN)."""

    def __init__(self, weights: Path):
        super().__init__()
        from torchvision.models import vgg19

        vgg = vgg19()
        vgg.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
        self.features = vgg.features[:36].eval().requires_grad_(False)

    def train(self, mode: bool = True):
        return super().train(False)  # frozen feature extractor, always in eval

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(imagenet_input(x)) / 12.75

    def forward(self, sr: torch.Tensor, hr: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(self.embed(sr), self.embed(hr).detach())


class PixelGradContent(nn.Module):
    """L1 on pixels plus L1 on horizontal and vertical differences (keeps edges sharp)."""

    def forward(self, sr: torch.Tensor, hr: torch.Tensor) -> torch.Tensor:
        def grads(t):
            return t[..., :, 1:] - t[..., :, :-1], t[..., 1:, :] - t[..., :-1, :]

        (sx, sy), (hx, hy) = grads(sr), grads(hr)
        return F.l1_loss(sr, hr) + F.l1_loss(sx, hx) + F.l1_loss(sy, hy)


def content_loss(kind: str) -> tuple[nn.Module, str, str]:
    """(loss module, kind used, why) for kind in auto|vgg|pixel. `auto` uses VGG19 when
    its weights are here or can be downloaded (never offline), else pixel."""
    from ganctl.data.download import DownloadError, offline
    from ganctl.errors import GanctlError

    if kind == "pixel":
        return PixelGradContent(), "pixel", "asked for"
    weights = vgg19_cached()
    why = f"ImageNet VGG19 weights at {weights}"
    problem = None
    if weights is None and kind == "auto" and offline():
        problem = "offline, and the ImageNet VGG19 weights (about 548 MB) are not here"
    elif weights is None:
        try:
            weights = vgg19_download()
            why = "ImageNet VGG19 weights downloaded"
        except DownloadError as e:
            problem = str(e)
        if weights is None and problem is None:
            problem = "the ImageNet VGG19 weights could not be had"
    if weights is not None:
        return VGGContent(weights), "vgg", why
    if kind == "vgg":
        raise GanctlError(f"content=vgg needs {VGG19_FILE}: {problem}")
    return PixelGradContent(), "pixel", f"{problem}; content=vgg fetches them"
