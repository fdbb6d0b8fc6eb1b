"""`ganctl upscale`, `ganctl translate`, `ganctl detect-leaks`: one image in, one out."""

from __future__ import annotations

import typer

from ganctl.cli import app
from ganctl.cli.common import device_option, json_option


def _require_task(task: str, verb: str, coming: str) -> None:
    from ganctl import registry
    from ganctl.errors import NotYetAvailable

    if not registry.for_task(task):
        raise NotYetAvailable(f"`ganctl {verb}` needs a {task} plugin and none is installed "
                              f"yet ({coming} is still to come)")


@app.command(no_args_is_help=True)
def upscale(
    inputs: list[str] = typer.Argument(..., help="Files, folders, globs, or - for stdin."),
    out: str = typer.Option(None, "-o", "--out", help="Output file, folder, or - for stdout."),
    weights: str = typer.Option(None, "--weights", help="Weights file or run folder."),
    device: str = device_option(),
    as_json: bool = json_option(),
) -> None:
    """Upscale images x4 with the sneakers stage-2 SRGAN.

    Examples:

      ganctl upscale in.png -o out.png

      ganctl upscale photos/ -o big/
    """
    _require_task("upscale", "upscale", "the sneakers SRGAN stage 2")


@app.command(no_args_is_help=True)
def translate(
    model: str = typer.Argument(..., help="A translation plugin, e.g. edges2shoes or "
                                "horse2zebra."),
    inputs: list[str] = typer.Argument(..., help="Files, folders, globs, or - for stdin."),
    out: str = typer.Option(None, "-o", "--out", help="Output file, folder, or - for stdout."),
    weights: str = typer.Option(None, "--weights", help="Weights file, run folder, or "
                                "'pretrained'."),
    device: str = device_option(),
    as_json: bool = json_option(),
) -> None:
    """Translate images: edge drawing -> shoe (pix2pix), horse <-> zebra (CycleGAN).

    Examples:

      ganctl translate edges2shoes edge.jpg -o shoe.png

      ganctl translate horse2zebra horses/ -o zebras/
    """
    _require_task("translate", "translate", "pix2pix and CycleGAN")


@app.command("detect-leaks", no_args_is_help=True)
def detect_leaks(
    inputs: list[str] = typer.Argument(..., help="Files, folders, globs, or - for stdin."),
    weights: str = typer.Option(None, "--weights", help="Weights file or run folder."),
    device: str = device_option(),
    as_json: bool = json_option(),
) -> None:
    """Score images with the leak VAE and flag anomalies.

    Examples:

      ganctl detect-leaks test/imgs/ --json

      ganctl detect-leaks photo.jpg
    """
    _require_task("detect", "detect-leaks", "the leaks VAE")
