"""CycleGAN's ResNet generator (c7s1-64, d128, d256, R256 x n, u128, u64, c7s1-3) with the
reference key layout (`model.N`, blocks' `conv_block.N`)."""

from __future__ import annotations

import torch
from torch import nn

from ganctl.nets.unet import norm_layer


class ResnetBlock(nn.Module):
    def __init__(self, dim: int, norm: str, dropout: bool):
        super().__init__()
        bias = norm == "instance"
        layers = [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=bias), norm_layer(norm, dim),
                  nn.ReLU(True)]
        if dropout:
            layers.append(nn.Dropout(0.5))
        layers += [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=bias),
                   norm_layer(norm, dim)]
        self.conv_block = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv_block(x)


class ResnetGenerator(nn.Module):
    multiple = 4  # two stride-2 steps: sides must be multiples of 4

    def __init__(self, in_channels: int = 3, out_channels: int = 3, ngf: int = 64,
                 n_blocks: int = 9, norm: str = "instance", dropout: bool = False,
                 upsample: str = "transpose"):
        """`upsample`: "transpose", the paper's 3x3 stride-2 transposed convs (their kernel
        is not a multiple of the stride, so they overlap unevenly: a checkerboard), or
        "resize", nearest-neighbour x2 then a 3x3 conv (even overlap, no checkerboard)."""
        super().__init__()
        bias = norm == "instance"
        layers = [nn.ReflectionPad2d(3), nn.Conv2d(in_channels, ngf, 7, bias=bias),
                  norm_layer(norm, ngf), nn.ReLU(True)]
        for mult in (1, 2):
            layers += [nn.Conv2d(ngf * mult, ngf * mult * 2, 3, 2, 1, bias=bias),
                       norm_layer(norm, ngf * mult * 2), nn.ReLU(True)]
        layers += [ResnetBlock(ngf * 4, norm, dropout) for _ in range(n_blocks)]
        if upsample not in ("transpose", "resize"):
            raise ValueError(f"upsample must be transpose or resize, not {upsample!r}")
        for mult in (4, 2):
            if upsample == "transpose":
                layers.append(nn.ConvTranspose2d(ngf * mult, ngf * mult // 2, 3, 2, 1,
                                                 output_padding=1, bias=bias))
            else:
                layers += [nn.Upsample(scale_factor=2, mode="nearest"),
                           nn.Conv2d(ngf * mult, ngf * mult // 2, 3, 1, 1, bias=bias)]
            layers += [norm_layer(norm, ngf * mult // 2), nn.ReLU(True)]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, out_channels, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)
