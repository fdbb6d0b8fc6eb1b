"""DCGAN nets for small images (28x28 by default; any size divisible by 4)."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import spectral_norm as sn


def _maybe_sn(layer: nn.Module, use: bool) -> nn.Module:
    return sn(layer) if use else layer


class Generator(nn.Module):
    """z -> (256, s/4, s/4) -> two stride-2 transposed convs -> 3x3 conv -> tanh."""

    def __init__(self, z_dim: int = 100, channels: int = 1, size: int = 28, width: int = 64):
        super().__init__()
        self.z_dim, self.base = z_dim, size // 4
        w4 = width * 4
        self.project = nn.Sequential(nn.Linear(z_dim, w4 * self.base**2, bias=False),
                                     nn.BatchNorm1d(w4 * self.base**2), nn.ReLU(True))
        self.body = nn.Sequential(
            nn.ConvTranspose2d(w4, width * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(width * 2), nn.ReLU(True),
            nn.ConvTranspose2d(width * 2, width, 4, 2, 1, bias=False),
            nn.BatchNorm2d(width), nn.ReLU(True),
            nn.Conv2d(width, channels, 3, 1, 1), nn.Tanh())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.project(z).unflatten(1, (-1, self.base, self.base))
        return self.body(x)


class Discriminator(nn.Module):
    """Strided 4x4 convs (no norm on the first), LeakyReLU 0.2, a linear head to one logit."""

    def __init__(self, channels: int = 1, size: int = 28, width: int = 64,
                 spectral_norm: bool = False):
        super().__init__()
        norm = (lambda c: nn.Identity()) if spectral_norm else nn.BatchNorm2d
        self.body = nn.Sequential(
            _maybe_sn(nn.Conv2d(channels, width, 4, 2, 1), spectral_norm),
            nn.LeakyReLU(0.2, True),
            _maybe_sn(nn.Conv2d(width, width * 2, 4, 2, 1, bias=False), spectral_norm),
            norm(width * 2), nn.LeakyReLU(0.2, True),
            _maybe_sn(nn.Conv2d(width * 2, width * 4, 3, 2, 1, bias=False), spectral_norm),
            norm(width * 4), nn.LeakyReLU(0.2, True))
        side = (size // 4 + 1) // 2
        self.head = _maybe_sn(nn.Linear(width * 4 * side * side, 1), spectral_norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x).flatten(1)).view(-1)


class OriginalGenerator(nn.Module):
    """The sneakers seed's generator: linear to 128x7x7, two nearest-upsample + 3x3 conv
    blocks (ReLU then BN), 3x3 conv to the image, tanh. `bn_momentum` 0.8 reproduces its
    Keras value as PyTorch read it (80 % new batch statistics)."""

    def __init__(self, z_dim: int = 100, channels: int = 3, size: int = 28,
                 bn_momentum: float = 0.8):
        super().__init__()
        self.z_dim, self.base = z_dim, size // 4
        self.project = nn.Sequential(nn.Linear(z_dim, 128 * self.base**2), nn.ReLU(True),
                                     nn.BatchNorm1d(128 * self.base**2, momentum=bn_momentum))
        self.body = nn.Sequential(
            nn.Upsample(scale_factor=2), nn.Conv2d(128, 128, 3, 1, 1), nn.ReLU(True),
            nn.BatchNorm2d(128, momentum=bn_momentum),
            nn.Upsample(scale_factor=2), nn.Conv2d(128, 64, 3, 1, 1), nn.ReLU(True),
            nn.BatchNorm2d(64, momentum=bn_momentum),
            nn.Conv2d(64, channels, 3, 1, 1), nn.Tanh())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.body(self.project(z).unflatten(1, (128, self.base, self.base)))


class OriginalDiscriminator(nn.Module):
    """The seed's discriminator: 3x3 stride-2 blocks 32-64-128-256 with dropout 0.25,
    a zero pad after the second block, global average pool, linear to one logit
    (the seed's final sigmoid is folded into the loss)."""

    def __init__(self, channels: int = 3, size: int = 28):
        super().__init__()

        def block(cin, cout, bn):
            layers = [nn.Conv2d(cin, cout, 3, 2, 1), nn.LeakyReLU(0.2, True), nn.Dropout(0.25)]
            return layers + ([nn.BatchNorm2d(cout, momentum=0.8)] if bn else [])

        self.body = nn.Sequential(*block(channels, 32, False), *block(32, 64, True),
                                  nn.ZeroPad2d((0, 1, 0, 1)), *block(64, 128, True),
                                  *block(128, 256, True), nn.AdaptiveAvgPool2d(1))
        self.head = nn.Linear(256, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x).flatten(1)).view(-1)
