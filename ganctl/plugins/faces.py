"""faces: 64x64 faces with the classic DCGAN recipe or the CSP-up-block generator, with the
seed project's diagnostics, an end-of-run GIF and loss plot, and a mode-collapse alarm."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from ganctl import nets
from ganctl.config import TrainConfig, beta1_opt, diffaug_opt, epochs_opt, opt
from ganctl.console import warn
from ganctl.data import cache, layouts, sources
from ganctl.errors import GanctlError
from ganctl.infer import deploy
from ganctl.kit import diffaug, losses
from ganctl.kit.noise import fixed_noise, recalibration_noise, seed_noise
from ganctl.kit.optim import adam
from ganctl.registry import Plugin
from ganctl.tensors import to_unit
from ganctl.training.recipe import Recipe

G_ARCHS = {"dcgan": "faces_dcgan_g", "csp": "faces_csp_g"}
D_ARCHS = {"dcgan": "faces_dcgan_d", "resnet": "faces_resnet_d"}
DEFAULT_LR = {"csp": (5e-4, 1e-4), "dcgan": (2e-4, 2e-4)}  # (G, D): what worked in the seed


@dataclass
class FacesConfig(TrainConfig):
    arch_g: str = opt("dcgan", "generator: dcgan or csp (CSP up-blocks)", choices=tuple(G_ARCHS))
    arch_d: str = opt("dcgan", "discriminator: dcgan or resnet (the seed's better one)",
                      choices=tuple(D_ARCHS))
    spectral_norm_g: bool = opt(False, "spectral norm on the generator's convs")
    spectral_norm_d: bool = opt(False, "spectral norm on the discriminator (replaces its BN)")
    nz: int = opt(100, "latent size", minimum=1)
    ngf: int = opt(64, "generator width", minimum=1)
    ndf: int = opt(64, "discriminator width", minimum=1)
    lr: float = opt(0.0, "generator learning rate (0 = 5e-4 for csp, 2e-4 for dcgan)",
                    minimum=0.0)
    lr_d: float = opt(0.0, "discriminator learning rate (0 = 1e-4 for csp, 2e-4 for dcgan)",
                      minimum=0.0)
    beta1: float = beta1_opt()
    # auto: on for the 109 faces of the val split it was chosen on (docs/decisions.md)
    diffaug: str = diffaug_opt("auto")
    collapse_alarm: float = opt(0.3, "warn when sample diversity falls below this fraction "
                                "of the real data's (0 = off)", minimum=0.0)
    collapse_warmup: int = opt(1000, "steps before a low diversity counts, unless it was "
                               "already above the alarm level (an untrained G is uniform)",
                               minimum=0)
    batch_size: int = opt(128, "images per step", minimum=1)
    ema: float = opt(0.999, "decay of the generator's exponential moving average (0 = off, "
                     "the seed's recipe; warmed up over the first steps, batch-norm "
                     "statistics recomputed)", minimum=0.0, maximum=0.99999)
    epochs: float = epochs_opt(5.0)
    log_every: int = opt(50, "steps between lines in stats.jsonl (the seed logged every 50)",
                         minimum=1)
    sample_every: int = opt(500, "steps between 8x8 fixed-noise grids and diversity checks",
                            minimum=1)

    @classmethod
    def device_defaults(cls, device_type, given):
        # On a CPU, batches of 32 beat 128 at every budget on the val split (2 seeds; 3x
        # the steps per minute on ~100 faces): docs/performance.md, faces-tune-batch.
        return {"batch_size": CPU_BATCH} if device_type == "cpu" and "batch_size" not in given \
            else {}


CPU_BATCH = 32


def diversity(images: torch.Tensor) -> float:
    """Mean pairwise L2 distance of images (in [-1, 1]) downsampled to 16x16 gray: a
    fixed, cheap feature space in which a collapsed generator's samples sit together."""
    x = F.adaptive_avg_pool2d(images.float().mean(1, keepdim=True), 16).flatten(1)
    d = torch.cdist(x, x)
    n = len(x)
    return float(d.sum() / (n * (n - 1))) if n > 1 else 0.0


class FacesRecipe(Recipe):
    ema_nets = ("g",)
    grid_nrow = 8

    def __init__(self, cfg: FacesConfig, data, device):
        super().__init__(cfg, data, device)
        lr_g, lr_d = DEFAULT_LR[cfg.arch_g]
        self.lr_g, self.lr_d = cfg.lr or lr_g, cfg.lr_d or lr_d
        c = data.info.channels
        self._arch = {
            "g": nets.arch(G_ARCHS[cfg.arch_g], nz=cfg.nz, ngf=cfg.ngf, channels=c,
                           spectral_norm=cfg.spectral_norm_g),
            "d": nets.arch(D_ARCHS[cfg.arch_d], ndf=cfg.ndf, channels=c,
                           spectral_norm=cfg.spectral_norm_d)}
        g, d = nets.from_arch(self._arch["g"]), nets.from_arch(self._arch["d"])
        nets.init_normal(g)
        nets.init_normal(d)
        self.nets = {"g": g.to(device), "d": d.to(device)}
        betas = (cfg.beta1, 0.999)
        self.optimizers = {"g": adam(g.parameters(), lr=self.lr_g, betas=betas),
                           "d": adam(d.parameters(), lr=self.lr_d, betas=betas)}
        self.noise = fixed_noise(64, cfg.nz, cfg.seed + 1, device)
        self.d_aug = diffaug.augmenter(cfg.diffaug, data.info.count)
        real = data.train.tensors[0][:256]
        self.real_diversity = diversity(to_unit(real))
        self.steps, self.peak, self.alarmed = 0, 0.0, False

    def arch(self):
        return self._arch

    def meta(self):
        return {"lr_g": self.lr_g, "lr_d": self.lr_d,
                "diffaug": diffaug.resolve(self.cfg.diffaug, self.data.info.count)}

    def step(self, batch):
        g, d, aug = self.nets["g"], self.nets["d"], self.d_aug
        real = to_unit(batch[0])
        fake = g(torch.randn(len(real), self.cfg.nz, device=self.device))
        self.steps += 1

        real_logits, fake_logits = d(aug(real)), d(aug(fake.detach()))
        loss_d = losses.d_loss("bce", real_logits, fake_logits)
        grad_d = self.update(loss_d, "d", lambda: grad_norm(d))

        after = d(aug(fake))  # D(G(z)) again, after the D step: the seed's second reading
        loss_g = losses.g_loss("bce", after)
        grad_g = self.update(loss_g, "g", lambda: grad_norm(g))
        return {"loss_d": loss_d.detach(), "loss_g": loss_g.detach(),
                "d_real": losses.d_score("bce", real_logits),
                "d_fake_before": losses.d_score("bce", fake_logits),
                "d_fake_after": losses.d_score("bce", after), "grad_norm_g": grad_g,
                "grad_norm_d": grad_d}

    def ema_inputs(self, name, index):
        return recalibration_noise(128, self.cfg.nz, index, self.device)

    def samples(self, nets_):
        return nets_["g"](self.noise)

    def validate(self, nets_):
        ratio = diversity(nets_["g"](self.noise)) / max(self.real_diversity, 1e-12)
        level = self.cfg.collapse_alarm
        armed = self.peak >= level or self.steps >= self.cfg.collapse_warmup
        self.peak = max(self.peak, ratio)
        if level and armed and ratio < level and not self.alarmed:
            warn(f"possible mode collapse at step {self.steps}: sample diversity is "
                 f"{ratio:.0%} of the real data's (alarm below {level:.0%}); look at the "
                 "latest grid in samples/")
            self.alarmed = True
        return {"val_diversity_ratio": ratio}

    def state_dict(self):
        return {"steps": self.steps, "peak": self.peak, "alarmed": self.alarmed}

    def load_state_dict(self, state):
        self.steps, self.peak, self.alarmed = state["steps"], state["peak"], state["alarmed"]

    def finish(self, nets_, run: Path):
        write_gif(run / "samples", run / "progress.gif")
        from ganctl import plots

        stats = run / "stats.jsonl"
        if stats.is_file():
            loaded = [plots.load(str(run))]
            plots.plot_png(loaded, plots.select_keys(loaded, ["loss_*"]), run / "losses.png")


def grad_norm(net) -> torch.Tensor:
    grads = [p.grad for p in net.parameters() if p.grad is not None]
    return torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads))) if grads else \
        torch.zeros(())


def write_gif(folder: Path, out: Path, frame_ms: int = 400) -> Path | None:
    """An animation of the fixed-noise grids over training (the seed's deliverable)."""
    from PIL import Image

    frames = [Image.open(p).convert("P", palette=Image.Palette.ADAPTIVE)
              for p in sorted(folder.glob("fakes*.png"))]
    if not frames:
        return None
    frames[0].save(out, save_all=True, append_images=frames[1:], duration=frame_ms, loop=0)
    return out


def slerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    omega = torch.arccos((a / a.norm()).dot(b / b.norm()).clamp(-1, 1))
    if omega.abs() < 1e-6:
        return (1 - t) * a + t * b
    return (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)


class Faces(Plugin):
    sample_options = ("truncation", "interpolate")
    name = "faces"
    task = "generate"
    summary = "64x64 faces: DCGAN or CSP-up-block generator; DCGAN or residual D"
    default_data = {1: "celeba"}
    datasets = ("celeba", "synthetic")
    data_layout = ("celeba (img_align_celeba/, as CelebA or Kaggle ship it), synthetic, or "
                   "any folder of face images (searched recursively, centre-cropped to 64 "
                   "px)")

    def stage_title(self, stage):
        return "DCGAN/CSP 64x64"

    def config_class(self, stage):
        return FacesConfig

    def load_data(self, cfg, data, stage):
        src = sources.resolve(data, self.datasets, self.name)
        if src.kind == "synthetic":
            root = sources.synthetic_root("celeba", n=512)
            files, name = layouts.celeba(root), "synthetic:celeba"
        elif src.kind == "catalog":
            root, name = src.path, src.name
            files = layouts.celeba(root)
        else:
            root, name = src.path, src.name
            files = layouts.image_folder(root)
        decoded = cache.decode_all(files, (64, 64), 3, mode="crop", threads=8)
        if not len(decoded.paths):
            raise GanctlError(f"no readable images in {root}")
        info_ = sources.DataInfo(name, 3, (64, 64), len(decoded.paths),
                                 sources.fingerprint_files(decoded.paths, root),
                                 src.kind == "synthetic", decoded.bad)
        return sources.TrainData(sources.ImageTensors(torch.from_numpy(decoded.array)), info_)

    def setup(self, cfg, data, stage, device):
        return FacesRecipe(cfg, data, device)

    @torch.inference_mode()
    def generate(self, weights, seeds, device, truncation=None):
        g = weights.build("g", device)
        nz = weights.arch["g"].kwargs["nz"]
        z = torch.stack([seed_noise(s, nz, truncation) for s in seeds])
        return torch.cat([g(z[i:i + 256].to(device)).cpu() for i in range(0, len(z), 256)])

    def deployable(self, weights, direction=None):
        return deploy.latent_deployable(weights.build("g", "cpu"),
                                        weights.arch["g"].kwargs["nz"])

    @torch.inference_mode()
    def interpolate(self, weights, seed_a, seed_b, steps, device, truncation=None):
        """Images along the great circle between two seeds' latents (slerp)."""
        g = weights.build("g", device)
        nz = weights.arch["g"].kwargs["nz"]
        a, b = (seed_noise(s, nz, truncation) for s in (seed_a, seed_b))
        ts = [i / max(steps - 1, 1) for i in range(steps)]
        return g(torch.stack([slerp(a, b, t) for t in ts]).to(device)).cpu()


plugin = Faces()
