"""`Generator`: what `ganctl sample NAME` runs, as one object."""

from __future__ import annotations

from ganctl.tasks.base import Used, device_of, plugin_for, used


class Generator:
    """Images from noise; each image depends only on its seed.

        g = Generator.load("sneakers")              # your weights, else the bundled ones
        images = g(range(16))                       # 16 PIL images (112 px: with the x4 stage)
        g.grid("0-63", nrow=8).save("grid.png")
    """

    def __init__(self, plugin, weights, refine, device):
        self.plugin, self.weights, self.refine, self.device = plugin, weights, refine, device
        self.used: Used = used(weights, plugin)
        if refine is not None:
            self.used.others.append(used(refine, plugin))

    @classmethod
    def load(cls, name: str, weights: str | None = None, device=None, stage: int | None = None,
             refine_weights: str | None = None) -> Generator:
        """`name`: a generating plugin (sneakers, faces); `weights`: its generator's
        weights (default: as `ganctl models list` shows); `stage`: the last stage to run
        (1 stops at the generator; default: the refining stage when it has weights, as
        `sample` does); `refine_weights`: the refining stage's weights."""
        from ganctl import weights as weights_mod

        plugin = plugin_for("generate", name)
        if stage is not None:
            plugin.check_stage(stage)
        payload = weights_mod.for_plugin(plugin, 1, weights)
        refine = weights_mod.for_refining(plugin, stage, refine_weights, payload)
        return cls(plugin, payload, refine, device_of(device))

    def generate(self, seeds, truncation: float | None = None, refine: bool = True):
        """Seeds -> a float tensor (N, C, H, W) in [-1, 1] on the CPU."""
        import torch

        from ganctl.errors import UsageError
        from ganctl.kit.noise import parse_seeds

        seeds = parse_seeds(seeds) if isinstance(seeds, str) else \
            list(range(seeds)) if isinstance(seeds, int) else [int(s) for s in seeds]
        options = {"refine": self.refine} if refine and self.refine is not None else {}
        if truncation is not None:
            check_option(self.plugin, "truncation")
            if truncation <= 0:
                raise UsageError("--truncation must be > 0")
            options["truncation"] = truncation
        with torch.no_grad():  # not inference_mode: callers may edit the result in place
            return self.plugin.generate(self.weights, seeds, self.device, **options).cpu()

    def __call__(self, seeds=16, truncation: float | None = None) -> list:
        """Seeds (a count n for 0..n-1, a list, or text like "0-63,70") -> PIL images."""
        from ganctl.tensors import to_pil

        return [to_pil(img) for img in self.generate(seeds, truncation)]

    def grid(self, seeds=16, nrow: int | None = None, truncation: float | None = None):
        """The grid `ganctl sample -o grid.png` writes, as a PIL image."""
        from ganctl.tensors import grid_image

        return grid_image(self.generate(seeds, truncation), nrow)

    def interpolate(self, seed_a: int, seed_b: int, steps: int = 8,
                    truncation: float | None = None):
        """A latent walk from seed_a to seed_b: a tensor (steps, C, H, W) in [-1, 1]."""
        from ganctl.errors import UsageError

        check_option(self.plugin, "interpolate")
        if steps < 2 or min(seed_a, seed_b) < 0:
            raise UsageError("--interpolate takes two seeds >= 0 and --steps >= 2")
        return self.plugin.interpolate(self.weights, seed_a, seed_b, steps, self.device,
                                       truncation=truncation)


def check_option(plugin, option: str) -> None:
    """Refuse `option` (truncation, interpolate) for a plugin without it, naming those with it."""
    from ganctl import registry
    from ganctl.errors import UsageError

    if option not in plugin.sample_options:
        having = [n for n in registry.for_task("generate")
                  if option in registry.get(n).sample_options]
        lacks = "does not support" if option == "interpolate" else "has no"
        raise UsageError(f"plugin {plugin.name!r} {lacks} --{option}; plugins that do: "
                         f"{', '.join(having) or 'none'}")
