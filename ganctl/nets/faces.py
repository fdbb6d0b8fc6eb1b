"""64x64 face nets: the classic DCGAN pair, the CSP-up-block generator, and a residual
discriminator."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import spectral_norm as sn


def _sn(layer: nn.Module, use: bool) -> nn.Module:
    return sn(layer) if use else layer


def _norm(channels: int, use_sn: bool) -> nn.Module:
    return nn.Identity() if use_sn else nn.BatchNorm2d(channels)


class DCGANGenerator(nn.Module):
    """z (N, nz) -> 4x4 -> 8 -> 16 -> 32 -> 64 with 4x4 transposed convs, BN, ReLU, tanh."""

    def __init__(self, nz: int = 100, ngf: int = 64, channels: int = 3,
                 spectral_norm: bool = False):
        super().__init__()
        self.z_dim = nz
        layers, cin = [], nz
        for i, mult in enumerate((8, 4, 2, 1)):
            layers += [_sn(nn.ConvTranspose2d(cin, ngf * mult, 4, 1 if i == 0 else 2,
                                              0 if i == 0 else 1, bias=False), spectral_norm),
                       nn.BatchNorm2d(ngf * mult), nn.ReLU(True)]
            cin = ngf * mult
        layers += [_sn(nn.ConvTranspose2d(ngf, channels, 4, 2, 1, bias=False), spectral_norm),
                   nn.Tanh()]
        self.main = nn.Sequential(*layers)

    def forward(self, z):
        return self.main(z[:, :, None, None])


class DCGANDiscriminator(nn.Module):
    """64 -> 32 -> 16 -> 8 -> 4 with 4x4 stride-2 convs (BN except the first, or spectral
    norm instead), LeakyReLU 0.2, a 4x4 conv to one logit."""

    def __init__(self, ndf: int = 64, channels: int = 3, spectral_norm: bool = False):
        super().__init__()
        layers, cin = [], channels
        for i, mult in enumerate((1, 2, 4, 8)):
            layers.append(_sn(nn.Conv2d(cin, ndf * mult, 4, 2, 1, bias=False), spectral_norm))
            if i:
                layers.append(_norm(ndf * mult, spectral_norm))
            layers.append(nn.LeakyReLU(0.2, True))
            cin = ndf * mult
        layers.append(_sn(nn.Conv2d(cin, 1, 4, 1, 0, bias=False), spectral_norm))
        self.main = nn.Sequential(*layers)

    def forward(self, x):
        return self.main(x).view(-1)


class CSPUp(nn.Module):
    """Cross-stage-partial up-sampling: the channels are split in half; path A is one
    transposed conv + BN, path B is conv3-BN-ReLU, transposed conv + BN, conv3-BN-ReLU,
    conv3-BN; the output is A + B."""

    def __init__(self, cin: int, cout: int, stride: int = 2, padding: int = 1,
                 spectral_norm: bool = False):
        super().__init__()
        self.half = cin // 2
        a_in, b_in = cin - self.half, self.half

        def conv(i, o):
            return _sn(nn.Conv2d(i, o, 3, 1, 1, bias=False), spectral_norm)

        def up(i, o):
            return _sn(nn.ConvTranspose2d(i, o, 4, stride, padding, bias=False), spectral_norm)

        self.path_a = nn.Sequential(up(a_in, cout), nn.BatchNorm2d(cout))
        self.path_b = nn.Sequential(conv(b_in, b_in), nn.BatchNorm2d(b_in), nn.ReLU(True),
                                    up(b_in, cout), nn.BatchNorm2d(cout),
                                    conv(cout, cout), nn.BatchNorm2d(cout), nn.ReLU(True),
                                    conv(cout, cout), nn.BatchNorm2d(cout))

    def forward(self, x):
        b, a = x[:, :self.half], x[:, self.half:]
        return self.path_a(a) + self.path_b(b)


class CSPGenerator(nn.Module):
    """100 -> 512 (1 -> 4 px, padding 0) -> 256 -> 128 -> 64 -> 3 (64 px), then tanh."""

    def __init__(self, nz: int = 100, ngf: int = 64, channels: int = 3,
                 spectral_norm: bool = False):
        super().__init__()
        self.z_dim = nz
        widths = [nz, ngf * 8, ngf * 4, ngf * 2, ngf]
        blocks = []
        for i, (cin, cout) in enumerate(zip(widths, widths[1:])):
            blocks += [CSPUp(cin, cout, 1 if i == 0 else 2, 0 if i == 0 else 1, spectral_norm),
                       nn.ReLU(True)]
        blocks += [CSPUp(ngf, channels, 2, 1, spectral_norm), nn.Tanh()]
        self.main = nn.Sequential(*blocks)

    def forward(self, z):
        return self.main(z[:, :, None, None])


class ResBlockDown(nn.Module):
    def __init__(self, cin: int, cout: int, spectral_norm: bool):
        super().__init__()
        self.main = nn.Sequential(
            _sn(nn.Conv2d(cin, cout, 3, 2, 1), spectral_norm), _norm(cout, spectral_norm),
            nn.LeakyReLU(0.2, True), _sn(nn.Conv2d(cout, cout, 3, 1, 1), spectral_norm),
            _norm(cout, spectral_norm))
        self.skip = _sn(nn.Conv2d(cin, cout, 1, 2, 0), spectral_norm)
        self.act = nn.LeakyReLU(0.2, True)

    def forward(self, x):
        return self.act(self.main(x) + self.skip(x))


class ResNetDiscriminator(nn.Module):
    """Conv4x4 s2 3 -> 64 (32 px), residual blocks 64 -> 128 -> 256 -> 512 -> 1024 with
    stride 2 and 1x1-conv skips (16, 8, 4, 2 px), conv 2x2 -> one logit."""

    def __init__(self, ndf: int = 64, channels: int = 3, spectral_norm: bool = False):
        super().__init__()
        widths = [ndf, ndf * 2, ndf * 4, ndf * 8, ndf * 16]
        layers = [_sn(nn.Conv2d(channels, ndf, 4, 2, 1), spectral_norm), nn.LeakyReLU(0.2, True)]
        layers += [ResBlockDown(a, b, spectral_norm) for a, b in zip(widths, widths[1:])]
        layers.append(_sn(nn.Conv2d(widths[-1], 1, 2, 1, 0), spectral_norm))
        self.main = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.main(x).view(-1)
