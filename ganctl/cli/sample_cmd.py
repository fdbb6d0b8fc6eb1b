"""`ganctl sample PLUGIN`."""

from __future__ import annotations

from pathlib import Path

import typer

from ganctl.cli import app
from ganctl.cli.common import (
    device_option,
    json_option,
    print_json,
    say_weights,
    threads_option,
    weights_option,
)
from ganctl.errors import UsageError

SAMPLE_CHUNK = 256  # seeds generated per pass


@app.command(no_args_is_help=True)
def sample(
    plugin: str = typer.Argument(..., help="A generating plugin, e.g. sneakers."),
    n: int = typer.Option(None, "-n", "--num", help="How many images (seeds SEED..SEED+n-1)."),
    seed: int = typer.Option(0, "--seed", help="First seed when using -n."),
    seeds: str = typer.Option(None, "--seeds", help="Explicit seeds, e.g. 0-63 or 1,5,9-11."),
    out: str = typer.Option(None, "-o", "--out", help="Grid file (PNG/JPG), a folder ending in "
                            "/ for one PNG per image, or - for a PNG on stdout."),
    nrow: int = typer.Option(None, "--nrow", help="Images per grid row (default: square)."),
    stage: int = typer.Option(None, "--stage", help="Last stage to run: 1 stops at the "
                              "generator; default: as `ganctl models list` says (your "
                              "stage 2 after any generator, the bundled one after the "
                              "bundled generator)."),
    weights: str = weights_option("Stage-1 weights: ", default="the name's default, as "
                                  "`ganctl models list` shows it"),
    refine_weights: str = typer.Option(None, "--refine-weights", help="Weights of the "
                                       "refining stage (e.g. sneakers stage 2)."),
    truncation: float = typer.Option(None, "--truncation", help="Redraw latent components "
                                     "beyond +-T (quality over variety), e.g. 1.5."),
    interpolate: tuple[int, int] = typer.Option((-1, -1), "--interpolate", help="Two seeds: "
                                                "write a latent interpolation strip (or a "
                                                "GIF with -o x.gif).", show_default=False),
    steps: int = typer.Option(8, "--steps", help="Images in an --interpolate strip."),
    device: str = device_option(),
    threads: int = threads_option(),
    as_json: bool = json_option(),
) -> None:
    """Generate images from noise; each image depends only on its seed.

    Examples:

      ganctl sample sneakers -n 16 -o grid.png

      ganctl sample sneakers --seeds 0-63 -o samples/

      ganctl sample sneakers -n 8 --stage 1 -o - | display

      ganctl sample faces --interpolate 3 17 --steps 10 -o morph.gif
    """
    import torch

    from ganctl import registry
    from ganctl.infer.io import STDIO, is_dir_target, output_format, save_image
    from ganctl.kit.noise import parse_seeds
    from ganctl.tasks import Generator
    from ganctl.tasks.generator import check_option
    from ganctl.tensors import from_unit, grid_image, to_pil, to_unit

    if seeds and n is not None:
        raise UsageError("give either -n or --seeds, not both")
    seed_list = parse_seeds(seeds) if seeds else list(range(seed, seed + (n or 16)))
    if n is not None and n < 1:
        raise UsageError("-n must be at least 1")
    if as_json and out == STDIO:
        raise UsageError("--json and -o - both want stdout; pick one")
    if nrow is not None and nrow < 1:
        raise UsageError("--nrow must be at least 1")
    if out and out != STDIO and not is_dir_target(out):
        output_format(out)  # an unknown suffix fails before the work
    found = registry.get(plugin)
    if interpolate != (-1, -1):
        return _interpolate(plugin, interpolate, steps, out or f"{plugin}-interp.png",
                            weights, device, truncation, as_json)
    out = out or f"{plugin}-samples.png"
    if truncation is not None and truncation <= 0:
        raise UsageError("--truncation must be > 0")
    if truncation is not None:
        check_option(found, "truncation")
    g = Generator.load(plugin, weights, device, stage, refine_weights)
    say_weights(g.plugin, g.weights, g.refine)
    # Each image depends only on its seed, so seeds run in chunks: a folder of 10,000
    # images holds one chunk in memory at a time, a grid keeps 8-bit images only.
    files, kept, size = [], [], None
    if is_dir_target(out):
        Path(out).mkdir(parents=True, exist_ok=True)
    for k in range(0, len(seed_list), SAMPLE_CHUNK):
        chunk = seed_list[k:k + SAMPLE_CHUNK]
        images = g.generate(chunk, truncation)
        size = list(images.shape[1:])
        if is_dir_target(out):
            files += [save_image(to_pil(img), Path(out) / f"seed{s:05d}.png")
                      for s, img in zip(chunk, images)]
        else:
            kept.append(from_unit(images))
    if kept:
        files = [save_image(grid_image(to_unit(torch.cat(kept)), nrow), out)]
    if as_json:
        print_json({"plugin": g.plugin.name,
                    "stages": [1] + ([g.plugin.refine_stage] if g.refine else []),
                    "weights": g.used.records(), "seeds": seed_list, "files": files,
                    "size": size})
    elif out != STDIO:
        from ganctl.console import info

        info(f"wrote {len(seed_list)} image(s) to {files[0] if len(files) == 1 else out}")


def _interpolate(name, seeds, steps, out, weights, device, truncation, as_json) -> None:
    from ganctl import registry
    from ganctl.infer.io import save_animation, save_image
    from ganctl.tasks import Generator
    from ganctl.tasks.generator import check_option
    from ganctl.tensors import grid_image

    check_option(registry.get(name), "interpolate")
    if steps < 2 or min(seeds) < 0:
        raise UsageError("--interpolate takes two seeds >= 0 and --steps >= 2")
    g = Generator.load(name, weights, device, stage=1)
    say_weights(g.plugin, g.weights)
    images = g.interpolate(seeds[0], seeds[1], steps, truncation)
    if str(out).lower().endswith(".gif"):
        save_animation(images, out)
    else:
        save_image(grid_image(images, nrow=steps), out)
    if as_json:
        print_json({"plugin": g.plugin.name, "seeds": list(seeds), "steps": steps, "file": out,
                    "weights": g.used.record})
