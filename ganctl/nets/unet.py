"""U-Net generator of pix2pix, with the reference implementation's module nesting, so its
state_dict keys and shapes equal those of the published pix2pix generators
(`model.model.1.model.3...`, one `model.3` per level)."""

from __future__ import annotations

import math

import torch
from torch import nn


def norm_layer(kind: str, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels, affine=True, track_running_stats=True)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
    raise ValueError(f"unknown norm {kind!r}")


class SkipBlock(nn.Module):
    """One U-Net level: down, the inner levels, up, and the skip concatenation."""

    def __init__(self, outer: int, inner: int, in_ch: int | None = None,
                 sub: nn.Module | None = None, outermost: bool = False,
                 innermost: bool = False, norm: str = "batch", dropout: bool = False):
        super().__init__()
        self.outermost = outermost
        bias = norm == "instance"
        in_ch = in_ch or outer
        down = nn.Conv2d(in_ch, inner, 4, 2, 1, bias=bias)
        if outermost:
            up = nn.ConvTranspose2d(inner * 2, outer, 4, 2, 1)
            layers = [down, sub, nn.ReLU(True), up, nn.Tanh()]
        elif innermost:
            up = nn.ConvTranspose2d(inner, outer, 4, 2, 1, bias=bias)
            layers = [nn.LeakyReLU(0.2, True), down, nn.ReLU(True), up, norm_layer(norm, outer)]
        else:
            up = nn.ConvTranspose2d(inner * 2, outer, 4, 2, 1, bias=bias)
            layers = [nn.LeakyReLU(0.2, True), down, norm_layer(norm, inner), sub,
                      nn.ReLU(True), up, norm_layer(norm, outer)]
            if dropout:
                layers.append(nn.Dropout(0.5))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x) if self.outermost else torch.cat([x, self.model(x)], 1)


class UnetGenerator(nn.Module):
    """`size` 256 gives unet_256 (8 levels), 128 gives unet_128 (7); input sides must be
    multiples of `size` (`multiple` says so to the inference code)."""

    def __init__(self, in_channels: int = 3, out_channels: int = 3, size: int = 256,
                 ngf: int = 64, norm: str = "batch", dropout: bool = True):
        super().__init__()
        downs = int(math.log2(size))
        if 2**downs != size or downs < 5:
            raise ValueError(f"U-Net size must be a power of two >= 32, got {size}")
        self.multiple = size
        block = SkipBlock(ngf * 8, ngf * 8, innermost=True, norm=norm)
        for _ in range(downs - 5):
            block = SkipBlock(ngf * 8, ngf * 8, sub=block, norm=norm, dropout=dropout)
        for mult in (4, 2, 1):
            block = SkipBlock(ngf * mult, ngf * mult * 2, sub=block, norm=norm)
        self.model = SkipBlock(out_channels, ngf, in_ch=in_channels, sub=block, outermost=True,
                               norm=norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)
