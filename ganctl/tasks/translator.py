"""`Translator`: what `ganctl translate NAME` runs, as one object."""

from __future__ import annotations

from typing import Any

from ganctl.tasks.base import Used, apply, device_of, plugin_for, used
from ganctl.tasks.inputs import as_images, one_or_many


class Translator:
    """Image-to-image translation (pix2pix, CycleGAN) keeping each input's size.

        t = Translator.load("edges2shoes")          # your weights, else the published ones
        shoe = t("sketch.png")                      # a PIL image
        zebras = Translator.load("horse2zebra")(["a.jpg", "b.jpg"])
    """

    def __init__(self, plugin, weights, device, size: int | None = None,
                 direction: str | None = None):
        self.plugin, self.weights, self.device = plugin, weights, device
        self.size, self.direction = size, direction
        self.used: Used = used(weights, plugin)
        self.fn = plugin.translator(weights, device, size=size, direction=direction)

    @classmethod
    def load(cls, name: str, weights: str | None = None, device=None, size: int | None = None,
             direction: str | None = None) -> Translator:
        """`name`: a translation plugin (edges2shoes, facades, horse2zebra, cyclegan, ...);
        `weights`: a file, run folder, reference .pth, 'pretrained', bundled: or hf://
        name (default: weights trained or imported for `name`, else its published
        generator, downloaded once); `size`: run and output at size x size;
        `direction`: AtoB or BtoA for two-way (CycleGAN) weights."""
        from ganctl import weights as weights_mod
        from ganctl.errors import UsageError

        plugin = plugin_for("translate", name)
        if size is not None and size < 16:
            raise UsageError("--size must be at least 16")
        if direction not in (None, "AtoB", "BtoA"):
            raise UsageError("--direction must be AtoB or BtoA")
        return cls(plugin, weights_mod.for_translation(plugin, weights), device_of(device),
                   size, direction)

    def ways(self) -> list[Translator]:
        """One translator per direction these weights map (two for a two-way CycleGAN
        run, the name's own way first), sharing the loaded weights."""
        return [self if w == self.direction else
                Translator(self.plugin, self.weights, self.device, self.size, w)
                for w in self.plugin.directions(self.weights)]

    def __call__(self, images: Any):
        """One image (PIL, path, array, tensor) -> one PIL image; several -> a list."""
        imgs, one = as_images(images)
        return one_or_many(apply(self.run, imgs, self.device), one)

    def run(self, imgs: list) -> list:
        return self.fn(imgs)
