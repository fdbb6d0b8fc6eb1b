"""leaks: a convolutional VAE trained on normal images flags anomalies (leaks) by how
badly it reconstructs them, with a threshold calibrated at the end of training."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ganctl import nets
from ganctl.config import TrainConfig, epochs_opt, opt, precision_opt
from ganctl.console import info, warn
from ganctl.data import cache, layouts, sources
from ganctl.data.images import fit, open_image, to_array
from ganctl.errors import GanctlError, UsageError
from ganctl.infer import deploy
from ganctl.kit.optim import adam
from ganctl.metrics import detection
from ganctl.metrics.image import psnr
from ganctl.registry import Plugin
from ganctl.train.recipe import Recipe

RULES = re.compile(r"^(auto|best-f1|mean-proliv|quantile:(0(\.\d+)?|1(\.0+)?))$")


@dataclass
class LeaksConfig(TrainConfig):
    precision: str = precision_opt("fp32")  # bf16 scored lower: bench/fast_defaults.py
    image_size: int = opt(64, "model side in pixels (a power of two)", minimum=16)
    fit: str = opt("pad", "pad (letter-box, keeps aspect) or resize", choices=("pad", "resize"))
    channels: int = opt(3, "1 gray or 3 RGB", choices=(1, 3))
    latent: int = opt(64, "latent size", minimum=1)
    width: int = opt(32, "base channel width", minimum=4)
    beta: float = opt(1.0, "weight of the KL term (beta-VAE)", minimum=0.0)
    condition: str = opt("none", "none, or aspect: condition on each image's aspect ratio "
                         "and size (the conditional variant)", choices=("none", "aspect"))
    score: str = opt("feature", "anomaly score: feature (Mahalanobis distance of the "
                     "encoder's features to those of the normal training images), mse "
                     "(per-image reconstruction MSE, the seed's) or elbo (reconstruction + "
                     "KL, the negative evidence bound)", choices=("feature", "mse", "elbo"))
    threshold: str = opt("auto", "auto (best-f1 when proliv/ has images, else quantile:0.99), "
                         "best-f1, mean-proliv (the seed's rule), or quantile:Q of normal scores")
    val_fraction: float = opt(0.1, "share of normal images held out for validation",
                              minimum=0.0)
    lr: float = opt(1e-3, "learning rate", minimum=0.0)
    batch_size: int = opt(64, "images per step", minimum=1)
    epochs: float = epochs_opt(30.0)
    sample_every: int = opt(200, "steps between reconstructions grids and validation",
                            minimum=1)

    def __post_init__(self):  # checked when the config is built: --dry-run reports it too
        if self.image_size & (self.image_size - 1):
            raise UsageError(f"image_size must be a power of two (16, 32, 64, ...), got "
                             f"{self.image_size}")
        if not RULES.match(self.threshold):
            raise UsageError(f"bad threshold rule {self.threshold!r}; use auto, best-f1, "
                             "mean-proliv or quantile:Q")


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
                                       feature_stats=cfg.score == "feature")}
        self.nets = {"vae": nets.from_arch(self._arch["vae"]).to(device)}
        self.export_nets = ("vae",)
        self.optimizers = {"vae": adam(self.nets["vae"].parameters(), lr=cfg.lr)}
        self.val = data.val.tensors if data.val is not None else data.train.tensors
        self.proliv = data.extra.get("proliv")
        self.test = data.extra.get("test")
        self._meta = {"score": cfg.score, "condition": cfg.condition}

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
        x = batch[0].float().div(255)
        recon, mu, logvar = self.nets["vae"](x, self._cond(batch[1]))
        rec = (recon - x).pow(2).flatten(1).sum(1).mean()
        kl = (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(1)).mean()
        loss = rec + self.cfg.beta * kl
        self.update(loss, "vae")
        return {"loss": loss.detach(), "loss_rec": rec.detach(), "loss_kl": kl.detach()}

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
            "leak_mean": float(leak.mean()) if len(leak) else None})
        info(f"threshold {t:.6g} ({rule}, {self.cfg.score} score; {len(normal)} held-out "
             f"normal, {len(leak)} proliv images)")
        if self.test:
            scores = self.scores(vae, self.test[0], self.test[1])
            rep = detection.report(self.test[2], scores, t)
            self._meta["test"] = rep
            info(f"test split: accuracy {rep['accuracy']:.3f}, leak recall "
                 f"{rep['classes']['leak']['recall']:.3f}, precision "
                 f"{rep['classes']['leak']['precision']:.3f}, ROC AUC {rep['roc_auc']:.3f}, "
                 f"confusion {rep['confusion']}")


def calibrate(rule: str, normal: np.ndarray, leak: np.ndarray) -> tuple[float, str]:
    """(threshold, rule used) from held-out normal scores and known-leak scores."""
    if rule == "auto":
        rule = "best-f1" if len(leak) else "quantile:0.99"
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
            s = self.vae.mahalanobis(x, cond)
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


class Leaks(Plugin):
    name = "leaks"
    task = "detect"
    summary = "leak detection: a convolutional VAE scores images; calibrated threshold"
    default_data = {1: "leaks"}
    datasets = ("leaks", "synthetic")
    data_layout = ("a folder with train/ (normal images), proliv/ (known leaks, optional: "
                   "they help set the threshold) and test/imgs/ with "
                   "test/test_annotation.txt (lines '<file> <0|1>', optional), or leaks, "
                   "or synthetic")

    def stage_title(self, stage):
        return "convolutional VAE"

    def config_class(self, stage):
        return LeaksConfig

    def load_data(self, cfg, data, stage):
        src = sources.resolve(data, self.datasets, self.name)
        root = sources.synthetic_root("leaks", n_train=256, n_proliv=16, n_test=64) \
            if src.kind == "synthetic" else src.path
        lk = layouts.leaks_folder(root)
        for line in lk.bad_lines[:3]:
            warn(f"annotation problem: {line}")
        images, cond, bad = load_images(lk.train, cfg)
        if len(images) < 2:
            raise GanctlError(f"{len(images)} readable image(s) in {root}/train: leaks needs "
                              "at least 2 (some are held out to set the threshold)")
        n_val = min(len(images) - 1, max(1, round(len(images) * cfg.val_fraction)))
        val_i, train_i = sources.held_out(len(images), n_val)
        extra = {}
        proliv = load_images(lk.proliv, cfg)
        if len(proliv[0]):
            extra["proliv"] = proliv[:2]
        if lk.test:
            timgs, tcond, tbad = load_images(lk.test, cfg)
            ok = {str(p) for p in lk.test} - {b.split(":")[0] for b in tbad}
            labels = [lab for p, lab in zip(lk.test, lk.test_labels) if str(p) in ok]
            extra["test"] = (timgs, tcond, labels)
        synthetic = src.kind == "synthetic"
        info_ = sources.DataInfo("synthetic:leaks" if synthetic else src.name, cfg.channels,
                                 (cfg.image_size, cfg.image_size), len(train_i),
                                 sources.fingerprint_files(lk.train, root), synthetic,
                                 bad + proliv[2])
        return sources.TrainData(sources.ImageTensors(images[train_i], cond[train_i]), info_,
                                 sources.ImageTensors(images[val_i], cond[val_i]), extra)

    def setup(self, cfg, data, stage, device):
        return VAERecipe(cfg, data, device)

    def detector(self, weights, device):
        """fn(list of PIL images) -> (scores, error maps at model size), plus settings."""
        vae = weights.build("vae", device)
        pre, meta = weights.preprocess, weights.meta
        size = pre["size"][0]
        if "threshold" not in meta:
            raise GanctlError("these weights carry no calibrated threshold (training did not "
                              "finish); pass --threshold")

        def run(images: list[Image.Image]):
            arr = torch.stack([torch.from_numpy(to_array(fit(img, (size, size), pre["fit"])))
                               for img in images])
            cond = torch.tensor([condition_vector(img.size, size) for img in images],
                                dtype=torch.float32)
            return score_batch(vae, arr, cond if meta.get("condition") == "aspect" else None,
                               meta.get("score", "mse"), device)

        return run, meta, pre


    def deployable(self, weights, direction=None):
        pre, meta = weights.preprocess, weights.meta
        size, channels = pre["size"][0], pre["channels"]
        gen = torch.Generator().manual_seed(0)
        conditioned = meta.get("condition") == "aspect"

        def batch(n):
            x = {"image": torch.rand(n, channels, size, size, generator=gen)}
            if conditioned:
                x["condition"] = torch.randn(n, 2, generator=gen) * 0.3
            return x

        describe = {"image": f"float32 (batch, {channels}, {size}, {size}) in [0, 1]: the "
                             f"photo fitted to {size}x{size} ({pre['fit']})",
                    "score": "float32 (batch,): anomaly score; above the threshold = leak",
                    "error_map": f"float32 (batch, {size}, {size}): squared error"}
        if conditioned:
            describe["condition"] = ("float32 (batch, 2): [log(w/h), log(sqrt(w*h)/"
                                     f"{size})] of the original photo")
        return deploy.Deployable(
            Scorer(weights.build("vae", "cpu"), meta.get("score", "mse")).eval(), batch(2),
            ["score", "error_map"], {k: {0: "batch"} for k in (*batch(1), "score",
                                                               "error_map")},
            describe, probes=[batch(5)], extra={"threshold": meta.get("threshold")})

    def heatmap(self, img: Image.Image, error_map: torch.Tensor, preprocess) -> Image.Image:
        return heatmap(img, error_map, preprocess["fit"])

    def detect_inputs(self, path: Path) -> tuple[list[str], Path | None]:
        """A leaks dataset folder stands for its test images and their annotations."""
        ann = path / "test" / "test_annotation.txt"
        if path.is_dir() and ann.is_file() and (path / "test" / "imgs").is_dir():
            return [str(path / "test" / "imgs")], ann
        return [str(path)], None


def heatmap(img: Image.Image, err: torch.Tensor, fit_mode: str) -> Image.Image:
    """The per-pixel error over the image: crop the letter-box back off, resize, colour."""
    import matplotlib

    w, h = img.size
    m = err.numpy()
    size = m.shape[0]
    if fit_mode == "pad":
        s = size / max(w, h)
        cw, ch = max(1, round(w * s)), max(1, round(h * s))
        x0, y0 = (size - cw) // 2, (size - ch) // 2
        m = m[y0:y0 + ch, x0:x0 + cw]
    m = m / max(float(m.max()), 1e-12)
    colored = matplotlib.colormaps["inferno"](m)[..., :3]
    overlay = Image.fromarray((colored * 255).astype(np.uint8)).resize((w, h),
                                                                       Image.Resampling.BILINEAR)
    return Image.blend(img.convert("RGB"), overlay, 0.55)


plugin = Leaks()
