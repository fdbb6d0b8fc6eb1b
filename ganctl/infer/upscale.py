"""Super-resolution of any image with any x`scale` net: tiles with overlap (bounded
memory, no seams), every PIL mode, CUDA out-of-memory back-off."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ganctl.console import warn
from ganctl.errors import GanctlError, UsageError
from ganctl.tensors import from_pil, match_channels

MIN_TILE = 16
# Output pixels are kept within the range of the 3x3 input pixels around them, widened by
# this much (on the [-1, 1] scale), chosen on a val split by bench/upscale_range.py:
# without it the bundled upscaler turned JPEG noise in dark areas into isolated bright
# speckles (docs/img/upscale-speckles.png shows both).
RANGE_MARGIN = 16 / 255


def within_local_range(y: torch.Tensor, x: torch.Tensor, scale: int,
                       margin: float | None = None) -> torch.Tensor:
    """`y` (N, C, sH, sW) clamped per pixel to [min - margin, max + margin] of the 3x3
    input pixels of `x` (N, C, H, W) it comes from (default margin: RANGE_MARGIN), and to
    [-1, 1]."""
    margin = RANGE_MARGIN if margin is None else margin
    x = x.to(y.device, y.dtype)
    hi = torch.nn.functional.max_pool2d(x, 3, 1, 1)
    lo = -torch.nn.functional.max_pool2d(-x, 3, 1, 1)
    hi = hi.repeat_interleave(scale, -2).repeat_interleave(scale, -1)
    lo = lo.repeat_interleave(scale, -2).repeat_interleave(scale, -1)
    return torch.maximum(torch.minimum(y, hi + margin), lo - margin).clamp(-1, 1)


def finish(net, y: torch.Tensor, x: torch.Tensor, scale: int) -> torch.Tensor:
    """A net's output kept within the local range of its input (ganctl's own upscalers),
    or only within [-1, 1] for nets that say `local_range = False` (published and community
    files, whose outputs stay what their authors' code gives)."""
    if getattr(net, "local_range", True):
        return within_local_range(y, x, scale)
    return y.clamp(-1, 1)


# Tiles of one shape run together up to this many input pixels per forward pass, so
# small tiles keep a GPU busy while memory stays bounded by about one default tile
# (256 px plus context: one at a time).
BATCH_PIXELS = 128 * 1024


def run_tiled(net, x: torch.Tensor, scale: int, tile: int, pad: int,
              device: torch.device, batch_pixels: int = BATCH_PIXELS) -> torch.Tensor:
    """Apply `net` to (1, C, H, W) `x` in [-1, 1] tile by tile; returns float (C, sH, sW)
    on the CPU. Each tile sees `pad` extra input pixels on every side that exist in the
    image, so with pad >= the net's receptive radius the result equals one full pass.
    Tiles of the same padded shape (all interior ones) run several at a time, up to
    `batch_pixels` input pixels per pass."""
    _, c, h, w = x.shape
    tile = tile if tile > 0 else max(h, w)
    out = torch.empty(c, h * scale, w * scale)
    groups: dict[tuple[int, int], list] = {}
    for y0 in range(0, h, tile):
        for x0 in range(0, w, tile):
            y1, x1 = min(y0 + tile, h), min(x0 + tile, w)
            py0, px0, py1, px1 = max(y0 - pad, 0), max(x0 - pad, 0), min(y1 + pad, h), \
                min(x1 + pad, w)
            groups.setdefault((py1 - py0, px1 - px0), []).append(
                (y0, x0, y1, x1, py0, px0, py1, px1))
    for (ph, pw), specs in groups.items():
        batch = max(1, batch_pixels // (ph * pw))
        for k in range(0, len(specs), batch):
            part = specs[k:k + batch]
            crops = torch.cat([x[..., py0:py1, px0:px1] for *_, py0, px0, py1, px1 in part])
            res = finish(net, net(crops.to(device)).float(), crops, scale).cpu()
            for r, (y0, x0, y1, x1, py0, px0, _, _) in zip(res, part):
                oy, ox = (y0 - py0) * scale, (x0 - px0) * scale
                out[:, y0 * scale:y1 * scale, x0 * scale:x1 * scale] = \
                    r[:, oy:oy + (y1 - y0) * scale, ox:ox + (x1 - x0) * scale]
    return out


def run_with_backoff(net, x, scale, tile, pad, device) -> torch.Tensor:
    """`run_tiled`, halving the tile after each CUDA out-of-memory error."""
    while True:
        try:
            with torch.inference_mode():
                return run_tiled(net, x, scale, tile, pad, device)
        except torch.OutOfMemoryError:
            torch.cuda.empty_cache()
            current = tile if tile > 0 else max(x.shape[-2:])
            if current <= MIN_TILE:
                raise GanctlError(f"out of GPU memory even with {MIN_TILE}-px tiles; use "
                                  "--device cpu") from None
            tile = max(MIN_TILE, current // 2)
            warn(f"out of GPU memory; retrying with --tile {tile}")


def upscale_image(img: Image.Image, net, scale: int, net_channels: int, device,
                  tile: int = 128, pad: int = 16, outscale: float | None = None) -> Image.Image:
    """Upscale a PIL image of any mode; returns the same kind of image, `scale` (or
    `outscale`) times larger. Alpha is upscaled separately (bicubic); 16-bit gray stays
    16-bit; a gray net runs on each channel of a colour image."""
    alpha = None
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        img = img.convert("RGBA") if img.mode != "LA" else img
        alpha = img.getchannel("A")
        img = img.convert("RGB" if img.mode == "RGBA" else "L")
    sixteen = img.mode in ("I;16", "I;16B", "I;16L", "I")
    if not sixteen and img.mode not in ("L", "RGB"):
        img = img.convert("L" if img.mode in ("1", "F") else "RGB")
    x = from_pil([img])

    if net_channels == x.shape[1]:
        y = run_with_backoff(net, x, scale, tile, pad, device)
    elif net_channels == 1:  # gray net, colour image: each channel on its own
        y = torch.cat([run_with_backoff(net, x[:, i:i + 1], scale, tile, pad, device)
                       for i in range(x.shape[1])])
    else:  # colour net, gray image
        y = run_with_backoff(net, match_channels(x, 3), scale, tile, pad, device)
        y = y.mean(0, keepdim=True)
    out = to_image(y, sixteen)
    if alpha is not None:
        out.putalpha(alpha.resize(out.size, Image.Resampling.BICUBIC))
    return rescaled(out, img.size, scale, outscale)


def to_image(y: torch.Tensor, sixteen: bool = False) -> Image.Image:
    """A net's (C, H, W) output in [-1, 1] as an 8-bit L/RGB (or 16-bit gray) image."""
    with torch.inference_mode():  # in place: the output is the big array here
        unit = y.add_(1).mul_(0.5).clamp_(0, 1)
        if sixteen:
            return Image.fromarray(unit[0].mul_(65535).add_(0.5).numpy().astype(np.uint16))
        arr8 = unit.mul_(255).add_(0.5).to(torch.uint8).permute(1, 2, 0).contiguous().numpy()
    return Image.fromarray(arr8[..., 0], "L") if arr8.shape[2] == 1 else \
        Image.fromarray(arr8, "RGB")


def rescaled(out: Image.Image, size_in, scale: int, outscale: float | None) -> Image.Image:
    if outscale and outscale != scale:
        size = (max(1, round(size_in[0] * outscale)), max(1, round(size_in[1] * outscale)))
        out = out.resize(size, Image.Resampling.LANCZOS)
    return out


def upscale_images(imgs: list[Image.Image], net, scale: int, net_channels: int, device,
                   tile: int = 128, pad: int = 16, outscale: float | None = None,
                   batch_pixels: int = BATCH_PIXELS) -> list[Image.Image]:
    """`upscale_image` of each image; plain 8-bit images of one size and mode that fit
    in one tile, with the net's channel count, run together (up to `batch_pixels` input
    pixels per pass), each giving the output it gets alone."""
    first = imgs[0]
    together = (len(imgs) > 1 and first.mode == ("L" if net_channels == 1 else "RGB")
                and all(i.size == first.size and i.mode == first.mode for i in imgs)
                and (tile <= 0 or max(first.size) <= tile))
    if not together:
        return [upscale_image(i, net, scale, net_channels, device, tile, pad, outscale)
                for i in imgs]
    per_pass = max(1, batch_pixels // (first.width * first.height))
    out = []
    for k in range(0, len(imgs), per_pass):
        x = from_pil(imgs[k:k + per_pass])
        with torch.inference_mode():
            y = finish(net, net(x.to(device)).float(), x, scale).cpu()
        out += [rescaled(to_image(yi), first.size, scale, outscale) for yi in y]
    return out


@dataclass
class Loaded:
    """An upscaler ready to run: the net (on [-1, 1] images), its scale, the channels it
    takes, the tile context that makes tiles seamless, and what it is (`record` for
    --json, `line` for stderr, `warning` when it is no better than bicubic)."""

    net: torch.nn.Module
    scale: int
    channels: int
    context: int
    record: dict
    line: str
    warning: str | None = None


def load_upscaler(plugin, model: str | None, explicit: str | None, device) -> Loaded:
    """The upscaler `upscale --model MODEL --weights EXPLICIT` runs: a named one (the
    bundled photo-x4, a published file fetched once), a community file, or `plugin`'s
    upscaling stage (its default, or ganctl weights that `explicit` names)."""
    from ganctl import weights as wmod
    from ganctl.weights import bundled, community, provenance, upscalers

    if model in upscalers.names():
        if explicit is not None:
            raise UsageError(f"--model {model} and --weights both name weights: pass one")
        if model == upscalers.BUNDLED:
            w = wmod.for_upscaling(plugin, bundled.PREFIX + model)
        else:
            path = upscalers.fetch(upscalers.UPSCALERS[model])
            w = wmod.load(plugin.name, plugin.refine_stage, str(path), device).with_(
                origin="published")
    elif community.is_community_file(explicit):
        c = community.load(Path(explicit), device)
        return Loaded(c.net, c.scale, c.channels, c.context, c.record, c.line)
    else:
        w = wmod.for_upscaling(plugin, explicit)
    net, scale, channels, context = plugin.upscaler(w, device)
    return Loaded(net.eval(), scale, channels, context, provenance.record(w, plugin),
                  provenance.line(w, plugin), plugin.weights_warning(w))
