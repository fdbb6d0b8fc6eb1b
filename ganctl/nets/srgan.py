"""Super-resolution nets: SRGAN's (Ledig et al. 2017) SRResNet generator and VGG-style
discriminator (global pooling instead of the seed's 118 M-parameter Linear), and a compact
generator for CPUs. Both generators can predict a residual over bicubic up-sampling with a
zero-initialised last layer, so an untrained net is exactly bicubic."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def bicubic(x: torch.Tensor, scale: int) -> torch.Tensor:
    """Bicubic up-sampling in fp32 even under autocast: the residual rides on it."""
    with torch.autocast(x.device.type, enabled=False):
        return F.interpolate(x.float(), scale_factor=scale, mode="bicubic",
                             align_corners=False)


# Input pixels on each side that bicubic up-sampling reads (its kernel spans 4 taps).
BICUBIC_RADIUS = 2


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

    def __init__(self, channels: int = 3, scale: int = 4, n_blocks: int = 16, width: int = 64,
                 residual: bool = False):
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
        self.residual = residual
        if residual:
            nn.init.zeros_(self.tail.weight)
            nn.init.zeros_(self.tail.bias)

    @property
    def receptive_radius(self) -> int:
        """Input pixels on each side that can affect an output pixel: tiles padded by
        this much give exactly the untiled result."""
        n_up = int(math.log2(self.scale))
        radius = math.ceil(4 + 2 * len(self.blocks) + 1 + sum(0.5**i for i in range(n_up))
                           + 4 / self.scale)
        return max(radius, BICUBIC_RADIUS) if self.residual else radius

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.head(x)
        h = h + self.fuse(self.blocks(h))
        out = self.tail(self.up(h))
        return out + bicubic(x, self.scale) if self.residual else out


class CompactGenerator(nn.Module):
    """Bicubic up-sampling plus a learned residual computed at the input's resolution
    (ESPCN-like): conv3, `n_blocks` [conv3 + PReLU] layers with a skip around them, conv3
    to channels x scale^2 and one PixelShuffle. The last conv starts at zero (the net
    starts as bicubic), and every convolution runs on the small image, so a CPU core
    trains it in minutes."""

    def __init__(self, channels: int = 3, scale: int = 4, n_blocks: int = 6, width: int = 48):
        super().__init__()
        self.scale = scale
        self.head = nn.Conv2d(channels, width, 3, 1, 1)
        self.body = nn.Sequential(*[m for _ in range(n_blocks) for m in
                                    (nn.Conv2d(width, width, 3, 1, 1), nn.PReLU(width))])
        self.tail = nn.Conv2d(width, channels * scale * scale, 3, 1, 1)
        self.shuffle = nn.PixelShuffle(scale)
        nn.init.zeros_(self.tail.weight)
        nn.init.zeros_(self.tail.bias)

    @property
    def receptive_radius(self) -> int:
        return max(2 + len(self.body) // 2, BICUBIC_RADIUS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.head(x)
        h = h + self.body(h)
        return bicubic(x, self.scale) + self.shuffle(self.tail(h))


class PlainBlock(nn.Module):
    """EDSR's residual block: conv3, ReLU, conv3 and a skip, no batch norm."""

    def __init__(self, width: int):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(width, width, 3, 1, 1), nn.ReLU(True),
                                  nn.Conv2d(width, width, 3, 1, 1))

    def forward(self, x):
        return x + self.body(x)


class LRGenerator(nn.Module):
    """EDSR-baseline's design (Lim et al. 2017) at a CPU's width, over bicubic: conv3,
    `n_blocks` residual blocks without batch norm, conv3 and a long skip, then one conv3 to
    channels x scale^2 and a PixelShuffle. Every convolution runs on the small image (the
    cost per output pixel is 1/scale^2 of an HR-space net's); the last conv starts at zero,
    so an untrained net is exactly bicubic."""

    def __init__(self, channels: int = 3, scale: int = 4, n_blocks: int = 8, width: int = 48):
        super().__init__()
        self.scale = scale
        self.head = nn.Conv2d(channels, width, 3, 1, 1)
        self.blocks = nn.Sequential(*[PlainBlock(width) for _ in range(n_blocks)])
        self.fuse = nn.Conv2d(width, width, 3, 1, 1)
        self.tail = nn.Conv2d(width, channels * scale * scale, 3, 1, 1)
        self.shuffle = nn.PixelShuffle(scale)
        nn.init.zeros_(self.tail.weight)
        nn.init.zeros_(self.tail.bias)

    @property
    def receptive_radius(self) -> int:
        return max(3 + 2 * len(self.blocks), BICUBIC_RADIUS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.head(x)
        h = h + self.fuse(self.blocks(h))
        return bicubic(x, self.scale) + self.shuffle(self.tail(h))


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
