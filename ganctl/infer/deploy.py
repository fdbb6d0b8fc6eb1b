"""Inference nets with their fixed pre- and post-processing folded in, for export.

Every deployable net takes and returns images as float32 in [0, 1], NCHW (what an
image library gives after dividing by 255), so a user of the exported file needs no
knowledge of ganctl's [-1, 1] convention. A plugin's `deployable` hook returns one.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import torch
from torch import nn


@dataclass
class Deployable:
    """A net ready to export, with example inputs and how its shapes may vary.

    `inputs`: name -> example tensor (the export traces these); `dynamic`: name ->
    {axis: axis name} for the axes that may change; `probes`: further inputs (other
    batch sizes and image sizes) the export is checked on; `describe`: one line per input
    and output for the model card and the ONNX metadata."""

    net: nn.Module
    inputs: dict[str, torch.Tensor]
    outputs: list[str]
    dynamic: dict[str, dict[int, str]]
    describe: dict[str, str]
    probes: list[dict[str, torch.Tensor]] = field(default_factory=list)
    extra: dict = field(default_factory=dict)  # e.g. the calibrated threshold

    def run(self, inputs: dict[str, torch.Tensor]) -> list[torch.Tensor]:
        with torch.inference_mode():
            out = self.net(*[inputs[k] for k in self.inputs])
        return list(out) if isinstance(out, (tuple, list)) else [out]


class FromLatents(nn.Module):
    """latents (N, z) -> images in [0, 1]."""

    def __init__(self, g: nn.Module):
        super().__init__()
        self.g = g

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return (self.g(z).clamp(-1, 1) + 1) / 2


class ImageToImage(nn.Module):
    """images in [0, 1] -> images in [0, 1], through a net that works in [-1, 1]."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.net(x * 2 - 1).clamp(-1, 1) + 1) / 2


class ImageStatsNorm(nn.Module):
    """A BatchNorm layer normalising each image by its own statistics (how ganctl runs a
    batch-size-1 pix2pix generator), so a batch of images gives each its own output."""

    def __init__(self, bn: nn.modules.batchnorm._BatchNorm):
        super().__init__()
        self.weight, self.bias, self.eps = bn.weight, bn.bias, bn.eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.instance_norm(x, weight=self.weight, bias=self.bias, eps=self.eps)


def with_image_stats(net: nn.Module) -> nn.Module:
    """A copy of `net` whose BatchNorm2d layers use each image's own statistics."""
    net = copy.deepcopy(net)
    for m in list(net.modules()):
        for child_name, child in list(m.named_children()):
            if isinstance(child, nn.BatchNorm2d):
                setattr(m, child_name, ImageStatsNorm(child))
    return net


def latent_deployable(g: nn.Module, z_dim: int) -> Deployable:
    """A generator from noise: a batch of latents in, a batch of images out."""
    gen = torch.Generator().manual_seed(0)
    return Deployable(
        FromLatents(g).eval(), {"z": torch.randn(2, z_dim, generator=gen)}, ["image"],
        {"z": {0: "batch"}, "image": {0: "batch"}},
        {"z": f"float32 (batch, {z_dim}): standard normal latents (ganctl's seed s is "
              f"torch.Generator().manual_seed(s) then torch.randn({z_dim}))",
         "image": "float32 (batch, C, H, W) in [0, 1]"},
        probes=[{"z": torch.randn(5, z_dim, generator=gen)}])


def image_deployable(net: nn.Module, channels: int, sizes: list[tuple[int, int]],
                     what: str) -> Deployable:
    """An image-to-image net; `sizes` are (H, W) it accepts (the first is traced, the rest
    probe the dynamic height and width)."""
    gen = torch.Generator().manual_seed(0)

    def image(n, hw):
        return torch.rand(n, channels, *hw, generator=gen)

    return Deployable(
        ImageToImage(net).eval(), {"image": image(1, sizes[0])}, ["output"],
        {"image": {0: "batch", 2: "height", 3: "width"},
         "output": {0: "batch", 2: "out_height", 3: "out_width"}},
        {"image": f"float32 (batch, {channels}, H, W) in [0, 1]; {what}",
         "output": "float32 (batch, C, H', W') in [0, 1]"},
        probes=[{"image": image(2, hw)} for hw in sizes[1:]])
