"""`ganctl upscale`, `ganctl translate`, `ganctl detect-leaks`: one image in, one out."""

from __future__ import annotations

from pathlib import Path

import typer

from ganctl.cli import app
from ganctl.cli.common import (
    device_option,
    json_option,
    say_weights,
    threads_option,
    weights_option,
)
from ganctl.errors import UsageError


@app.command(no_args_is_help=True)
def upscale(
    inputs: list[str] = typer.Argument(..., help="Files, folders, globs, or - for stdin."),
    out: str = typer.Option(None, "-o", "--out", help="Output file (one input), folder, or - "
                            "for stdout. In a folder one input keeps its name (DIR/NAME.png), "
                            "several become DIR/NAME-x4.png. Default: NAME-x4.png here, or "
                            "upscaled/ for several inputs."),
    model: str = typer.Option(None, "--model", "-n", help="An upscaler by name: photo-x4 "
                              "(bundled), realesrgan-x4plus, realesr-general-x4v3, ... "
                              "(`ganctl models list --available`; published ones download "
                              "once), or a plugin whose upscaling stage to use."),
    weights: str = weights_option(also="a community upscaler file (ESRGAN, Real-ESRGAN, "
                                  "SwinIR, HAT, SPAN, ... .pth/.safetensors; other than "
                                  "ESRGAN needs `pip install 'ganctl[models]'`), ",
                                  default="sneakers stage 2's default, as `ganctl models "
                                  "list` shows it: the bundled photo-x4 unless you chose "
                                  "otherwise"),
    tile: int = typer.Option(256, "--tile", help="Tile side in input pixels (0 = whole "
                             "image at once); bounds memory on large images."),
    tile_pad: int = typer.Option(None, "--tile-pad", help="Context around each tile in input "
                                 "pixels (default: the net's receptive radius, at most 64; "
                                 "ganctl's nets then give tiles identical to one pass)."),
    outscale: float = typer.Option(None, "--outscale", help="Final scale if not the model's "
                                   "(model scale, then resize)."),
    start: float = typer.Option(0.0, "--start", help="Video inputs: seconds to skip."),
    duration: float = typer.Option(None, "--duration", help="Video inputs: seconds to "
                                   "process (default: to the end)."),
    fps: float = typer.Option(None, "--fps", help="Images into one video (-o clip.mp4): its "
                              "frame rate (default 25)."),
    device: str = device_option(),
    threads: int = threads_option(),
    as_json: bool = json_option(),
) -> None:
    """Upscale images (x4 by default) with the bundled photo upscaler, a published one
    (--model), or any upscaler file (--weights).

    Without --model or --weights: your cached sneakers stage 2 if you trained or chose one,
    else the photo-x4 upscaler bundled with the package.

    Examples:

      ganctl upscale in.png -o out.png

      ganctl upscale photo.jpg --model realesrgan-x4plus

      ganctl upscale photos/ -o big/ --weights 4x-community.pth

      cat small.png | ganctl upscale - -o - > big.png
    """
    from ganctl.cli.batch import check_inputs
    from ganctl.console import info, warn
    from ganctl.tasks import Upscaler

    Upscaler.plugin(model)  # a name that does not upscale fails before the inputs
    check_inputs(inputs)
    if outscale is not None and not 0 < outscale <= 16:
        raise UsageError("--outscale must be in (0, 16]")
    up = Upscaler.load(model, weights, device, tile, tile_pad)
    info(up.used.line)
    if up.used.warning:
        warn(f"{up.used.warning}; the output may look worse than a plain bicubic resize")
    suffix = f"x{outscale:g}" if outscale else f"x{up.scale}"
    run(inputs, out, suffix, as_json, lambda imgs: up.run(imgs, outscale), "upscaled",
        up.device.type, start, duration, fps, {"weights": up.used.record} if as_json else None)


@app.command(no_args_is_help=True)
def translate(
    model: str = typer.Argument(..., help="A translation plugin, e.g. edges2shoes, facades, "
                                "horse2zebra, zebra2horse."),
    inputs: list[str] = typer.Argument(..., help="Files, folders, globs, or - for stdin."),
    out: str = typer.Option(None, "-o", "--out", help="Output file (one input), folder, or - "
                            "for stdout. In a folder one input keeps its name (DIR/NAME.png), "
                            "several become DIR/NAME-MODEL.png. Default: NAME-MODEL.png "
                            "here, or MODEL/ for several."),
    weights: str = weights_option(also="a reference generator .pth (latest_net_G.pth), "
                                  "'pretrained' (the published generator, downloaded once), ",
                                  default="weights trained or imported for MODEL, else its "
                                  "published generator, downloaded on first use"),
    size: int = typer.Option(None, "--size", help="Run at SIZE x SIZE and output that size "
                             "(the reference behaviour); default keeps the input's size."),
    direction: str = typer.Option(None, "--direction", help="AtoB or BtoA for two-way "
                                  "(CycleGAN) runs; default from the model name."),
    start: float = typer.Option(0.0, "--start", help="Video inputs: seconds to skip."),
    duration: float = typer.Option(None, "--duration", help="Video inputs: seconds to "
                                   "process (default: to the end)."),
    fps: float = typer.Option(None, "--fps", help="Images into one video (-o clip.mp4): its "
                              "frame rate (default 25)."),
    device: str = device_option(),
    threads: int = threads_option(),
    as_json: bool = json_option(),
) -> None:
    """Translate images: edge drawing -> shoe (pix2pix), horse <-> zebra (CycleGAN).

    Every input is processed; the output keeps the input's size and aspect ratio.

    Examples:

      ganctl translate edges2shoes edge.jpg -o shoe.png

      ganctl translate edges2shoes sketch.png --weights pretrained

      ganctl translate horse2zebra horses/ -o zebras/

      ganctl translate horse2zebra horse.jpg --weights latest_net_G_A.pth
    """
    from ganctl.cli.batch import check_inputs
    from ganctl.tasks import Translator
    from ganctl.tasks.base import plugin_for

    plugin_for("translate", model)  # a name that does not translate fails before the inputs
    check_inputs(inputs)
    t = Translator.load(model, weights, device, size, direction)
    say_weights(t.plugin, t.weights)
    run(inputs, out, t.plugin.name, as_json, t.run, t.plugin.name, t.device.type, start,
        duration, fps, {"weights": t.used.record} if as_json else None)


def run(inputs, out, suffix: str, as_json: bool, fn, folder: str, device_type: str,
        start: float, duration: float | None, fps: float | None,
        meta: dict | None = None) -> None:
    """Images one by one (or grouped on a GPU), clips frame by frame, or images into
    one clip (-o clip.mp4)."""
    from ganctl.cli import video
    from ganctl.cli.batch import process_images
    from ganctl.infer.video import VIDEO_SUFFIXES

    clips, images = video.split_inputs(inputs)
    video.check_options(clips, images, out, start, duration, fps)
    if clips:
        video.process_videos(clips, out, suffix, as_json, fn, start, duration, folder,
                             device_type, meta)
    elif out is not None and Path(out).suffix.lower() in VIDEO_SUFFIXES:
        done = video.images_to_video(images, out, fn, fps or 25.0)
        video.report([done], as_json, meta)
    else:
        process_images(inputs, out, suffix, as_json, fn, folder=folder,
                       device_type=device_type, meta=meta)


@app.command("detect-leaks", no_args_is_help=True)
def detect_leaks(
    inputs: list[str] = typer.Argument(..., help="Files, folders, globs, - for stdin, or a "
                                       "leaks dataset folder (uses test/imgs + annotations)."),
    weights: str = weights_option(),
    threshold: float = typer.Option(None, "--threshold", help="Override the calibrated "
                                    "threshold (scores above it are leaks)."),
    csv_out: Path = typer.Option(None, "--csv", help="Write per-image results as CSV."),
    heatmaps: Path = typer.Option(None, "--heatmaps", help="Write per-pixel error heatmaps "
                                  "over the images into this folder."),
    annotations: Path = typer.Option(None, "--annotations", help="Lines '<file> <0|1>': "
                                     "report confusion matrix, precision/recall/F1, AUCs."),
    plots: Path = typer.Option(None, "--plots", help="With annotations: ROC and PR curves "
                               "into this folder."),
    fail_on_leak: bool = typer.Option(False, "--fail-on-leak", help="Exit 3 when any leak "
                                      "is found (for scripts)."),
    device: str = device_option(),
    threads: int = threads_option(),
    as_json: bool = json_option(),
) -> None:
    """Score images with the leak VAE and flag anomalies.

    Exit code 0 however many leaks are found (3 with --fail-on-leak; 1 if an input could
    not be read).

    Examples:

      ganctl detect-leaks photo.jpg

      ganctl detect-leaks data/leaks --plots report/ --json > results.json

      ganctl detect-leaks test/imgs --annotations notes.txt --csv scores.csv
    """
    from ganctl.cli.detect import run_detection

    run_detection(inputs, weights, threshold, csv_out, heatmaps, annotations, plots,
                  fail_on_leak, device, as_json)
