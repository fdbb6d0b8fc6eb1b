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


def vgg19_cached() -> Path | None:
    return torchvision_file(vgg19_record(), download=False)


def vgg19_download(timeout: float = 10.0) -> Path | None:
    """Fetch the VGG19 weights into the torch hub cache; None when offline or bad."""
    return torchvision_file(vgg19_record(), timeout=timeout)


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
    """(loss module, kind used, why) for kind in auto|vgg|pixel."""
    if kind == "pixel":
        return PixelGradContent(), "pixel", "asked for"
    weights = vgg19_cached()
    why = "ImageNet VGG19 weights found in the torch hub cache"
    if weights is None:
        weights = vgg19_download()
        why = "ImageNet VGG19 weights downloaded into the torch hub cache"
    if weights is not None:
        return VGGContent(weights), "vgg", why
    if kind == "vgg":
        from ganctl.errors import GanctlError

        raise GanctlError(f"content=vgg needs {VGG19_FILE} in "
                          f"{Path(torch.hub.get_dir()) / 'checkpoints'} and it could not be "
                          f"downloaded from {vgg19_record().url}; place it there or use "
                          "content=pixel")
    return PixelGradContent(), "pixel", "ImageNet VGG19 weights neither cached nor downloadable"
