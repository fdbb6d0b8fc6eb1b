"""Statistics every bench reports: the median and range of repeated measurements, and
the super-resolution scores of a batch."""

from __future__ import annotations

import statistics

import torch


def spread(values: list[float], digits: int | None = None) -> dict:
    """Median, min and max of repeated measurements (seeds, rounds); with `digits`, each
    rounded and the values themselves kept as `runs`."""
    out = {"median": statistics.median(values), "min": min(values), "max": max(values)}
    if digits is None:
        return out
    return {**{k: round(v, digits) for k, v in out.items()},
            "runs": [round(v, digits) for v in values]}


def sharpness(x: torch.Tensor) -> torch.Tensor:
    """Mean absolute horizontal + vertical difference per image (in [0, 1] units)."""
    return (x[..., 1:, :] - x[..., :-1, :]).abs().mean((1, 2, 3)) + \
        (x[..., :, 1:] - x[..., :, :-1]).abs().mean((1, 2, 3))


def sr_scores(sr: torch.Tensor, hr: torch.Tensor) -> dict:
    from ganctl.metrics.image import psnr, ssim

    a, b = (sr.clamp(-1, 1) + 1) / 2, (hr + 1) / 2
    return {"psnr": round(float(psnr(a, b).mean()), 3), "ssim": round(float(ssim(a, b).mean()), 4),
            "sharpness": round(float((sharpness(a) / sharpness(b)).mean()), 4)}
