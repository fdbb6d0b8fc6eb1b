"""The simple fully connected GAN (the sneakers seed's failing baseline)."""

from __future__ import annotations

import torch
from torch import nn


class Generator(nn.Module):
    def __init__(self, z_dim: int = 100, channels: int = 3, size: int = 28, hidden: int = 1024):
        super().__init__()
        self.z_dim, self.shape = z_dim, (channels, size, size)
        self.body = nn.Sequential(nn.Linear(z_dim, hidden), nn.ReLU(True),
                                  nn.Linear(hidden, hidden), nn.ReLU(True),
                                  nn.Linear(hidden, channels * size * size), nn.Tanh())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.body(z).unflatten(1, self.shape)


class Discriminator(nn.Module):
    def __init__(self, channels: int = 3, size: int = 28, hidden: int = 256):
        super().__init__()
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(channels * size * size, hidden),
                                  nn.LeakyReLU(0.01, True), nn.Linear(hidden, hidden),
                                  nn.LeakyReLU(0.01, True), nn.Linear(hidden, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x).view(-1)
