"""sneakers stage 2: SRGAN x4 (28 -> 112) trained on (real downscaled, real) pairs.

The generator predicts a residual over bicubic up-sampling, its last layer zero at the
start, so step 0 is exactly bicubic and training can only start from there. The default
is a compact net computed at the input's resolution (hundreds of steps in a few CPU
minutes); `arch=srresnet` is the paper's 16-block, 64-wide SRResNet.

The recipe is the paper's in two phases: `warmup_steps` of a pixel loss (L1 by default)
at `lr`, then adversarial training at `lr_adv` with a content loss (VGG19 features when
ImageNet weights can be had, else pixel + gradient L1) plus `adv_weight` x the
non-saturating GAN loss. The discriminator outputs logits and the loss applies the
sigmoid once (the seed applied it twice, which pinned its D loss at ln 2). The final
validation PSNR/SSIM, and bicubic's on the same images, are stored with the weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ganctl import nets
from ganctl.config import TrainConfig, beta1_opt, diffaug_opt, epochs_opt, opt, precision_opt
from ganctl.console import info
from ganctl.errors import UsageError
from ganctl.kit import diffaug, losses
from ganctl.kit.jitter import random_crops, random_symmetry
from ganctl.kit.optim import adam
from ganctl.metrics import lpips
from ganctl.metrics.image import psnr, ssim
from ganctl.metrics.sr import bicubic, downscale
from ganctl.plugins.sneakers.content import content_loss
from ganctl.tensors import to_unit
from ganctl.training.recipe import Recipe

SCALE = 4
# Product shots that all face one way: turned copies are off-distribution there
# (docs/decisions.md, "Stage 2: which symmetries": dihedral 0.34 dB below flips on
# Fashion-MNIST sneakers, 0.30 dB above them on photographs).
ALIGNED_SETS = ("sneakers", "fashion-sneakers", "synthetic:sneakers")
ARCHS = {"compact": ("sr_compact_g", 6, 48), "lr": ("sr_lr_g", 8, 48),
         "srresnet": ("srgan_g", 16, 64), "rrdb": ("rrdb_g", 23, 64)}


@dataclass
class Stage2Config(TrainConfig):
    precision: str = precision_opt("fp32")  # bf16 scored lower: bench/fast_defaults.py
    hr_size: int = opt(112, "high-resolution side in pixels; the input is hr_size / 4",
                       minimum=8)
    channels: int = opt(0, "image channels: 0 follows the data, 1 gray, 3 RGB",
                        choices=(0, 1, 3))
    arch: str = opt("compact", "generator: compact (a residual over bicubic computed at "
                    "the input size, 6 conv layers x 48 wide), lr (EDSR-baseline's residual "
                    "blocks without batch norm, 8 x 48, at the input size, over bicubic), "
                    "srresnet (the paper's SRResNet, 16 residual blocks x 64, also over "
                    "bicubic) or rrdb (ESRGAN's RRDBNet, 23 blocks x 64: a GPU's net; its "
                    "weights load into the published Real-ESRGAN layout)",
                    choices=tuple(ARCHS))
    n_blocks: int = opt(0, "conv layers (compact) or residual blocks (srresnet) in the "
                        "generator's body (0 = the arch's default)", minimum=0)
    ema: float = opt(0.999, "decay of the generator's exponential moving average, which "
                     "is what validates and is published (0 = off)", minimum=0.0,
                     maximum=0.99999)
    width: int = opt(0, "generator width (0 = the arch's default)", minimum=0)
    d_width: int = opt(16, "discriminator base width", minimum=8)
    pixel_loss: str = opt("l1", "warm-up loss: l1 or mse", choices=("l1", "mse"))
    augment: str = opt("auto", "random symmetries of the training images: dihedral "
                       "(flips and 90-degree turns, 8 versions of each image), flip "
                       "(left-right flips only, the seed's), none; auto = flip for the "
                       "built-in sneaker sets (all facing one way), dihedral for folders",
                       choices=("auto", "dihedral", "flip", "none"))
    crop: int = opt(64, "train on random crops of this side (high-res pixels, a multiple "
                    "of 4) of each image: more steps per second for the same pixels per "
                    "batch (0, or at least hr_size: whole images)", minimum=0)
    content: str = opt("auto", "content loss: vgg (VGG19 relu5_4 features), pixel (L1 + "
                       "gradient L1), auto (vgg when ImageNet VGG19 weights are cached or "
                       "downloadable, else pixel)", choices=("auto", "vgg", "pixel"))
    gan_loss: str = opt("auto", "adversarial loss: bce (SRGAN's non-saturating), "
                        "relativistic (ESRGAN's relativistic average GAN); auto = "
                        "relativistic for arch=rrdb, else bce",
                        choices=("auto", "bce", "relativistic"))
    # 2e-2: sharper than the plain reference on both bench sets (bench/quality.py); 5e-3
    # left the photographs less sharp than it
    adv_weight: float = opt(2e-2, "weight of the adversarial term in the generator loss",
                            minimum=0.0)
    warmup_steps: int = opt(2000, "pixel-loss-only generator steps (SRResNet pre-training) "
                            "before the adversarial phase; may be lowered when resuming",
                            minimum=0)
    lr: float = opt(1e-3, "generator learning rate in the warm-up", minimum=0.0)
    lr_half_every: int = opt(0, "halve the warm-up learning rate every this many steps "
                             "(EDSR's step schedule; 0 = constant)", minimum=0)
    lr_adv: float = opt(1e-4, "generator learning rate in the adversarial phase",
                        minimum=0.0)
    lr_d: float = opt(1e-4, "discriminator learning rate", minimum=0.0)
    diffaug: str = diffaug_opt()
    beta1: float = beta1_opt(0.9, " (the paper's 0.9)")
    val_fraction: float = opt(0.05, "share of the images held out for validation",
                              minimum=0.0)
    batch_size: int = opt(16, "image pairs per optimisation step", minimum=1)
    epochs: float = epochs_opt(20.0)
    sample_every: int = opt(500, "steps between sample grids and validation", minimum=1)

    def run_label(self) -> str:
        return self.arch

    @classmethod
    def upgrade(cls, saved):
        if "flip" not in saved:  # before 2026-12-02: whole images, flips on or off
            return saved
        rest = {k: v for k, v in saved.items() if k != "flip"}
        return {**rest, "augment": "flip" if saved["flip"] else "none", "crop": 0}

    def __post_init__(self):  # checked when the config is built: --dry-run reports it too
        if self.crop % SCALE:
            raise UsageError(f"crop must be a multiple of {SCALE}, got {self.crop}")


class SRGANRecipe(Recipe):
    grid_nrow = 3  # rows of: bicubic | SRGAN | real
    ema_nets = ("g",)

    def __init__(self, cfg: Stage2Config, data, device):
        super().__init__(cfg, data, device)
        c = data.info.channels
        name, blocks, width = ARCHS[cfg.arch]
        g_kw = {"channels": c, "scale": SCALE, "n_blocks": cfg.n_blocks or blocks,
                "width": cfg.width or width}
        if cfg.arch == "srresnet":
            g_kw["residual"] = True
        if cfg.arch == "rrdb":  # the published layout's names
            g_kw = {"num_in_ch": c, "num_out_ch": c, "scale": SCALE,
                    "num_feat": g_kw["width"], "num_block": g_kw["n_blocks"],
                    "num_grow_ch": 32}
        self.relativistic = cfg.gan_loss == "relativistic" or (
            cfg.gan_loss == "auto" and cfg.arch == "rrdb")
        self._arch = {"g": nets.arch(name, **g_kw),
                      "d": nets.arch("srgan_d", channels=c, width=cfg.d_width)}
        g, d = nets.from_arch(self._arch["g"]), nets.from_arch(self._arch["d"])
        self.nets = {"g": g.to(device), "d": d.to(device)}
        self.optimizers = {
            "g": adam(g.parameters(), lr=cfg.lr, betas=(cfg.beta1, 0.999)),
            "d": adam(d.parameters(), lr=cfg.lr_d, betas=(cfg.beta1, 0.999))}
        self.content, self.content_kind, why = content_loss(cfg.content)
        self.content.to(device)
        info(f"stage 2 content loss: {self.content_kind} ({why})")
        self.augment = cfg.augment
        if cfg.augment == "auto":
            self.augment = "flip" if data.info.name in ALIGNED_SETS else "dihedral"
        self.d_aug = diffaug.augmenter(cfg.diffaug, data.info.count)
        self.pixel = F.l1_loss if cfg.pixel_loss == "l1" else F.mse_loss
        self.steps = 0
        self._meta = {"content_loss": self.content_kind, "scale": SCALE,
                      "augment": self.augment}
        val = data.val.tensors[0] if data.val is not None else data.train.tensors[0][:8]
        self.val_hr = to_unit(val.to(device))
        self.grid_hr = self.val_hr[:8]
        self.lpips = lpips.Validation()

    def arch(self):
        return self._arch

    def meta(self):
        return self._meta

    def step(self, batch):
        g, d, aug = self.nets["g"], self.nets["d"], self.d_aug
        hr = to_unit(random_crops(batch[0], self.cfg.crop))
        if self.augment != "none":
            hr = random_symmetry(hr, dihedral=self.augment == "dihedral")
        sr = g(downscale(hr, SCALE))
        self.steps += 1
        warm = self.steps <= self.cfg.warmup_steps
        for group in self.optimizers["g"].param_groups:
            group["lr"] = self.warmup_lr() if warm else self.cfg.lr_adv
        if warm:
            loss_g = self.pixel(sr.float(), hr)
            self.update(loss_g, "g")
            with torch.no_grad():
                mse = F.mse_loss(sr.float(), hr)
            return {"loss_g": loss_g.detach(), f"loss_{self.cfg.pixel_loss}": loss_g.detach(),
                    "loss_mse": mse}

        real_logits, fake_logits = d(aug(hr)), d(aug(sr.detach()))
        if self.relativistic:
            loss_d = losses.relativistic_d_loss(real_logits, fake_logits)
        else:
            loss_d = losses.d_loss("bce", real_logits, fake_logits)
        self.update(loss_d, "d")

        loss_content = self.content(sr.float(), hr)
        if self.relativistic:
            loss_adv = losses.relativistic_g_loss(d(aug(hr)).detach(), d(aug(sr)))
        else:
            loss_adv = losses.g_loss("bce", d(aug(sr)))
        loss_g = loss_content + self.cfg.adv_weight * loss_adv
        self.update(loss_g, "g")
        with torch.no_grad():
            mse = F.mse_loss(sr.float(), hr)
        return {"loss_g": loss_g.detach(), "loss_d": loss_d.detach(),
                "loss_content": loss_content.detach(), "loss_adv": loss_adv.detach(),
                "loss_mse": mse, "d_real": losses.d_score("bce", real_logits),
                "d_fake": losses.d_score("bce", fake_logits)}

    def warmup_lr(self) -> float:
        every = self.cfg.lr_half_every
        return self.cfg.lr * 0.5 ** ((self.steps - 1) // every) if every else self.cfg.lr

    def ema_age(self, step):  # the adversarial phase averages only its own weights
        return step - self.cfg.warmup_steps if step > self.cfg.warmup_steps else step

    def samples(self, nets_):
        lr = downscale(self.grid_hr, SCALE)
        sr = nets_["g"](lr).clamp(-1, 1)
        trio = torch.stack([bicubic(lr, SCALE), sr, self.grid_hr], 1)  # (N, 3, C, H, W)
        return trio.flatten(0, 1)

    def validate(self, nets_):
        sr_psnr, sr_ssim, bi_psnr, bi_ssim, sr_lp, bi_lp = [], [], [], [], [], []
        for hr in self.val_hr.split(64):
            lr = downscale(hr, SCALE)
            sr = nets_["g"](lr).clamp(-1, 1)
            bi = bicubic(lr, SCALE)
            unit = (hr + 1) / 2
            sr_psnr.append(psnr((sr + 1) / 2, unit))
            sr_ssim.append(ssim((sr + 1) / 2, unit))
            bi_psnr.append(psnr((bi + 1) / 2, unit))
            bi_ssim.append(ssim((bi + 1) / 2, unit))
            sr_lp.append(self.lpips(sr, hr))
            bi_lp.append(self.lpips(bi.clamp(-1, 1), hr))
        scores = {"val_psnr": torch.cat(sr_psnr).mean(), "val_ssim": torch.cat(sr_ssim).mean(),
                  "val_psnr_bicubic": torch.cat(bi_psnr).mean(),
                  "val_ssim_bicubic": torch.cat(bi_ssim).mean()}
        if sr_lp[0] is not None:  # weights here and images large enough (metrics.lpips)
            scores["val_lpips"] = torch.stack(sr_lp).mean()
            scores["val_lpips_bicubic"] = torch.stack(bi_lp).mean()
        return scores

    def finish(self, nets_, run):
        scores = {k: round(float(v), 4) for k, v in self.validate(nets_).items()}
        self._meta["validation"] = {**scores, "images": len(self.val_hr),
                                    "held_out": self.data.val is not None}
        verdict = "above" if scores["val_psnr"] >= scores["val_psnr_bicubic"] else "BELOW"
        info(f"validation: PSNR {scores['val_psnr']:.2f} dB ({verdict} bicubic's "
             f"{scores['val_psnr_bicubic']:.2f}), SSIM {scores['val_ssim']:.3f} "
             f"(bicubic {scores['val_ssim_bicubic']:.3f})" + (
                 f", LPIPS {scores['val_lpips']:.3f} (bicubic {scores['val_lpips_bicubic']:.3f})"
                 if "val_lpips" in scores else "") + f" on {len(self.val_hr)} held-out images")

    def state_dict(self):
        return {"steps": self.steps}

    def load_state_dict(self, state):
        self.steps = int(state["steps"])
