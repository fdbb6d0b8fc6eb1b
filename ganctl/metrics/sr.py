"""The super-resolution papers' scoring protocol, as `ganctl evaluate upscale` and the
upscaler bench run it.

Each high-resolution image is cropped to a multiple of the scale, down-sampled by bicubic
with antialiasing (torch's, the kernel of MATLAB's `imresize`: a = -0.5, widened by the
scale), up-sampled by the method, rounded to 8 bits (what a saved PNG holds), and scored
on the Y channel of ITU-R BT.601 (MATLAB's `rgb2ycbcr`, range 16-235) with `scale` pixels
shaved off every border, as SRCNN, VDSR and EDSR report; PSNR and SSIM on RGB with the
same border are given beside them.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ganctl.metrics.image import psnr, ssim


def y_channel(rgb: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) in [0, 1] -> (N, 1, H, W) BT.601 luma in [16/255, 235/255]."""
    r, g, b = rgb[:, 0:1], rgb[:, 1:2], rgb[:, 2:3]
    return (16 + 65.481 * r + 128.553 * g + 24.966 * b) / 255


def downscale(hr: torch.Tensor, scale: int) -> torch.Tensor:
    """The low-resolution input of the protocol: bicubic with antialiasing, [-1, 1] in
    and out."""
    return F.interpolate(hr, scale_factor=1 / scale, mode="bicubic", antialias=True,
                         align_corners=False).clamp(-1, 1)


def bicubic(lr: torch.Tensor, scale: int) -> torch.Tensor:
    """The baseline: plain bicubic up-sampling, [-1, 1] in and out."""
    return F.interpolate(lr, scale_factor=scale, mode="bicubic",
                         align_corners=False).clamp(-1, 1)


def crop_to(hr: torch.Tensor, scale: int) -> torch.Tensor:
    h, w = hr.shape[-2] // scale * scale, hr.shape[-1] // scale * scale
    return hr[..., :h, :w]


def scores(sr: torch.Tensor, hr: torch.Tensor, border: int) -> dict[str, float]:
    """PSNR/SSIM on Y and on RGB with `border` pixels shaved; (1, C, H, W) in [-1, 1]."""
    sr, hr = ((x.float() + 1).div(2).clamp(0, 1).mul(255).round().div(255) for x in (sr, hr))
    if border:
        sr, hr = (x[..., border:-border, border:-border] for x in (sr, hr))
    out = {"psnr_rgb": float(psnr(sr, hr)), "ssim_rgb": float(ssim(sr, hr))}
    if sr.shape[1] == 3:
        sy, hy = y_channel(sr), y_channel(hr)
        out = {"psnr_y": float(psnr(sy, hy)), "ssim_y": float(ssim(sy, hy)), **out}
    return out


def means(rows: list[dict]) -> dict[str, float]:
    keys = [k for k in rows[0] if isinstance(rows[0][k], float)]
    return {k: round(sum(r[k] for r in rows) / len(rows), 4) for k in keys}
