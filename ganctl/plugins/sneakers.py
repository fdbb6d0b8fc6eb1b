"""sneakers: 28x28 sneakers from noise (stage 1: DCGAN, or the MLP GAN baseline)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from ganctl import nets
from ganctl.config import TrainConfig, opt
from ganctl.data import layouts, sources
from ganctl.data.images import decode_all
from ganctl.errors import GanctlError
from ganctl.registry import Plugin
from ganctl.train import losses
from ganctl.train.recipe import Recipe, fixed_noise, to_unit

ARCHS = {"dcgan": ("dcgan_g", "dcgan_d"), "original": ("dcgan_original_g", "dcgan_original_d"),
         "mlp": ("mlp_g", "mlp_d")}


@dataclass
class Stage1Config(TrainConfig):
    arch: str = opt("dcgan", "dcgan (stronger default), original (the seed's), or mlp "
                    "(the simple GAN baseline)", choices=tuple(ARCHS))
    loss: str = opt("bce", "adversarial loss on logits: non-saturating bce, lsgan, hinge",
                    choices=losses.KINDS)
    z_dim: int = opt(100, "latent size", minimum=1)
    size: int = opt(28, "image side in pixels (divisible by 4)", minimum=8)
    channels: int = opt(0, "image channels: 0 follows the data, 1 gray, 3 RGB",
                        choices=(0, 1, 3))
    lr_d: float = opt(0.0, "discriminator learning rate (0 = same as lr)", minimum=0.0)
    beta1: float = opt(0.5, "Adam beta1")
    beta2: float = opt(0.999, "Adam beta2")
    spectral_norm: bool = opt(False, "spectral norm on the dcgan discriminator")
    batch_size: int = opt(128, "images per optimisation step", minimum=1)
    epochs: float = opt(30.0, "stop after this many passes over the data (0 = no limit)",
                        minimum=0.0)
    sample_every: int = opt(200, "steps between sample grids in samples/", minimum=1)


class DCGANRecipe(Recipe):
    ema_nets = ("g",)

    def __init__(self, cfg: Stage1Config, data, device):
        super().__init__(cfg, data, device)
        g_name, d_name = ARCHS[cfg.arch]
        c, s = data.info.channels, cfg.size
        g_kw = {"z_dim": cfg.z_dim, "channels": c, "size": s}
        d_kw = {"channels": c, "size": s}
        if cfg.arch == "dcgan":
            d_kw["spectral_norm"] = cfg.spectral_norm
        self._arch = {"g": nets.arch(g_name, **g_kw), "d": nets.arch(d_name, **d_kw)}
        g, d = nets.from_arch(self._arch["g"]), nets.from_arch(self._arch["d"])
        if cfg.arch != "mlp":
            nets.init_normal(g)
            nets.init_normal(d)
        self.nets = {"g": g.to(device), "d": d.to(device)}
        betas = (cfg.beta1, cfg.beta2)
        self.optimizers = {
            "g": torch.optim.Adam(g.parameters(), lr=cfg.lr, betas=betas),
            "d": torch.optim.Adam(d.parameters(), lr=cfg.lr_d or cfg.lr, betas=betas)}
        self.noise = fixed_noise(64, cfg.z_dim, cfg.seed + 1, device)

    def arch(self):
        return self._arch

    def step(self, batch):
        g, d, kind = self.nets["g"], self.nets["d"], self.cfg.loss
        real = to_unit(batch[0])
        fake = g(torch.randn(len(real), self.cfg.z_dim, device=self.device))

        real_logits, fake_logits = d(real), d(fake.detach())
        loss_d = losses.d_loss(kind, real_logits, fake_logits)
        self.optimizers["d"].zero_grad(set_to_none=True)
        loss_d.backward()
        self.optimizers["d"].step()

        loss_g = losses.g_loss(kind, d(fake))
        self.optimizers["g"].zero_grad(set_to_none=True)
        loss_g.backward()
        self.optimizers["g"].step()
        return {"loss_g": loss_g.detach(), "loss_d": loss_d.detach(),
                "d_real": losses.d_score(kind, real_logits),
                "d_fake": losses.d_score(kind, fake_logits)}

    def samples(self, nets_):
        return nets_["g"](self.noise)


class Sneakers(Plugin):
    name = "sneakers"
    task = "generate"
    summary = "28x28 sneakers from noise (DCGAN; MLP GAN baseline)"
    stages = (1,)
    default_data = {1: "synthetic"}
    datasets = ("sneakers", "fashion-sneakers", "synthetic")

    def stage_title(self, stage):
        return "DCGAN 28x28"

    def config_class(self, stage):
        return Stage1Config

    def load_data(self, cfg, data, stage):
        src = sources.resolve(data, self.datasets, self.name)
        if src.kind == "synthetic":
            return folder_data(sources.synthetic_root("sneakers", n=512, size=112, seed=0),
                               cfg, "synthetic:sneakers", synthetic=True)
        if src.name == "fashion-sneakers" or has_idx(src.path):
            images, _ = layouts.fashion_mnist(src.path, "train", classes=(7,))
            return tensor_data(torch.from_numpy(images), cfg, src.name,
                               sources.fingerprint_array(images))
        return folder_data(src.path, cfg, src.name)

    def setup(self, cfg, data, stage, device):
        if cfg.size % 4:
            raise GanctlError(f"size must be divisible by 4, got {cfg.size}")
        return DCGANRecipe(cfg, data, device)

    @torch.inference_mode()
    def generate(self, weights, seeds, device, batch: int = 256, **_):
        g = nets.from_arch(weights["arch"]["g"])
        g.load_state_dict(weights["nets"]["g"])
        g.to(device).eval()
        z_dim = weights["arch"]["g"]["kwargs"]["z_dim"]
        out = []
        for i in range(0, len(seeds), batch):
            z = torch.stack([seed_noise(s, z_dim) for s in seeds[i:i + batch]]).to(device)
            out.append(g(z).float().cpu())
        return torch.cat(out)


def seed_noise(seed: int, dim: int) -> torch.Tensor:
    """The latent of one seed: its own generator, so it never depends on the batch."""
    return torch.randn(dim, generator=torch.Generator().manual_seed(seed))


def has_idx(path: Path | None) -> bool:
    return bool(path) and any(Path(path).glob("train-images-idx3-ubyte*"))


def tensor_data(images: torch.Tensor, cfg, name: str, fingerprint: str, synthetic=False):
    channels = cfg.channels or images.shape[1]
    if channels != images.shape[1]:
        images = images.expand(-1, 3, -1, -1) if channels == 3 else images.float().mean(
            1, keepdim=True).round().to(torch.uint8)
    if images.shape[-1] != cfg.size:
        images = torch.nn.functional.interpolate(images.float(), size=(cfg.size, cfg.size),
                                                 mode="bicubic", antialias=True)
        images = images.clamp(0, 255).round().to(torch.uint8)
    info = sources.DataInfo(name, channels, (cfg.size, cfg.size), len(images), fingerprint,
                            synthetic)
    return sources.TrainData(sources.ImageTensors(images.contiguous()), info)


def folder_data(root: Path, cfg, name: str, synthetic: bool = False):
    files = layouts.image_folder(root)
    channels = cfg.channels or 3
    decoded = decode_all(files, (cfg.size, cfg.size), channels, mode="pad")
    if len(decoded.paths) == 0:
        raise GanctlError(f"no readable images in {root} ({len(decoded.bad)} unreadable; "
                          f"first: {decoded.bad[0]})")
    data = tensor_data(torch.from_numpy(decoded.array), cfg, name,
                       sources.fingerprint_files(decoded.paths, root), synthetic)
    data.info.skipped = decoded.bad
    return data


plugin = Sneakers()
