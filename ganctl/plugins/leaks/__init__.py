"""leaks: a convolutional VAE trained on normal images flags anomalies (leaks) by how
badly it reconstructs them, with a threshold calibrated at the end of training."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ganctl.console import info, warn
from ganctl.data import layouts, sources
from ganctl.data.images import fit, to_array
from ganctl.errors import GanctlError
from ganctl.infer import deploy
from ganctl.plugins.leaks.recipe import (
    LeaksConfig,
    VAERecipe,
    condition_vector,
    decode_images,
    load_images,
    resolve_shape,
)
from ganctl.plugins.leaks.scores import RIDGE, Scorer, calibrate, fit_feature_stats, score_batch
from ganctl.registry import Plugin

__all__ = ["RIDGE", "Leaks", "LeaksConfig", "Scorer", "VAERecipe", "calibrate",
           "condition_vector", "decode_images", "fit_feature_stats", "heatmap",
           "load_images", "plugin", "score_batch"]


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
        cfg, note = resolve_shape(cfg, lk.train)
        if note:
            info(note)
        images, cond, bad = load_images(lk.train, cfg)
        if len(images) < 2:
            raise GanctlError(f"{len(images)} readable image(s) in {root}/train: leaks needs "
                              "at least 2 (some are held out to set the threshold)")
        n_val = min(len(images) - 1, max(1, round(len(images) * cfg.val_fraction)))
        val_i, train_i = sources.held_out(len(images), n_val)
        extra = {}
        proliv = load_images(lk.proliv, cfg)
        if len(proliv[0]) >= 3 and cfg.score == "feature" and cfg.leak_weight > 0:
            # the leak head learns from two thirds; the threshold sees only the rest
            cal_i, fit_i = sources.held_out(len(proliv[0]), len(proliv[0]) // 3)
            extra["proliv"] = (proliv[0][cal_i], proliv[1][cal_i])
            extra["proliv_fit"] = (proliv[0][fit_i], proliv[1][fit_i])
        elif len(proliv[0]):
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
        extra["shape"] = (cfg.image_size, cfg.channels)
        return sources.TrainData(sources.ImageTensors(images[train_i], cond[train_i]), info_,
                                 sources.ImageTensors(images[val_i], cond[val_i]), extra)

    def setup(self, cfg, data, stage, device):
        size, channels = data.extra["shape"]  # what auto resolved to in load_data
        return VAERecipe(dataclasses.replace(cfg, image_size=size, channels=channels), data,
                         device)

    def detector(self, weights, device):
        """fn(list of PIL images) -> (scores, error maps at model size), plus settings."""
        vae = weights.build("vae", device)
        pre, meta = weights.preprocess, weights.meta
        size = pre.side
        if "threshold" not in meta:
            raise GanctlError("these weights carry no calibrated threshold (training did not "
                              "finish); pass --threshold")

        def run(images: list[Image.Image]):
            arr = torch.stack([torch.from_numpy(to_array(fit(img, (size, size), pre.fit)))
                               for img in images])
            cond = torch.tensor([condition_vector(img.size, size) for img in images],
                                dtype=torch.float32)
            return score_batch(vae, arr, cond if meta.get("condition") == "aspect" else None,
                               meta.get("score", "mse"), device)

        return run, meta, pre


    def deployable(self, weights, direction=None):
        pre, meta = weights.preprocess, weights.meta
        size, channels = pre.side, pre.channels
        gen = torch.Generator().manual_seed(0)
        conditioned = meta.get("condition") == "aspect"

        def batch(n):
            x = {"image": torch.rand(n, channels, size, size, generator=gen)}
            if conditioned:
                x["condition"] = torch.randn(n, 2, generator=gen) * 0.3
            return x

        describe = {"image": f"float32 (batch, {channels}, {size}, {size}) in [0, 1]: the "
                             f"photo fitted to {size}x{size} ({pre.fit})",
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
        return heatmap(img, error_map, preprocess.fit)

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
