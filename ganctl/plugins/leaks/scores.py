"""Anomaly scores of the leaks VAE and the rules that turn held-out scores into a threshold."""

from __future__ import annotations

import re

import numpy as np
import torch

from ganctl.errors import GanctlError
from ganctl.metrics import detection

RULES = re.compile(r"^(auto|best-f1|mean-proliv|quantile:(0(\.\d+)?|1(\.0+)?))$")
# The thresholds a run also records for these rules (the weights' meta, calibration.rules),
# so another rule can be tried with --threshold without retraining.
RECORDED = ("best-f1", "mean-proliv", "quantile:0.9", "quantile:0.93", "quantile:0.95",
            "quantile:0.97", "quantile:0.98", "quantile:0.99", "quantile:0.995")


# `threshold=auto` never puts the threshold above this quantile of the held-out normal
# scores. Chosen on held-out training images (`python -m bench.leaks_fashion --split
# val`, both layouts): when every known leak scores far above every normal image,
# proliv/ says nothing about where leaks unlike them fall, and best-f1 alone then sits on
# the single highest normal score. 0.93 is the highest cap whose leak recall stayed above
# 0.9 on every val seed of the look-alike layout (0.97 did on the all-classes layout).
AUTO_CAP = 0.93


def calibrate(rule: str, normal: np.ndarray, leak: np.ndarray) -> tuple[float, str]:
    """(threshold, rule used) from held-out normal scores and known-leak scores.

    `auto`: best-f1 when there are known leaks, capped at the AUTO_CAP quantile of the
    normal scores (where the cap applies, about 3 % of held-out normal images score
    above the threshold); quantile:0.99 without them."""
    if rule == "auto":
        if not len(leak):
            return calibrate("quantile:0.99", normal, leak)
        t, cap = calibrate("best-f1", normal, leak)[0], float(np.quantile(normal, AUTO_CAP))
        return (t, "best-f1") if t <= cap else (
            cap, f"quantile:{AUTO_CAP:g} of normals (auto's cap; best-f1 was higher)")
    if rule in ("best-f1", "mean-proliv") and not len(leak):
        raise GanctlError(f"threshold={rule} needs images in proliv/")
    if rule == "best-f1":
        t = detection.best_f1_threshold([0] * len(normal) + [1] * len(leak),
                                        np.r_[normal, leak])
    elif rule == "mean-proliv":
        t = float(leak.mean())
    else:
        t = float(np.quantile(normal, float(rule.split(":")[1])))
    return t, rule


FIT_IMAGES = 4096
# Ridge added to the feature covariance, relative to its mean variance (it has more
# dimensions than a small dataset has images).
RIDGE = 0.01


@torch.no_grad()
def fit_feature_stats(vae, images: torch.Tensor, cond: torch.Tensor, use_cond: bool,
                      device, batch: int = 256) -> None:
    """Set `vae.feat_mean` and `vae.feat_precision` from normal images (eval mode)."""
    vae.eval()
    feats = torch.cat([vae.features(images[i:i + batch].to(device).float().div(255),
                                    cond[i:i + batch].to(device) if use_cond else None).double()
                       for i in range(0, len(images), batch)])
    mean = feats.mean(0)
    cov = torch.cov(feats.T) if len(feats) > 1 else torch.zeros(len(mean), len(mean))
    cov = cov.to(mean) + RIDGE * max(float(cov.diagonal().mean()), 1e-12) * torch.eye(
        len(mean), dtype=mean.dtype, device=mean.device)
    vae.feat_mean.copy_(mean.float())
    vae.feat_precision.copy_(torch.linalg.inv(cov).float())
    if vae.leak_head is not None:  # both scores' mean and spread on these normal images
        m = vae.distance(feats.float())
        logit = vae.leak_head(feats.float()).squeeze(1)
        vae.score_norm.copy_(torch.stack([m.mean(), m.std().clamp_min(1e-6),
                                          logit.mean(), logit.std().clamp_min(1e-6)]))


class Scorer(torch.nn.Module):
    """Images in [0, 1] (and their condition vectors) -> (one anomaly score per image,
    the per-pixel squared reconstruction error averaged over channels)."""

    def __init__(self, vae, score: str):
        super().__init__()
        self.vae, self.score = vae, score

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None):
        recon, mu, logvar = self.vae(x, cond)
        err = (recon - x).pow(2)
        if self.score == "feature":
            s = self.vae.anomaly(x, cond)
        elif self.score == "mse":
            s = err.flatten(1).mean(1)
        else:
            kl = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(1)
            s = err.flatten(1).sum(1) + kl
        return s, err.mean(1)


@torch.inference_mode()
def score_batch(vae, images: torch.Tensor, cond, score: str, device, batch: int = 256):
    """Per-image scores (numpy) and per-pixel squared-error maps (N, H, W), eval mode."""
    scorer = Scorer(vae.eval(), score)
    out, maps = [], []
    for i in range(0, len(images), batch):
        x = images[i:i + batch].to(device).float().div(255)
        c = cond[i:i + batch].to(device) if cond is not None else None
        s, err_map = scorer(x, c)
        out.append(s.cpu())
        maps.append(err_map.cpu())
    if not out:
        return np.empty(0), torch.empty(0)
    return torch.cat(out).numpy().astype(np.float64), torch.cat(maps)
