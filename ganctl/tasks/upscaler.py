"""`Upscaler`: the x4 (or x2) upscaling `ganctl upscale` runs, as one object."""

from __future__ import annotations

from typing import Any

from ganctl.tasks.base import Used, apply, device_of, plugin_for
from ganctl.tasks.inputs import as_images, one_or_many


class Upscaler:
    """An upscaler ready to run on images of any size, tiled without seams.

        up = Upscaler.load()                        # the bundled photo-x4 (or your default)
        up = Upscaler.load("realesrgan-x4plus")     # a published one, fetched once
        up = Upscaler.load(weights="4x-some.pth")   # a community file
        big = up("photo.jpg")                       # a PIL image, 4x the size
    """

    def __init__(self, net, scale: int, channels: int, context: int, used: Used, device,
                 tile: int = 256, tile_pad: int | None = None):
        self.net, self.scale, self.channels, self.context = net, scale, channels, context
        self.used, self.device = used, device
        self.tile = tile
        self.tile_pad = context if tile_pad is None else tile_pad

    @classmethod
    def load(cls, model: str | None = None, weights: str | None = None, device=None,
             tile: int = 256, tile_pad: int | None = None) -> Upscaler:
        """`model`: an upscaler's name (`ganctl models list --available`: photo-x4,
        realesrgan-x4plus, ...) or a plugin whose upscaling stage to use (default
        sneakers); `weights`: a file, run folder or bundled:/hf:// name, or a community
        upscaler file. Neither: sneakers stage 2's default (the bundled photo-x4 unless
        you chose otherwise)."""
        from ganctl.errors import UsageError
        from ganctl.infer.upscale import load_upscaler
        from ganctl.weights import upscalers

        if tile < 0 or (tile_pad is not None and tile_pad < 0):
            raise UsageError("--tile and --tile-pad must be >= 0")
        dev = device_of(device)
        named = model in upscalers.names()
        up = load_upscaler(cls.plugin(model), model if named else None, weights, dev)
        return cls(up.net, up.scale, up.channels, up.context,
                   Used(up.record, up.line, up.warning), dev, tile, tile_pad)

    @staticmethod
    def plugin(model: str | None):
        """The plugin whose upscaling stage `model` names (sneakers for a named upscaler)."""
        from ganctl.weights import upscalers

        named = model is None or model in upscalers.names()
        return plugin_for("upscale", "sneakers" if named else model)

    def __call__(self, images: Any, outscale: float | None = None):
        """One image (PIL, path, array, tensor) -> one PIL image; several -> a list."""
        imgs, one = as_images(images)
        return one_or_many(apply(lambda i: self.run(i, outscale), imgs, self.device), one)

    def run(self, imgs: list, outscale: float | None = None) -> list:
        """PIL images -> PIL images (same-size ones grouped into one pass where they fit
        a tile; each output is what it would be alone)."""
        from ganctl.errors import UsageError
        from ganctl.infer.upscale import upscale_images

        if outscale is not None and not 0 < outscale <= 16:
            raise UsageError("--outscale must be in (0, 16]")
        return upscale_images(imgs, self.net, self.scale, self.channels, self.device,
                              self.tile, self.tile_pad, outscale)
