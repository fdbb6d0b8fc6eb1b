"""sneakers stage 1: DCGAN (or the seed's nets, or the MLP baseline) at 28x28."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ganctl import nets
from ganctl.config import TrainConfig, beta1_opt, diffaug_opt, epochs_opt, opt, precision_opt
from ganctl.errors import UsageError
from ganctl.kit import diffaug, losses
from ganctl.kit.noise import fixed_noise, recalibration_noise
from ganctl.kit.optim import adam
from ganctl.tensors import to_unit
from ganctl.training.recipe import Recipe

ARCHS = {"dcgan": ("dcgan_g", "dcgan_d"), "original": ("dcgan_original_g", "dcgan_original_d"),
         "mlp": ("mlp_g", "mlp_d")}


@dataclass
class Stage1Config(TrainConfig):
    precision: str = precision_opt("fp32")  # bf16 scored lower: bench/fast_defaults.py
    arch: str = opt("dcgan", "dcgan (the default: nets sized for 28 px), original (the "
                    "seed's nets; with loss=lsgan_sigmoid lr=2e-4 ema=0 the seed's recipe), "
                    "or mlp (the simple GAN baseline)", choices=tuple(ARCHS))
    loss: str = opt("bce", "adversarial loss on logits: non-saturating bce, lsgan, hinge, "
                    "or lsgan_sigmoid (the seed's least squares on sigmoid outputs)",
                    choices=losses.KINDS)
    z_dim: int = opt(100, "latent size", minimum=1)
    width: int = opt(32, "base channel width of the dcgan nets", minimum=8)
    lr: float = opt(5e-4, "learning rate of the generator (and of D unless lr_d is set)",
                    minimum=0.0)
    ema: float = opt(0.99, "decay of the generator's exponential moving average (0 = off; "
                     "warmed up over the first steps, batch-norm statistics recomputed)",
                     minimum=0.0, maximum=0.99999)
    size: int = opt(28, "image side in pixels (divisible by 4)", minimum=8)
    channels: int = opt(0, "image channels: 0 follows the data, 1 gray, 3 RGB",
                        choices=(0, 1, 3))
    lr_d: float = opt(0.0, "discriminator learning rate (0 = same as lr)", minimum=0.0)
    beta1: float = beta1_opt()
    beta2: float = opt(0.999, "Adam beta2", minimum=0.0, maximum=0.99999)
    spectral_norm: bool = opt(False, "spectral norm on the dcgan discriminator")
    diffaug: str = diffaug_opt()
    batch_size: int = opt(128, "images per optimisation step", minimum=1)
    epochs: float = epochs_opt(30.0)
    sample_every: int = opt(200, "steps between sample grids in samples/", minimum=1)

    def run_label(self) -> str:
        return self.arch

    def __post_init__(self):  # checked when the config is built: --dry-run reports it too
        if self.arch != "dcgan" and (self.width != Stage1Config.width or self.spectral_norm):
            raise UsageError(f"width and spectral_norm apply to arch=dcgan, not {self.arch}")


class DCGANRecipe(Recipe):
    ema_nets = ("g",)

    def __init__(self, cfg: Stage1Config, data, device):
        super().__init__(cfg, data, device)
        g_name, d_name = ARCHS[cfg.arch]
        c, s = data.info.channels, cfg.size
        g_kw = {"z_dim": cfg.z_dim, "channels": c, "size": s}
        d_kw = {"channels": c, "size": s}
        if cfg.arch == "dcgan":
            g_kw["width"] = d_kw["width"] = cfg.width
            d_kw["spectral_norm"] = cfg.spectral_norm
        self._arch = {"g": nets.arch(g_name, **g_kw), "d": nets.arch(d_name, **d_kw)}
        g, d = nets.from_arch(self._arch["g"]), nets.from_arch(self._arch["d"])
        if cfg.arch == "dcgan":  # the seed's nets keep PyTorch's default init, as it did
            nets.init_normal(g)
            nets.init_normal(d)
        self.nets = {"g": g.to(device), "d": d.to(device)}
        betas = (cfg.beta1, cfg.beta2)
        self.optimizers = {
            "g": adam(g.parameters(), lr=cfg.lr, betas=betas),
            "d": adam(d.parameters(), lr=cfg.lr_d or cfg.lr, betas=betas)}
        self.noise = fixed_noise(64, cfg.z_dim, cfg.seed + 1, device)
        self.d_aug = diffaug.augmenter(cfg.diffaug, data.info.count)

    def arch(self):
        return self._arch

    def step(self, batch):
        g, d, kind, aug = self.nets["g"], self.nets["d"], self.cfg.loss, self.d_aug
        real = to_unit(batch[0])
        fake = g(torch.randn(len(real), self.cfg.z_dim, device=self.device))

        real_logits, fake_logits = d(aug(real)), d(aug(fake.detach()))
        loss_d = losses.d_loss(kind, real_logits, fake_logits)
        self.update(loss_d, "d")

        loss_g = losses.g_loss(kind, d(aug(fake)))
        self.update(loss_g, "g")
        return {"loss_g": loss_g.detach(), "loss_d": loss_d.detach(),
                "d_real": losses.d_score(kind, real_logits),
                "d_fake": losses.d_score(kind, fake_logits)}

    def ema_inputs(self, name, index):
        return recalibration_noise(256, self.cfg.z_dim, index, self.device)

    def samples(self, nets_):
        return nets_["g"](self.noise)
