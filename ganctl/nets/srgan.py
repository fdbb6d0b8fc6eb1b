"""SRGAN (Ledig et al. 2017): SRResNet generator with sub-pixel up-sampling, and a
VGG-style discriminator ending in global pooling (not the seed's 118 M-parameter Linear)."""

from __future__ import annotations

import math

import torch
from torch import nn


class ResidualBlock(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(width, width, 3, 1, 1), nn.BatchNorm2d(width),
                                  nn.PReLU(width), nn.Conv2d(width, width, 3, 1, 1),
                                  nn.BatchNorm2d(width))

    def forward(self, x):
        return x + self.body(x)


class Generator(nn.Module):
    """conv9 + PReLU, n residual blocks, conv3 + BN + long skip, log2(scale) x
    [conv3 to 4x width, PixelShuffle(2), PReLU], conv9 to the image. Output in [-1, 1]
    space, unclamped (clamp at inference)."""

    def __init__(self, channels: int = 3, scale: int = 4, n_blocks: int = 16, width: int = 64):
        super().__init__()
        if scale not in (2, 4, 8):
            raise ValueError(f"scale must be 2, 4 or 8, got {scale}")
        self.scale = scale
        self.head = nn.Sequential(nn.Conv2d(channels, width, 9, 1, 4), nn.PReLU(width))
        self.blocks = nn.Sequential(*[ResidualBlock(width) for _ in range(n_blocks)])
        self.fuse = nn.Sequential(nn.Conv2d(width, width, 3, 1, 1), nn.BatchNorm2d(width))
        ups = []
        for _ in range(int(math.log2(scale))):
            ups += [nn.Conv2d(width, width * 4, 3, 1, 1), nn.PixelShuffle(2), nn.PReLU(width)]
        self.up = nn.Sequential(*ups)
        self.tail = nn.Conv2d(width, channels, 9, 1, 4)

    @property
    def receptive_radius(self) -> int:
        """Input pixels on each side that can affect an output pixel: tiles padded by
        this much give exactly the untiled result."""
        n_up = int(math.log2(self.scale))
        return math.ceil(4 + 2 * len(self.blocks) + 1 + sum(0.5**i for i in range(n_up))
                         + 4 / self.scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.head(x)
        h = h + self.fuse(self.blocks(h))
        return self.tail(self.up(h))


class Discriminator(nn.Module):
    """Conv3 64 + LReLU, then [conv3 stride 2/1, BN, LReLU] up to 512 channels, global
    average pool, Linear 512 -> 1024, LReLU, Linear 1024 -> 1 logit."""

    def __init__(self, channels: int = 3, width: int = 64):
        super().__init__()
        layers = [nn.Conv2d(channels, width, 3, 1, 1), nn.LeakyReLU(0.2, True)]
        plan = [(width, width, 2), (width, 2 * width, 1), (2 * width, 2 * width, 2),
                (2 * width, 4 * width, 1), (4 * width, 4 * width, 2), (4 * width, 8 * width, 1),
                (8 * width, 8 * width, 2)]
        for cin, cout, stride in plan:
            layers += [nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout),
                       nn.LeakyReLU(0.2, True)]
        self.body = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Sequential(nn.Linear(8 * width, 1024), nn.LeakyReLU(0.2, True),
                                  nn.Linear(1024, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x)).view(-1)
