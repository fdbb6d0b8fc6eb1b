"""CycleGAN's training: the config, the unpaired data, the image pools and one step."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ganctl import nets
from ganctl.config import PaperScheduleConfig, channels_last_opt, opt, recipe_defaults, recipe_opt
from ganctl.data.batches import EpochKeyed
from ganctl.data.images import first_readable, read_tensor, resize_tensor
from ganctl.kit import diffaug
from ganctl.kit.jitter import random_crop_flip
from ganctl.kit.losses import d_loss, toward
from ganctl.kit.optim import adam
from ganctl.kit.schedules import LinearDecay
from ganctl.tensors import to_unit
from ganctl.training.recipe import Recipe

# The recipe `recipe=cpu` (the default on a CPU) sets for the keys the user leaves alone:
# half-width nets on 128-px crops make ~7x the paper nets' steps a CPU-minute; a light
# identity term (0.1 x cycle: the paper's 0.5 held zebras striped, docs/bench/cyclegan-real-
# tune-identity.json; with none the generators inverted the whole picture,
# docs/bench/cyclegan-real-tune-identity-0.1.json); resize-then-conv up-sampling: no
# checkerboard, and the better horse -> zebra (docs/bench/cyclegan-real-tune-upsample.json).
CPU_RECIPE = {"image_size": 128, "ngf": 32, "ndf": 32, "lambda_identity": 0.1,
              "upsample": "resize", "workers": 0}


@dataclass
class CycleGANConfig(PaperScheduleConfig):
    recipe: str = recipe_opt("ResNet-9 generators on 256-px crops, the paper's recipe",
                             "half-width ResNet-6 generators on 128-px crops, resize-then-"
                             "conv up-sampling, identity weight 0.1, no loader workers: ~10x the "
                             "steps per CPU-minute")
    channels_last: bool = channels_last_opt(False)  # measured slower here (bench/vs_reference.py)
    image_size: int = opt(256, "training crop side (100/128/256 ...); images are first "
                          "resized to 286/256 of it", minimum=16)
    n_blocks: int = opt(0, "residual blocks per generator (0 = 9 at >= 256 px, else 6)",
                        minimum=0)
    ngf: int = opt(64, "generator base width", minimum=1)
    upsample: str = opt("transpose", "generator up-sampling: transpose (the paper's "
                        "stride-2 transposed convs) or resize (nearest x2 then a 3x3 conv: "
                        "no checkerboard pattern)", choices=("transpose", "resize"))
    ndf: int = opt(64, "discriminator base width", minimum=1)
    lambda_cycle: float = opt(10.0, "cycle-consistency weight (lambda_A = lambda_B)",
                              minimum=0.0)
    lambda_identity: float = opt(0.5, "identity weight, as a fraction of lambda_cycle",
                                 minimum=0.0)
    pool_size: int = opt(50, "image history pool per direction (0 = off)", minimum=0)
    flip: bool = opt(True, "random horizontal flips")
    batch_size: int = opt(1, "images per domain per step", minimum=1)
    sample_every: int = opt(1000, "steps between sample grids", minimum=1)
    workers: int = opt(4, "data loader worker processes", minimum=0)

    @classmethod
    def device_defaults(cls, device_type, given):
        return recipe_defaults(device_type, given, CPU_RECIPE)

    def blocks(self) -> int:
        return self.n_blocks or (9 if self.image_size >= 256 else 6)

    def load_size(self) -> int:
        return round(self.image_size * 286 / 256)


class UnpairedImages(EpochKeyed):
    """Item i is (A[i mod |A|], B[perm_epoch(i) mod |B|]): B partners change every epoch,
    deterministically, so a resumed run sees the same pairs (items are looked up by
    (epoch, index) keys)."""

    def __init__(self, files_a, files_b, size: int):
        self.a, self.b, self.size = files_a, files_b, size
        self.epoch, self.partner = None, torch.arange(len(files_b))

    def __len__(self):
        return max(len(self.a), len(self.b))

    def partners(self, epoch: int) -> torch.Tensor:
        if epoch != self.epoch:
            g = torch.Generator().manual_seed(epoch)
            self.epoch, self.partner = epoch, torch.randperm(len(self.b), generator=g)
        return self.partner

    def _load(self, files, i):
        return first_readable(len(files), i, lambda j: resize_tensor(read_tensor(files[j], 3),
                                                                     self.size), "image")

    def __getitem__(self, key):
        epoch, i = key
        return self._load(self.a, i % len(self.a)), self._load(
            self.b, int(self.partners(epoch)[i % len(self.b)]))


class ImagePool:
    """Shrivastava et al.'s history of generated images: once full, each query returns a
    stored image (replaced by the new one) with probability 1/2, else the new image."""

    def __init__(self, size: int):
        self.size, self.images = size, []

    def query(self, batch: torch.Tensor) -> torch.Tensor:
        if self.size == 0:
            return batch.detach()
        out = []
        for img in batch.detach():
            img = img[None]
            if len(self.images) < self.size:
                self.images.append(img.clone())
                out.append(img)
            elif torch.rand(1).item() < 0.5:
                i = int(torch.randint(0, self.size, (1,)).item())
                out.append(self.images[i].clone())
                self.images[i] = img.clone()
            else:
                out.append(img)
        return torch.cat(out)

    def state(self) -> list[torch.Tensor]:
        return [t.cpu() for t in self.images]

    def load(self, images: list[torch.Tensor], device) -> None:
        self.images = [t.to(device) for t in images]


class CycleGANRecipe(Recipe):
    grid_nrow = 3  # real | translated | reconstructed
    export_nets = ("g_a", "g_b")
    ema_nets = ("g_a", "g_b")  # instance norm only: no statistics to recompute

    def __init__(self, cfg: CycleGANConfig, data, device):
        super().__init__(cfg, data, device)
        extra = {"upsample": cfg.upsample} if cfg.upsample != "transpose" else {}
        g = nets.arch("resnet_generator", ngf=cfg.ngf, n_blocks=cfg.blocks(), norm="instance",
                      **extra)
        d = nets.arch("patchgan", in_channels=3, ndf=cfg.ndf, norm="instance")
        self._arch = {"g_a": g, "g_b": g, "d_a": d, "d_b": d}
        self.nets = {k: nets.from_arch(a).to(device) for k, a in self._arch.items()}
        for net in self.nets.values():
            nets.init_normal(net)
        n = self.nets
        betas = (cfg.beta1, 0.999)
        self.optimizers = {
            "g": adam(itertools.chain(n["g_a"].parameters(), n["g_b"].parameters()),
                      lr=cfg.lr, betas=betas),
            "d": adam(itertools.chain(n["d_a"].parameters(), n["d_b"].parameters()),
                      lr=cfg.lr, betas=betas)}
        decay = LinearDecay(cfg.n_epochs, cfg.n_epochs_decay)
        self.schedulers = {k: torch.optim.lr_scheduler.LambdaLR(o, decay)
                           for k, o in self.optimizers.items()}
        self.pool_a, self.pool_b = ImagePool(cfg.pool_size), ImagePool(cfg.pool_size)
        self.fixed = [to_unit(t.to(device)) for t in data.val.tensors]
        self.d_aug = diffaug.augmenter(cfg.diffaug, data.info.count)

    def arch(self):
        return self._arch

    def step(self, batch):
        cfg, n, aug = self.cfg, self.nets, self.d_aug
        (a,), (b,) = (random_crop_flip((t,), cfg.image_size, cfg.flip) for t in batch)
        real_a, real_b = to_unit(a), to_unit(b)
        lam, lam_idt = cfg.lambda_cycle, cfg.lambda_cycle * cfg.lambda_identity

        fake_b, fake_a = n["g_a"](real_a), n["g_b"](real_b)
        rec_a, rec_b = n["g_b"](fake_b), n["g_a"](fake_a)
        for d in (n["d_a"], n["d_b"]):
            d.requires_grad_(False)
        loss_idt_a = F.l1_loss(n["g_a"](real_b), real_b) * lam_idt if lam_idt else \
            real_a.new_zeros(())
        loss_idt_b = F.l1_loss(n["g_b"](real_a), real_a) * lam_idt if lam_idt else \
            real_a.new_zeros(())
        loss_g_a = toward("lsgan", n["d_a"](aug(fake_b)), True)
        loss_g_b = toward("lsgan", n["d_b"](aug(fake_a)), True)
        loss_cycle_a = F.l1_loss(rec_a, real_a) * lam
        loss_cycle_b = F.l1_loss(rec_b, real_b) * lam
        loss_g = loss_g_a + loss_g_b + loss_cycle_a + loss_cycle_b + loss_idt_a + loss_idt_b
        self.update(loss_g, "g")

        for d in (n["d_a"], n["d_b"]):
            d.requires_grad_(True)
        past_b, past_a = self.pool_b.query(fake_b), self.pool_a.query(fake_a)
        loss_d_a = d_loss("lsgan", n["d_a"](aug(real_b)), n["d_a"](aug(past_b)))
        loss_d_b = d_loss("lsgan", n["d_b"](aug(real_a)), n["d_b"](aug(past_a)))
        self.update(loss_d_a + loss_d_b, "d")
        out = {"loss_g": loss_g, "loss_d_a": loss_d_a, "loss_g_a": loss_g_a,
               "loss_cycle_a": loss_cycle_a, "loss_idt_a": loss_idt_a, "loss_d_b": loss_d_b,
               "loss_g_b": loss_g_b, "loss_cycle_b": loss_cycle_b, "loss_idt_b": loss_idt_b}
        return {k: v.detach() for k, v in out.items()}

    def samples(self, nets_):
        rows = []
        fixed_a, fixed_b = self.fixed
        for real, there, back in ((fixed_a, "g_a", "g_b"), (fixed_b, "g_b", "g_a")):
            for img in real:
                fake = nets_[there](img[None])
                rows += [img[None], fake, nets_[back](fake)]
        return torch.cat(rows)

    def state_dict(self):
        return {"pool_a": self.pool_a.state(), "pool_b": self.pool_b.state()}

    def load_state_dict(self, state):
        self.pool_a.load(state["pool_a"], self.device)
        self.pool_b.load(state["pool_b"], self.device)
