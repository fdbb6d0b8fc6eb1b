"""Size-faithful image-to-image translation: the output has the input's size and aspect.

The net runs at a working size it can take (a multiple of its `multiple`): either the
input's own size padded up (CycleGAN: fully convolutional, resolution-agnostic) or the
input scaled so its longest side is the training size, then padded (pix2pix: its U-Net
learned a scale). The padding is cropped off and the result mapped back to the input's
size. Very large inputs run in overlapping tiles blended with linear ramps.
"""

from __future__ import annotations

import contextlib

import torch
import torch.nn.functional as F
from PIL import Image

from ganctl.data.images import to_mode
from ganctl.tensors import from_pil, to_pil


def to_tensor(img: Image.Image, channels: int) -> torch.Tensor:
    """(1, C, H, W) in [-1, 1]; alpha composited on white (a sketch on white stays one)."""
    return from_pil([to_mode(img, channels)])


def _pad_to(x: torch.Tensor, multiple: int, minimum: int = 16) -> torch.Tensor:
    """Pad bottom/right up to a multiple of `multiple` and at least `minimum` (a 1-px or
    3-px-high image still passes the net's own reflection padding); reflect where the
    image is big enough, else replicate edge pixels."""
    h, w = x.shape[-2:]

    def target(n: int) -> int:
        return max(-(-n // multiple) * multiple, -(-minimum // multiple) * multiple)

    ph, pw = target(h) - h, target(w) - w
    if not (ph or pw):
        return x
    mode = "reflect" if ph < h and pw < w else "replicate"
    return F.pad(x, (0, pw, 0, ph), mode=mode)


def run_padded(net, x: torch.Tensor, multiple: int, device) -> torch.Tensor:
    h, w = x.shape[-2:]
    return net(_pad_to(x, multiple).to(device)).float().cpu()[..., :h, :w]


class PooledInstanceNorm:
    """Instance norm over the whole image while the net runs tile by tile: a first pass
    pools every InstanceNorm layer's per-channel sums over all tiles, a second pass
    normalises every tile with those pooled statistics instead of its own (per-tile
    statistics shift each tile's colours and contrast, and blending cannot hide that)."""

    def __init__(self, net: torch.nn.Module):
        self.norms = [m for m in net.modules() if isinstance(m, torch.nn.InstanceNorm2d)]
        self.sums: dict = {}
        self.stats: dict = {}

    def record(self, m, inputs, _out):
        v = inputs[0].float()
        s = self.sums.setdefault(m, [0.0, 0.0, 0])
        s[0] = s[0] + v.sum((2, 3), keepdim=True)
        s[1] = s[1] + (v * v).sum((2, 3), keepdim=True)
        s[2] += v.shape[2] * v.shape[3]

    def apply(self, m, inputs, _out):
        mean, var = self.stats[m]
        y = (inputs[0].float() - mean) / torch.sqrt(var + m.eps)
        if m.affine:
            y = y * m.weight[None, :, None, None] + m.bias[None, :, None, None]
        return y.to(inputs[0].dtype)

    @contextlib.contextmanager
    def hooks(self, fn):
        handles = [m.register_forward_hook(fn) for m in self.norms]
        try:
            yield
        finally:
            for h in handles:
                h.remove()

    def pool(self) -> None:
        for m, (s1, s2, n) in self.sums.items():
            mean = s1 / n
            self.stats[m] = (mean, (s2 / n - mean * mean).clamp(min=0))


def run_tiles(net, x: torch.Tensor, multiple: int, tile: int, overlap: int,
              device) -> torch.Tensor:
    """Overlapping tiles, each blended in with weights that ramp linearly to the tile
    edges; nets with instance norm run twice, normalising with pooled statistics."""
    pooled = PooledInstanceNorm(net)
    if not pooled.norms:
        return blend_tiles(net, x, multiple, tile, overlap, device)
    with pooled.hooks(pooled.record):
        blend_tiles(net, x, multiple, tile, overlap, device)
    pooled.pool()
    with pooled.hooks(pooled.apply):
        return blend_tiles(net, x, multiple, tile, overlap, device)


def blend_tiles(net, x: torch.Tensor, multiple: int, tile: int, overlap: int,
                device) -> torch.Tensor:
    _, _, h, w = x.shape
    out = torch.zeros(1, 0, h, w)
    weight = torch.zeros(1, 1, h, w)
    step = max(multiple, tile - overlap)
    ys = sorted({min(y, max(h - tile, 0)) for y in range(0, h, step)})
    xs = sorted({min(v, max(w - tile, 0)) for v in range(0, w, step)})
    for y0 in ys:
        for x0 in xs:
            patch = x[..., y0:y0 + tile, x0:x0 + tile]
            y = run_padded(net, patch, multiple, device)
            if out.shape[1] == 0:
                out = torch.zeros(1, y.shape[1], h, w)
            ph, pw = patch.shape[-2:]
            ramp_y = torch.minimum(torch.arange(ph) + 1, torch.arange(ph).flip(0) + 1).clamp(
                max=overlap or 1).float()
            ramp_x = torch.minimum(torch.arange(pw) + 1, torch.arange(pw).flip(0) + 1).clamp(
                max=overlap or 1).float()
            wgt = (ramp_y[:, None] * ramp_x[None, :])[None, None]
            out[..., y0:y0 + ph, x0:x0 + pw] += y * wgt
            weight[..., y0:y0 + ph, x0:x0 + pw] += wgt
    return out / weight


@torch.inference_mode()
def translate_images(imgs: list[Image.Image], net, device, channels: int = 3,
                     multiple: int = 4, work_size: int | None = None,
                     force_size: int | None = None, tile: int = 1024,
                     overlap: int = 64) -> list[Image.Image]:
    """Translate PIL images of one size and mode in one forward pass (an eval-mode net
    normalises each image by itself, so each result is the one it gets alone); returns
    RGB (or L for 1-channel nets) at the inputs' size, or `force_size` x `force_size`."""
    w, h = imgs[0].size
    if any(i.size != (w, h) or i.mode != imgs[0].mode for i in imgs):
        raise ValueError("translate_images takes images of one size and mode")
    x = torch.cat([to_tensor(i, channels) for i in imgs])
    if force_size:
        x = F.interpolate(x, size=(force_size, force_size), mode="bicubic", align_corners=False,
                          antialias=True).clamp(-1, 1)
    elif work_size:
        s = work_size / max(w, h)
        size = (max(1, round(h * s)), max(1, round(w * s)))
        x = F.interpolate(x, size=size, mode="bicubic", align_corners=False,
                          antialias=s < 1).clamp(-1, 1)
    if max(x.shape[-2:]) > tile and not work_size:  # tiles: one image at a time
        y = torch.cat([run_tiles(net, xi[None], multiple, tile, overlap, device) for xi in x])
    else:
        y = run_padded(net, x, multiple, device)
    if not force_size and tuple(y.shape[-2:]) != (h, w):
        y = F.interpolate(y, size=(h, w), mode="bicubic", align_corners=False,
                          antialias=y.shape[-1] > w).clamp(-1, 1)
    return [to_pil(yi.clamp(-1, 1)) for yi in y]
