"""sneakers: 28x28 sneakers from noise (stage 1) and x4 super-resolution to 112 (stage 2).

`sample` runs stage 1 and, when stage-2 weights are cached, stage 2 on its output;
`upscale` applies the stage-2 generator to any image.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ganctl.data import cache, layouts, sources
from ganctl.errors import GanctlError, UsageError
from ganctl.infer import deploy
from ganctl.kit.noise import seed_noise
from ganctl.plugins.sneakers.stage1 import DCGANRecipe, Stage1Config
from ganctl.plugins.sneakers.stage2 import SRGANRecipe, Stage2Config
from ganctl.registry import Plugin
from ganctl.tensors import match_channels


class Sneakers(Plugin):
    name = "sneakers"
    task = "generate"
    tasks = ("upscale",)
    summary = "28x28 sneakers from noise (DCGAN; MLP baseline), SRGAN x4 to 112x112"
    stages = (1, 2)
    refine_stage = 2
    default_data = {1: "synthetic", 2: "synthetic"}
    default_extractor = "classifier"  # Fashion-MNIST's CNN: the sneakers' own domain
    datasets = ("sneakers", "fashion-sneakers", "synthetic")
    data_layout = ("fashion-sneakers (the Fashion-MNIST sneakers: Debian's "
                   "dataset-fashion-mnist or a download), sneakers, synthetic, or any folder "
                   "of images (searched recursively, letter-boxed on white to a square). "
                   "Stage 2 trains on the same at hr_size; Fashion-MNIST's 28 px needs "
                   "--set hr_size=28 channels=1")
    # shipped in ganctl/weights/bundled/ (tools/bundle.py): a generator of Fashion-MNIST sneakers
    # and an x4 upscaler of photographs, which is what `upscale in.png` is mostly given and
    # which upscales the generated 28-px sneakers more cleanly than the 7 -> 28 px
    # Fashion-MNIST net (sneakers-stage2, whose grain shows at 28 -> 112)
    bundled = {1: "sneakers-stage1", 2: "photo-x4"}

    def stage_title(self, stage):
        return "DCGAN 28x28" if stage == 1 else "SRGAN x4 28->112"

    def config_class(self, stage):
        return Stage1Config if stage == 1 else Stage2Config

    def load_data(self, cfg, data, stage):
        size = cfg.size if stage == 1 else cfg.hr_size
        src = sources.resolve(data, self.datasets, self.name)
        if src.kind == "synthetic":
            out = folder_data(sources.synthetic_root("sneakers", n=512, size=112, seed=0),
                              size, cfg.channels, "synthetic:sneakers", synthetic=True)
        elif src.name == "fashion-sneakers" or has_idx(src.path):
            images, _ = layouts.fashion_mnist(src.path, "train", classes=(7,))
            if size > 28:
                raise GanctlError(f"Fashion-MNIST images are 28 px; stage {stage} needs "
                                  f"{size} px (for stage 2 use --set hr_size=28, a 7 -> 28 "
                                  "model, or RGB sneakers at 112 px)")
            out = tensor_data(torch.from_numpy(images), size, cfg.channels, src.name,
                              sources.fingerprint_array(images))
        else:
            out = folder_data(src.path, size, cfg.channels, src.name)
        return out if stage == 1 else hold_out(out, cfg.val_fraction)

    def setup(self, cfg, data, stage, device):
        if stage == 1:
            if cfg.size % 4:
                raise GanctlError(f"size must be divisible by 4, got {cfg.size}")
            if min(cfg.batch_size, len(data.train)) < 2:
                raise UsageError("stage 1 needs at least 2 images per batch: its generator "
                                 "uses batch norm")
            return DCGANRecipe(cfg, data, device)
        if cfg.hr_size % 4:
            raise GanctlError(f"hr_size must be divisible by 4, got {cfg.hr_size}")
        return SRGANRecipe(cfg, data, device)

    @torch.inference_mode()
    def generate(self, weights, seeds, device, batch: int = 256, refine=None):
        g = weights.build("g", device)
        z_dim = weights.arch["g"].kwargs["z_dim"]
        sr = refine.build("g", device) if refine else None
        out = []
        for i in range(0, len(seeds), batch):
            z = torch.stack([seed_noise(s, z_dim) for s in seeds[i:i + batch]]).to(device)
            x = g(z)
            if sr is not None:  # in the refiner's channels, out in the generator's
                x = match_channels(sr(match_channels(x, refine.arch["g"].kwargs["channels"])),
                                   x.shape[1])
            out.append(x.clamp(-1, 1).float().cpu())
        return torch.cat(out)

    def baseline_check(self, weights):
        val = weights.meta.get("validation")
        if weights.stage != 2 or not val:
            return None
        gain = val["val_psnr"] - val["val_psnr_bicubic"]
        return gain > 0, (f"PSNR {gain:+.2f} dB over bicubic on {val.get('images', '?')} "
                          "validation images")

    def weights_warning(self, weights):
        check = self.baseline_check(weights)
        if check is None or check[0]:
            return None
        val = weights.meta["validation"]
        return (f"these stage-2 weights scored {val['val_psnr']:.2f} dB PSNR on their "
                f"{val.get('images', '?')} validation images, not above plain bicubic's "
                f"{val['val_psnr_bicubic']:.2f} dB (train longer)")

    def upscaler(self, weights, device):
        """(net, scale, channels, tile context) of the stage-2 generator: the context is
        its receptive radius (tiles then equal one pass), at most MAX_CONTEXT."""
        kw = weights.arch["g"].kwargs
        net = weights.build("g", device)
        return net, net.scale, kw.get("channels", kw.get("num_in_ch")), \
            min(net.receptive_radius, MAX_CONTEXT)

    def deployable(self, weights, direction=None):
        kw = weights.arch["g"].kwargs
        if weights.stage == 1:
            return deploy.latent_deployable(weights.build("g", "cpu"), kw["z_dim"])
        net = weights.build("g", "cpu")
        return deploy.image_deployable(net, kw.get("channels", kw.get("num_in_ch")),
                                       [(28, 28), (17, 40)], "any height and width; the "
                                       f"output is x{net.scale} on each side")


# Tile context in input pixels: every ganctl-trained net reaches less far (exact tiles);
# a 23-block RRDB net reaches about 350 px, where 64 px of context is already seamless.
MAX_CONTEXT = 64


def has_idx(path: Path | None) -> bool:
    return bool(path) and any(Path(path).glob("train-images-idx3-ubyte*"))


def tensor_data(images: torch.Tensor, size: int, channels: int, name: str, fingerprint: str,
                synthetic: bool = False) -> sources.TrainData:
    """uint8 (N, C, H, W) brought to `size` and `channels` (0 = keep the data's)."""
    channels = channels or images.shape[1]
    images = match_channels(images, channels)
    if images.shape[-1] != size or images.shape[-2] != size:
        images = torch.nn.functional.interpolate(images.float(), size=(size, size),
                                                 mode="bicubic", antialias=True)
        images = images.clamp(0, 255).round().to(torch.uint8)
    info = sources.DataInfo(name, channels, (size, size), len(images), fingerprint, synthetic)
    return sources.TrainData(sources.ImageTensors(images.contiguous()), info)


def folder_data(root: Path, size: int, channels: int, name: str,
                synthetic: bool = False) -> sources.TrainData:
    """Every image under `root`, letter-boxed on white to a square of `size`."""
    files = layouts.image_folder(root)
    decoded = cache.decode_all(files, (size, size), channels or 3, mode="pad")
    if len(decoded.paths) == 0:
        raise GanctlError(f"no readable images in {root} ({len(decoded.bad)} unreadable; "
                          f"first: {decoded.bad[0]})")
    data = tensor_data(torch.from_numpy(decoded.array), size, channels or 3, name,
                       sources.fingerprint_files(decoded.paths, root), synthetic)
    data.info.skipped = decoded.bad
    return data


def hold_out(data: sources.TrainData, fraction: float) -> sources.TrainData:
    """Split off a fixed validation set (the same images whatever the training seed)."""
    images = data.train.tensors[0]
    n_val = min(max(1, round(len(images) * fraction)), 512) if fraction > 0 else 0
    if n_val == 0 or n_val >= len(images):
        return data
    val_i, train_i = sources.held_out(len(images), n_val)
    val, train = images[val_i], images[train_i]
    data.info.count = len(train)
    return sources.TrainData(sources.ImageTensors(train), data.info, sources.ImageTensors(val))


plugin = Sneakers()
