"""The 70x70 PatchGAN discriminator (reference key layout: convs at model.0/2/5/8/11)."""

from __future__ import annotations

import torch
from torch import nn

from ganctl.nets.unet import norm_layer


class PatchDiscriminator(nn.Module):
    """n_layers=3 gives the 70x70 receptive field; a 256x256 input gives 30x30 logits."""

    def __init__(self, in_channels: int = 6, ndf: int = 64, n_layers: int = 3,
                 norm: str = "batch"):
        super().__init__()
        bias = norm == "instance"
        layers = [nn.Conv2d(in_channels, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        mult = 1
        for n in range(1, n_layers + 1):
            prev, mult = mult, min(2**n, 8)
            stride = 2 if n < n_layers else 1
            layers += [nn.Conv2d(ndf * prev, ndf * mult, 4, stride, 1, bias=bias),
                       norm_layer(norm, ndf * mult), nn.LeakyReLU(0.2, True)]
        layers.append(nn.Conv2d(ndf * mult, 1, 4, 1, 1))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)
