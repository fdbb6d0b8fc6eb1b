"""The leaks VAE's training: its config, the images it reads and one step."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import torch

from ganctl import nets
from ganctl.config import TrainConfig, epochs_opt, opt, precision_opt
from ganctl.console import info
from ganctl.data import cache
from ganctl.data.images import fit, open_image, to_array
from ganctl.errors import GanctlError, UsageError
from ganctl.kit.optim import adam
from ganctl.metrics import detection
from ganctl.metrics.image import psnr
from ganctl.plugins.leaks.scores import (
    FIT_IMAGES,
    RECORDED,
    RULES,
    calibrate,
    fit_feature_stats,
    score_batch,
)
from ganctl.training.recipe import Recipe

# The sides `image_size=0` (auto) chooses between: no smaller (the VAE needs 16 and its
# features a few levels), no larger than the photo default that fits a CPU.
AUTO_SIDES = (32, 64)
GRAY_MODES = ("1", "L", "I", "I;16", "F")


@dataclass
class LeaksConfig(TrainConfig):
    precision: str = precision_opt("fp32")  # bf16 scored lower: bench/fast_defaults.py
    image_size: int = opt(0, "model side in pixels, a power of two; 0 = auto: the smallest "
                          f"one at least the training images' median longer side, from "
                          f"{AUTO_SIDES[0]} to {AUTO_SIDES[1]}", minimum=0)
    fit: str = opt("pad", "pad (letter-box, keeps aspect) or resize", choices=("pad", "resize"))
    channels: int = opt(0, "1 gray, 3 RGB, 0 = auto: gray when the training images are",
                        choices=(0, 1, 3))
    latent: int = opt(64, "latent size", minimum=1)
    width: int = opt(32, "base channel width", minimum=4)
    beta: float = opt(1.0, "weight of the KL term (beta-VAE)", minimum=0.0)
    condition: str = opt("none", "none, or aspect: condition on each image's aspect ratio "
                         "and size (the conditional variant)", choices=("none", "aspect"))
    score: str = opt("feature", "anomaly score: feature (Mahalanobis distance of the "
                     "encoder's features to those of the normal training images), mse "
                     "(per-image reconstruction MSE, the seed's) or elbo (reconstruction + "
                     "KL, the negative evidence bound)", choices=("feature", "mse", "elbo"))
    leak_weight: float = opt(100.0, "with images in proliv/ and the feature score: weight "
                             "of a linear head on the encoder's features that learns the "
                             "known leaks apart from the normal images (a third of proliv/ "
                             "is held out to set the threshold); 0 turns it off",
                             minimum=0.0)
    threshold: str = opt("auto", "auto (best-f1 capped at quantile:0.93 when proliv/ has "
                         "images, else quantile:0.99), best-f1, mean-proliv (the seed's rule), "
                         "or quantile:Q of normal scores")
    val_fraction: float = opt(0.1, "share of normal images held out for validation",
                              minimum=0.0)
    lr: float = opt(1e-3, "learning rate", minimum=0.0)
    batch_size: int = opt(64, "images per step", minimum=1)
    epochs: float = epochs_opt(30.0)
    sample_every: int = opt(200, "steps between reconstructions grids and validation",
                            minimum=1)

    def __post_init__(self):  # checked when the config is built: --dry-run reports it too
        if self.image_size and (self.image_size < 16 or self.image_size & (self.image_size - 1)):
            raise UsageError(f"image_size must be a power of two (16, 32, 64, ...), got "
                             f"{self.image_size}")
        if not RULES.match(self.threshold):
            raise UsageError(f"bad threshold rule {self.threshold!r}; use auto, best-f1, "
                             "mean-proliv or quantile:Q")


def resolve_shape(cfg: LeaksConfig, files: list) -> tuple[LeaksConfig, str]:
    """`cfg` with `image_size` and `channels` set where they are 0 (auto), read from the
    headers of up to 256 training images (nothing is decoded), and a line saying so."""
    if cfg.image_size and cfg.channels:
        return cfg, ""
    from PIL import Image

    sides, gray = [], True
    for p in files[:: max(1, len(files) // 256)]:
        try:
            with Image.open(p) as img:
                sides.append(max(img.size))
                gray = gray and img.mode in GRAY_MODES
        except (OSError, ValueError):
            continue  # reported when the images are decoded
    median = int(np.median(sides)) if sides else AUTO_SIDES[1]
    size = cfg.image_size or min(max(AUTO_SIDES[0], 1 << (median - 1).bit_length()),
                                 AUTO_SIDES[1])
    channels = cfg.channels or (1 if gray and sides else 3)
    notes = ([f"image_size {size} (auto: median side {median} px)"] if not cfg.image_size
             else []) + ([f"channels {channels} (auto: {'gray' if channels == 1 else 'colour'}"
                          " images)"] if not cfg.channels else [])
    return dataclasses.replace(cfg, image_size=size, channels=channels), ", ".join(notes)


def uses_leak_head(cfg: LeaksConfig, data) -> bool:
    """Whether this run trains the leak head: the feature score, a weight above 0, and
    known leaks to learn from."""
    return cfg.score == "feature" and cfg.leak_weight > 0 and "proliv_fit" in data.extra


def condition_vector(size: tuple[int, int], model_size: int) -> list[float]:
    w, h = size
    return [math.log(w / h), math.log(math.sqrt(w * h) / model_size)]


def load_images(files, cfg) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """uint8 images at the model size, their condition vectors, and the unreadable ones
    (decoded once, then mapped from the tensor cache)."""
    key = {"what": "leaks", "files": cache.stamp(files), "channels": cfg.channels,
           "size": cfg.image_size, "fit": cfg.fit}

    def build():
        images, conds, bad = decode_images(files, cfg)
        return {"images": images.numpy(), "cond": conds.numpy()}, {"bad": bad}

    data, meta = cache.arrays(key, build)
    return torch.from_numpy(data["images"]), torch.from_numpy(data["cond"]), meta["bad"]


def decode_images(files, cfg) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    images, conds, bad = [], [], []
    for p in files:
        try:
            img = open_image(p, cfg.channels)
        except GanctlError as e:
            bad.append(str(e))
            continue
        conds.append(condition_vector(img.size, cfg.image_size))
        images.append(torch.from_numpy(to_array(fit(img, (cfg.image_size,) * 2, cfg.fit))))
    if not images:
        return (torch.empty(0, cfg.channels, cfg.image_size, cfg.image_size, dtype=torch.uint8),
                torch.empty(0, 2), bad)
    return torch.stack(images), torch.tensor(conds, dtype=torch.float32), bad


class VAERecipe(Recipe):
    grid_nrow = 8  # rows: normal inputs, their reconstructions, leaks, reconstructions

    def __init__(self, cfg: LeaksConfig, data, device):
        super().__init__(cfg, data, device)
        self._arch = {"vae": nets.arch("vae", channels=cfg.channels, size=cfg.image_size,
                                       latent=cfg.latent, width=cfg.width,
                                       cond_dim=2 if cfg.condition == "aspect" else 0,
                                       feature_stats=cfg.score == "feature",
                                       leak_head=uses_leak_head(cfg, data))}
        self.nets = {"vae": nets.from_arch(self._arch["vae"]).to(device)}
        self.export_nets = ("vae",)
        self.optimizers = {"vae": adam(self.nets["vae"].parameters(), lr=cfg.lr)}
        self.val = data.val.tensors if data.val is not None else data.train.tensors
        self.proliv = data.extra.get("proliv")
        self.leak_fit = data.extra.get("proliv_fit") if uses_leak_head(cfg, data) else None
        self.test = data.extra.get("test")
        self._meta = {"score": cfg.score, "condition": cfg.condition,
                      "leak_head": self.leak_fit is not None}

    def arch(self):
        return self._arch

    def preprocess(self):
        return {"size": [self.cfg.image_size] * 2, "channels": self.cfg.channels,
                "range": [0.0, 1.0], "fit": self.cfg.fit}

    def meta(self):
        return self._meta

    def _cond(self, cond):
        return cond.to(self.device) if self.cfg.condition == "aspect" else None

    def step(self, batch):
        x, cond = batch[0].float().div(255), self._cond(batch[1])
        vae = self.nets["vae"]
        recon, mu, logvar = vae(x, cond)
        rec = (recon - x).pow(2).flatten(1).sum(1).mean()
        kl = (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(1)).mean()
        loss = rec + self.cfg.beta * kl
        out = {"loss_rec": rec.detach(), "loss_kl": kl.detach()}
        if self.leak_fit is not None:
            head = self.leak_loss(vae, x, cond)
            loss = loss + self.cfg.leak_weight * head
            out["loss_leak"] = head.detach()
        self.update(loss, "vae")
        return {"loss": loss.detach(), **out}

    def leak_loss(self, vae, x, cond) -> torch.Tensor:
        """The leak head's cross-entropy on this batch of normal images and a quarter as
        many known leaks drawn from proliv/'s training part, each side weighted equally."""
        images, conds = self.leak_fit
        pick = torch.randint(len(images), (max(1, len(x) // 4),))
        p = images[pick].to(self.device).float().div(255)
        pc = self._cond(conds[pick]) if cond is not None else None
        logits = vae.leak_logit(torch.cat([x, p]), torch.cat([cond, pc]) if pc is not None
                                else None)
        bce = torch.nn.functional.binary_cross_entropy_with_logits
        return 0.5 * (bce(logits[:len(x)], torch.zeros_like(logits[:len(x)]))
                      + bce(logits[len(x):], torch.ones_like(logits[len(x):])))

    def fit_features(self, vae) -> None:
        """Feature statistics of up to FIT_IMAGES training images (the score's normal)."""
        if self.cfg.score == "feature":
            images, cond = self.data.train.tensors
            fit_feature_stats(vae, images[:FIT_IMAGES], cond[:FIT_IMAGES],
                              self.cfg.condition == "aspect", self.device)

    def scores(self, vae, images, cond) -> np.ndarray:
        return score_batch(vae, images, cond if self.cfg.condition == "aspect" else None,
                           self.cfg.score, self.device)[0]

    def samples(self, nets_):
        groups = [self.val[0][:8]] + ([self.proliv[0][:8]] if self.proliv else [])
        rows = []
        for imgs in groups:
            x = imgs.to(self.device).float().div(255)
            cond = self._cond(self.val[1][:len(x)] if imgs is groups[0] else
                              self.proliv[1][:len(x)])
            rows += [x, nets_["vae"](x, cond)[0]]
        return torch.cat(rows) * 2 - 1

    def validate(self, nets_):
        vae = nets_["vae"]
        self.fit_features(vae)
        normal = self.scores(vae, *self.val)
        x = self.val[0][:256].to(self.device).float().div(255)
        recon = vae(x, self._cond(self.val[1][:256]))[0]
        out = {f"val_{self.cfg.score}_normal": float(normal.mean()),
               "val_psnr": float(psnr(recon, x).mean())}
        if self.proliv:
            leak = self.scores(vae, *self.proliv)
            out[f"val_{self.cfg.score}_leak"] = float(leak.mean())
            out["val_auc"] = detection.roc_auc([0] * len(normal) + [1] * len(leak),
                                               np.r_[normal, leak])
        return out

    def finish(self, nets_, run):
        vae = nets_["vae"]
        self.fit_features(vae)
        normal = self.scores(vae, *self.val)
        leak = self.scores(vae, *self.proliv) if self.proliv else np.empty(0)
        t, rule = calibrate(self.cfg.threshold, normal, leak)
        self._meta.update(threshold=t, rule=rule, calibration={
            "normal_images": len(normal), "leak_images": len(leak),
            "normal_mean": float(normal.mean()),
            "leak_mean": float(leak.mean()) if len(leak) else None,
            "highest": float(np.r_[normal, leak].max()),
            "rules": {r: calibrate(r, normal, leak)[0] for r in RECORDED
                      if len(leak) or r.startswith("quantile")}})
        held = "held-out " if self.leak_fit is not None else ""
        info(f"threshold {t:.6g}: {rule}, on the {self.cfg.score} scores of {len(normal)} "
             f"held-out normal and {len(leak)} {held}proliv images")
        if self.test:
            scores = self.scores(vae, self.test[0], self.test[1])
            rep = detection.report(self.test[2], scores, t)
            self._meta["test"] = rep
            info(f"test split: accuracy {rep['accuracy']:.3f}, leak recall "
                 f"{rep['classes']['leak']['recall']:.3f}, precision "
                 f"{rep['classes']['leak']['precision']:.3f}, ROC AUC {rep['roc_auc']:.3f}, "
                 f"confusion {rep['confusion']}")
