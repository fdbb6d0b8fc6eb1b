"""pix2pix: paired image-to-image translation (edges2shoes and the other aligned sets).

U-Net generator, 70x70 PatchGAN on concat(input, target), BCE-with-logits + lambda * L1,
Adam 2e-4 / beta1 0.5, jitter (resize to load_size, random crop) and flips applied
identically to both halves, constant then linearly decaying learning rate.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from ganctl import nets
from ganctl.config import PaperScheduleConfig, opt, precision_opt, recipe_defaults, recipe_opt
from ganctl.console import info, warn
from ganctl.data import layouts, sources
from ganctl.data.images import first_readable, read_tensor, resize_tensor
from ganctl.errors import UsageError
from ganctl.infer import deploy
from ganctl.infer.translate import translate_images
from ganctl.kit import diffaug
from ganctl.kit.jitter import random_crop_flip
from ganctl.kit.losses import toward
from ganctl.kit.optim import adam
from ganctl.kit.schedules import LinearDecay
from ganctl.metrics import lpips
from ganctl.metrics.image import psnr, ssim
from ganctl.registry import Plugin
from ganctl.tensors import to_unit
from ganctl.training.recipe import Recipe
from ganctl.weights import reference

# The recipe `recipe=cpu` (the default on a CPU) sets for the keys the user leaves alone:
# a U-Net 128 of half width on 128-px crops makes ~10x the paper net's steps a CPU-minute
# (bench/pix2pix_real.py compares both on real edges2shoes and facades pairs).
CPU_RECIPE = {"net_g": "unet_128", "ngf": 32, "ndf": 32, "load_size": 143, "crop_size": 128,
              "workers": 0}
# facades, 70 training pairs: an L1 weight of 200 beat 100, and 500 beat 200, on L1, PSNR
# and SSIM of the val split at 2, 5 and 10 CPU-minutes (bench/pix2pix_real.py --against,
# docs/bench/pix2pix-real-tune-facades-l1*.json).
FACADES_CPU_RECIPE = {**CPU_RECIPE, "lambda_l1": 500.0}


@dataclass
class Pix2PixConfig(PaperScheduleConfig):
    recipe: str = recipe_opt("U-Net 256 on 256-px crops, the paper's recipe", "U-Net 128 of "
                             "half width on 128-px crops, no loader workers: ~10x the steps "
                             "per CPU-minute")
    precision: str = precision_opt("fp32")  # bf16 scored lower: bench/fast_defaults.py
    net_g: str = opt("unet_256", "generator: unet_256, unet_128 (or unet_64/unet_32 for "
                     "small images)", choices=("unet_256", "unet_128", "unet_64", "unet_32"))
    ngf: int = opt(64, "generator base width", minimum=1)
    ndf: int = opt(64, "discriminator base width", minimum=1)
    norm: str = opt("batch", "normalisation in G and D", choices=("batch", "instance"))
    dropout: bool = opt(True, "dropout 0.5 in the generator's inner decoder blocks")
    lambda_l1: float = opt(100.0, "weight of the L1 term (paper 100; the seed used 10)",
                           minimum=0.0)
    direction: str = opt("AtoB", "AtoB (left half -> right half) or BtoA",
                         choices=("AtoB", "BtoA"))
    load_size: int = opt(286, "jitter: resize both halves to this side ...", minimum=8)
    crop_size: int = opt(256, "... then take the same random crop of this side", minimum=8)
    flip: bool = opt(True, "random horizontal flips (the same for both halves)")
    val_images: int = opt(50, "validation pairs scored at each sample interval", minimum=0)
    batch_size: int = opt(1, "pairs per step (the paper's 1; >1 works)", minimum=1)
    sample_every: int = opt(1000, "steps between sample grids and validation", minimum=1)
    workers: int = opt(4, "data loader worker processes", minimum=0)

    @classmethod
    def device_defaults(cls, device_type, given):
        return recipe_defaults(device_type, given, CPU_RECIPE)

    def __post_init__(self):  # checked when the config is built: --dry-run reports it too
        if self.crop_size > self.load_size:
            raise UsageError("crop_size must not exceed load_size")
        size = int(self.net_g.split("_")[1])
        if self.crop_size % size:
            raise UsageError(f"{self.net_g} needs crop_size to be a multiple of {size}")


@dataclass
class FacadesConfig(Pix2PixConfig):
    direction: str = opt("BtoA", "BtoA (labels -> photo: facades pairs are photo | labels) "
                         "or AtoB", choices=("AtoB", "BtoA"))

    @classmethod
    def device_defaults(cls, device_type, given):
        return recipe_defaults(device_type, given, FACADES_CPU_RECIPE)


class PairedImages(Dataset):
    """A|B files -> (input, target) uint8 tensors at load_size; a file that turns out
    unreadable mid-training is reported and replaced by the next readable one."""

    def __init__(self, files, size: int, direction: str):
        self.files, self.size, self.direction = files, size, direction

    def __len__(self):
        return len(self.files)

    def load(self, i: int):
        a, b = layouts.split_pair(read_tensor(self.files[i], 3), self.direction)
        return resize_tensor(a, self.size), resize_tensor(b, self.size)

    def __getitem__(self, i):
        return first_readable(len(self.files), i, self.load, "pair")


class Pix2PixRecipe(Recipe):
    grid_nrow = 3  # input | output | target

    def __init__(self, cfg: Pix2PixConfig, data, device):
        super().__init__(cfg, data, device)
        size = int(cfg.net_g.split("_")[1])
        self._arch = {"g": nets.arch("unet", in_channels=3, out_channels=3, size=size,
                                     ngf=cfg.ngf, norm=cfg.norm, dropout=cfg.dropout),
                      "d": nets.arch("patchgan", in_channels=6, ndf=cfg.ndf, norm=cfg.norm)}
        g, d = nets.from_arch(self._arch["g"]), nets.from_arch(self._arch["d"])
        nets.init_normal(g)
        nets.init_normal(d)
        self.nets = {"g": g.to(device), "d": d.to(device)}
        betas = (cfg.beta1, 0.999)
        self.optimizers = {"g": adam(g.parameters(), lr=cfg.lr, betas=betas),
                           "d": adam(d.parameters(), lr=cfg.lr, betas=betas)}
        decay = LinearDecay(cfg.n_epochs, cfg.n_epochs_decay)
        self.schedulers = {k: torch.optim.lr_scheduler.LambdaLR(o, decay)
                           for k, o in self.optimizers.items()}
        self.val = [to_unit(t.to(device)) for t in data.val.tensors] if data.val else None
        self.lpips = lpips.Validation()
        # D sees (input, image) pairs: one draw of each transform for both halves
        self.d_aug = diffaug.augmenter(cfg.diffaug, data.info.count, groups=2)

    def arch(self):
        return self._arch

    def preprocess(self):
        return {"size": [self.cfg.crop_size] * 2, "channels": 3, "range": [-1.0, 1.0],
                "direction": self.cfg.direction,
                "batch_stats": self.cfg.norm == "batch" and self.cfg.batch_size == 1}

    def step(self, batch):
        g, d, aug, cfg = self.nets["g"], self.nets["d"], self.d_aug, self.cfg
        a, b = random_crop_flip(batch, cfg.crop_size, cfg.flip)
        real_a, real_b = to_unit(a), to_unit(b)
        fake_b = g(real_a)

        pred_real = d(aug(torch.cat([real_a, real_b], 1)))
        pred_fake = d(aug(torch.cat([real_a, fake_b.detach()], 1)))
        loss_d_real, loss_d_fake = toward("bce", pred_real, True), toward("bce", pred_fake, False)
        loss_d = 0.5 * (loss_d_real + loss_d_fake)
        self.update(loss_d, "d")

        loss_g_gan = toward("bce", d(aug(torch.cat([real_a, fake_b], 1))), True)
        loss_g_l1 = F.l1_loss(fake_b, real_b)
        loss_g = loss_g_gan + cfg.lambda_l1 * loss_g_l1
        self.update(loss_g, "g")
        return {"loss_g": loss_g.detach(), "loss_d": loss_d.detach(),
                "loss_g_gan": loss_g_gan.detach(), "loss_g_l1": loss_g_l1.detach(),
                "loss_d_real": loss_d_real.detach(), "loss_d_fake": loss_d_fake.detach()}

    def _fixed(self):
        if self.val is not None:
            return self.val[0][:4], self.val[1][:4]
        a, b = self.data.train.load(0)
        crop = self.cfg.crop_size
        return (to_unit(a[None, :, :crop, :crop].to(self.device)),
                to_unit(b[None, :, :crop, :crop].to(self.device)))

    def samples(self, nets_):
        a, b = self._fixed()
        out = torch.cat([nets_["g"](a[i:i + 1]) for i in range(len(a))])
        return torch.stack([a, out, b], 1).flatten(0, 1)

    def validate(self, nets_):
        if self.val is None:
            return {}
        a, b = self.val
        out = torch.cat([nets_["g"](a[i:i + 1]) for i in range(len(a))])
        unit_out, unit_b = (out + 1) / 2, (b + 1) / 2
        scores = {"val_l1": F.l1_loss(out, b), "val_psnr": psnr(unit_out, unit_b).mean(),
                  "val_ssim": ssim(unit_out, unit_b).mean()}
        lp = self.lpips(out, b)
        return scores if lp is None else {**scores, "val_lpips": lp}


def file_key(path) -> str:
    return hashlib.sha1(path.read_bytes()).hexdigest()


def warn_overlap(train, val) -> None:
    """Warn when a validation image is also in the training split. Names repeat across
    the real splits (train/1_AB.jpg and val/1_AB.jpg are different pairs), so only the
    bytes count; only train files of a val file's exact size are read."""
    sizes: dict[int, list] = {}
    for p in train:
        sizes.setdefault(p.stat().st_size, []).append(p)
    same = [v for v in val if any(file_key(t) == file_key(v)
                                  for t in sizes.get(v.stat().st_size, []))]
    if same:
        warn(f"{len(same)} validation file(s) also in the training split, e.g. {same[0].name}:"
             " validation scores will look better than they are")


class Pix2Pix(Plugin):
    task = "translate"
    summary = "paired translation (U-Net + PatchGAN): edges -> shoes, labels -> facades, ..."
    datasets = ("edges2shoes", "edges2handbags", "facades", "maps", "night2day", "synthetic")
    data_layout = ("A|B pairs side by side in one image (A left, B right): a dataset name, "
                   "a folder with train/ and val/ (or test/), or a folder of pairs itself "
                   "(e.g. edges2shoes/train), validated on a sibling val/ or test/ when "
                   "there is one, else on its last tenth by name")

    def __init__(self, name: str, data: str, config: type[Pix2PixConfig] = Pix2PixConfig):
        self.name, self.config = name, config
        self.default_data = {1: data}
        # the way this name translates (an imported reference file is recorded so)
        self.direction = config.__dataclass_fields__["direction"].default

    def stage_title(self, stage):
        return "pix2pix U-Net"

    def config_class(self, stage):
        return self.config

    def load_data(self, cfg, data, stage):
        src = sources.resolve(data, self.datasets, self.name)
        root = (sources.synthetic_root("edges2shoes", n_train=64, n_val=8, size=256)
                if src.kind == "synthetic" else src.path)
        pairs = layouts.paired_folder(root)
        if src.kind != "synthetic":
            problem = layouts.check_pairs(pairs.train, root)
            if problem:
                warn(f"{problem}; they are cut in half all the same")
            info(f"{len(pairs.train)} training pairs; validation: {pairs.val_from}")
        warn_overlap(pairs.train, pairs.val)
        train = PairedImages(pairs.train, cfg.load_size, cfg.direction)
        val = None
        if pairs.val and cfg.val_images:
            loader = PairedImages(pairs.val[:cfg.val_images], cfg.crop_size, cfg.direction)
            items = [loader.load(i) for i in range(len(loader.files))]
            val = sources.ImageTensors(torch.stack([a for a, _ in items]),
                                       torch.stack([b for _, b in items]))
        about = sources.DataInfo("synthetic:edges2shoes" if src.kind == "synthetic" else
                                 src.name, 3, (cfg.crop_size, cfg.crop_size), len(train),
                                 sources.fingerprint_files(pairs.train, root),
                                 src.kind == "synthetic")
        return sources.TrainData(train, about, val)

    def setup(self, cfg, data, stage, device):
        return Pix2PixRecipe(cfg, data, device)

    def generator(self, weights, device, direction=None):
        """The trained generator, as it translates: with each image's own batch-norm
        statistics when it trained at batch 1 (the paper's test mode)."""
        if direction:  # a pix2pix generator maps one way only: the way it was trained
            reference.check_direction(weights, direction, self.name)
        g = weights.build("g", device)
        return deploy.with_image_stats(g) if weights.preprocess.batch_stats else g

    def translator(self, weights, device, size: int | None = None, direction=None):
        g, pre = self.generator(weights, device, direction), weights.preprocess
        return functools.partial(translate_images, net=g, device=device,
                                 channels=pre.channels, multiple=g.multiple,
                                 work_size=pre.side, force_size=size)

    def deployable(self, weights, direction=None):
        g, pre = self.generator(weights, "cpu", direction), weights.preprocess
        m, work = g.multiple, pre.side
        return deploy.image_deployable(
            g, pre.channels, [(work, work), (m, 2 * m)],
            f"H and W multiples of {m} (ganctl scales the longer side to {work}, then pads)")


edges2shoes = Pix2Pix("edges2shoes", "edges2shoes")
edges2handbags = Pix2Pix("edges2handbags", "edges2handbags")
facades = Pix2Pix("facades", "facades", FacadesConfig)
maps = Pix2Pix("maps", "maps")
night2day = Pix2Pix("night2day", "night2day")
pix2pix = Pix2Pix("pix2pix", "synthetic")
