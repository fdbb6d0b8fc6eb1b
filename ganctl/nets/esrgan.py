"""The ESRGAN family's generators, with the parameter names of the published files (BasicSR
/ Real-ESRGAN), so their `params_ema`/`params` state_dicts load with the exact key set:

- `RRDBNet` (Wang et al., ESRGAN, 2018): conv, `num_block` residual-in-residual dense
  blocks, conv and a long skip, two nearest x2 up-samplings each followed by a conv and a
  leaky ReLU, two convs. x2 and x1 models first fold the image into channels
  (pixel-unshuffle), as Real-ESRGAN's x2plus does.
- `SRVGGNetCompact` (Real-ESRGAN v3's small models): plain conv + PReLU layers at the
  input's resolution, a PixelShuffle, plus the nearest-neighbour up-sampled input.

The published nets take and give images in [0, 1]; ganctl's upscalers work in [-1, 1], so
`forward` maps both ways around `forward_unit` (the published computation itself).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _lrelu(x: torch.Tensor) -> torch.Tensor:
    return F.leaky_relu(x, 0.2)


class DenseBlock(nn.Module):
    """Five 3x3 convs, each seeing the block's input and every earlier output; the result,
    scaled by 0.2, is added to the input."""

    def __init__(self, num_feat: int, num_grow_ch: int):
        super().__init__()
        for i in range(5):
            cout = num_feat if i == 4 else num_grow_ch
            setattr(self, f"conv{i + 1}", nn.Conv2d(num_feat + i * num_grow_ch, cout, 3, 1, 1))

    def forward(self, x):
        feats = [x]
        for i in range(1, 5):
            feats.append(_lrelu(getattr(self, f"conv{i}")(torch.cat(feats, 1))))
        return x + 0.2 * self.conv5(torch.cat(feats, 1))


class RRDB(nn.Module):
    def __init__(self, num_feat: int, num_grow_ch: int):
        super().__init__()
        self.rdb1 = DenseBlock(num_feat, num_grow_ch)
        self.rdb2 = DenseBlock(num_feat, num_grow_ch)
        self.rdb3 = DenseBlock(num_feat, num_grow_ch)

    def forward(self, x):
        return x + 0.2 * self.rdb3(self.rdb2(self.rdb1(x)))


class RRDBNet(nn.Module):
    local_range = False  # its outputs are kept as the published code gives them

    def __init__(self, num_in_ch: int = 3, num_out_ch: int = 3, scale: int = 4,
                 num_feat: int = 64, num_block: int = 23, num_grow_ch: int = 32):
        super().__init__()
        if scale not in (1, 2, 4):
            raise ValueError(f"scale must be 1, 2 or 4, got {scale}")
        self.scale = scale
        self.fold = {4: 1, 2: 2, 1: 4}[scale]
        self.conv_first = nn.Conv2d(num_in_ch * self.fold**2, num_feat, 3, 1, 1)
        self.body = nn.Sequential(*[RRDB(num_feat, num_grow_ch) for _ in range(num_block)])
        self.conv_body = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_up1 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_up2 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_hr = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_last = nn.Conv2d(num_feat, num_out_ch, 3, 1, 1)

    @property
    def receptive_radius(self) -> int:
        """Input pixels on each side that can reach an output pixel (15 convs a block)."""
        return self.fold * (2 + 15 * len(self.body)) + 3

    def forward_unit(self, x: torch.Tensor) -> torch.Tensor:
        if self.fold > 1:
            x = F.pixel_unshuffle(x, self.fold)
        feat = self.conv_first(x)
        feat = feat + self.conv_body(self.body(feat))
        feat = _lrelu(self.conv_up1(F.interpolate(feat, scale_factor=2, mode="nearest")))
        feat = _lrelu(self.conv_up2(F.interpolate(feat, scale_factor=2, mode="nearest")))
        return self.conv_last(_lrelu(self.conv_hr(feat)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_unit((x + 1) / 2) * 2 - 1


class SRVGGNetCompact(nn.Module):
    local_range = False

    def __init__(self, num_in_ch: int = 3, num_out_ch: int = 3, num_feat: int = 64,
                 num_conv: int = 16, upscale: int = 4, act_type: str = "prelu"):
        super().__init__()
        acts = {"prelu": lambda: nn.PReLU(num_parameters=num_feat), "relu": nn.ReLU,
                "leakyrelu": lambda: nn.LeakyReLU(0.1)}
        if act_type not in acts:
            raise ValueError(f"act_type must be one of {', '.join(acts)}, got {act_type!r}")
        self.scale = upscale
        layers = [nn.Conv2d(num_in_ch, num_feat, 3, 1, 1), acts[act_type]()]
        for _ in range(num_conv):
            layers += [nn.Conv2d(num_feat, num_feat, 3, 1, 1), acts[act_type]()]
        layers.append(nn.Conv2d(num_feat, num_out_ch * upscale * upscale, 3, 1, 1))
        self.body = nn.ModuleList(layers)
        self.upsampler = nn.PixelShuffle(upscale)

    @property
    def receptive_radius(self) -> int:
        return sum(isinstance(m, nn.Conv2d) for m in self.body) + 1

    def forward_unit(self, x: torch.Tensor) -> torch.Tensor:
        out = x
        for layer in self.body:
            out = layer(out)
        return self.upsampler(out) + F.interpolate(x, scale_factor=self.scale, mode="nearest")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_unit((x + 1) / 2) * 2 - 1
