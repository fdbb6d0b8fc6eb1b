"""CycleGAN: unpaired translation both ways (horse2zebra and the other sets, or any two
folders), following the paper and the reference implementation's defaults.

ResNet generators (reflection padding, instance norm), 70x70 PatchGANs, LSGAN, an image
pool of 50 per direction, cycle weight 10, identity weight 0.5 x cycle weight, Adam 2e-4 /
beta1 0.5, constant then linearly decaying learning rate. Inputs are scaled to [-1, 1].
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import torch

from ganctl.data import layouts, sources
from ganctl.errors import UsageError
from ganctl.infer import deploy
from ganctl.infer.translate import translate_images
from ganctl.plugins.cyclegan.recipe import (
    CPU_RECIPE,
    CycleGANConfig,
    CycleGANRecipe,
    ImagePool,
    UnpairedImages,
)
from ganctl.registry import Plugin
from ganctl.weights import reference

__all__ = ["CPU_RECIPE", "PRESETS", "CycleGAN", "CycleGANConfig", "CycleGANRecipe",
           "ImagePool", "Preset", "UnpairedImages"]


@dataclass(frozen=True)
class Preset:
    """A named CycleGAN preset: its dataset (trainA -> trainB is A -> B) and the way it
    maps (the weights the authors published for it: `ganctl.weights.published`)."""

    name: str
    dataset: str
    direction: str


# The CycleGAN authors' unpaired datasets; each gives two names, its own (trainA ->
# trainB) and the reverse (horse2zebra, zebra2horse; summer2winter_yosemite,
# winter2summer_yosemite). pyproject.toml's entry points list every name
# (tests/test_registry.py checks that they match).
DATASETS = ("horse2zebra", "apple2orange", "summer2winter_yosemite", "monet2photo",
            "cezanne2photo", "ukiyoe2photo", "vangogh2photo", "iphone2dslr_flower")


def reverse(name: str) -> str:
    """horse2zebra -> zebra2horse, summer2winter_yosemite -> winter2summer_yosemite."""
    pair, _, suffix = name.partition("_")
    a, b = pair.split("2")
    return f"{b}2{a}" + (f"_{suffix}" if suffix else "")


PRESETS = {p.name: p for d in DATASETS
           for p in (Preset(d, d, "AtoB"), Preset(reverse(d), d, "BtoA"))}


class CycleGAN(Plugin):
    task = "translate"
    summary = "unpaired translation both ways (ResNet G + PatchGAN, LSGAN, cycle loss)"
    data_layout = ("two unpaired domains: a dataset name, a folder with trainA/ and "
                   "trainB/ (testA/ testB/ give the fixed sample images), or --data-a DIR "
                   "--data-b DIR")

    def __init__(self, preset: Preset):
        self.name = preset.name
        self.preset = preset
        self.direction = preset.direction
        # the B -> A name translates with the run its A -> B name trains
        self.weights_name = preset.dataset if preset.direction == "BtoA" else preset.name
        self.default_data = {1: preset.dataset}
        self.datasets = tuple(sorted({p.dataset for p in PRESETS.values()} | {"synthetic"}))

    def stage_title(self, stage):
        arrow = "A -> B" if self.direction == "AtoB" else "B -> A"
        return f"CycleGAN ({arrow})"

    def config_class(self, stage):
        return CycleGANConfig

    def load_data(self, cfg, data, stage):
        if self.name != self.weights_name:
            raise UsageError(f"train {self.weights_name}: one run learns both directions "
                             f"(then `ganctl translate {self.name}` uses its B -> A half)")
        if isinstance(data, sources.FolderPair):
            files_a, files_b = layouts.image_folder(data.a), layouts.image_folder(data.b)
            test_a, test_b, name, synthetic = files_a[:3], files_b[:3], str(data), False
        else:
            src = sources.resolve(data, self.datasets, self.name)
            root = (sources.synthetic_root("unpaired", n_train=64, n_test=8, size=128)
                    if src.kind == "synthetic" else src.path)
            u = layouts.unpaired_folders(root)
            files_a, files_b = u.train_a, u.train_b
            test_a, test_b = (u.test_a or u.train_a)[:3], (u.test_b or u.train_b)[:3]
            synthetic = src.kind == "synthetic"
            name = "synthetic:unpaired" if synthetic else src.name
        train = UnpairedImages(files_a, files_b, cfg.load_size())
        fixed = UnpairedImages(test_a, test_b, cfg.image_size)
        val = sources.ImageTensors(torch.stack([fixed._load(test_a, i) for i in range(len(
            test_a))]), torch.stack([fixed._load(test_b, i) for i in range(len(test_a))]))
        info = sources.DataInfo(name, 3, (cfg.image_size, cfg.image_size), len(train),
                                sources.fingerprint_files(files_a + files_b), synthetic)
        return sources.TrainData(train, info, val)

    def setup(self, cfg, data, stage, device):
        return CycleGANRecipe(cfg, data, device)

    def generator(self, weights, device, direction=None):
        """The generator mapping `direction` (default: the way this name translates)."""
        direction = direction or self.direction
        # an imported generator is one-way ("g"); a trained run has both
        if "g" in weights.nets:
            reference.check_direction(weights, direction, self.name)
            return weights.build("g", device)
        return weights.build("g_a" if direction == "AtoB" else "g_b", device)

    def directions(self, weights):
        if "g" in weights.nets:  # an imported one-way generator
            return [None]
        return [self.direction, "BtoA" if self.direction == "AtoB" else "AtoB"]

    def translator(self, weights, device, size: int | None = None, direction=None):
        g = self.generator(weights, device, direction)
        return functools.partial(translate_images, net=g, device=device, channels=3,
                                 multiple=g.multiple, force_size=size)

    def deployable(self, weights, direction=None):
        g = self.generator(weights, "cpu", direction)
        m, s = g.multiple, weights.preprocess.side
        return deploy.image_deployable(g, 3, [(s, s), (s // 2 + m, s + 2 * m)],
                                       f"H and W multiples of {m}; any size")


# The entry points in pyproject.toml name these attributes: one plugin per preset.
cyclegan = CycleGAN(Preset("cyclegan", "synthetic", "AtoB"))
globals().update({name: CycleGAN(p) for name, p in PRESETS.items()})
