"""The Gradio page: one tab per target, each built on a handler from handlers.py. A
target whose weights are missing gets a tab with the message that names the command to
train them."""

from __future__ import annotations

import functools
from pathlib import Path

from ganctl.demo import handlers
from ganctl.errors import GanctlError

PAD_SIDE = 256
FIRST_SEEDS = "0-15"


def friendly(gr, fn):
    """Errors a user can cause become a message on the page, not a stack trace."""

    @functools.wraps(fn)
    def run(*args):
        try:
            return fn(*args)
        except GanctlError as e:
            raise gr.Error(str(e).splitlines()[0]) from None

    return run


def translate_tab(gr, key: str, h: handlers.Translation, out: Path) -> None:
    side = PAD_SIDE
    # The page opens on a sample drawing and its translation; the pen draws over it and
    # the toolbar's clear gives a white page.
    sample = handlers.sample_drawing(side)
    first = h(sample)
    with gr.Row():
        pad = gr.Sketchpad(value={"background": sample.convert("RGBA"), "layers": [],
                                  "composite": None},
                           type="pil", image_mode="RGBA", format="png", canvas_size=(side, side),
                           brush=gr.Brush(colors=["#000000"], default_color="#000000",
                                          color_mode="fixed", default_size=3),
                           eraser=gr.Eraser(default_size=16), layers=False,
                           label="draw (pen, eraser, undo and clear in the toolbar)",
                           elem_id=f"{key}-pad")
        upload = gr.Image(type="filepath", sources=["upload", "clipboard"], label="or upload",
                          elem_id=f"{key}-upload")
    with gr.Row():
        draw_btn = gr.Button("Translate the drawing", variant="primary",
                             elem_id=f"{key}-draw-go")
        upload_btn = gr.Button("Translate the upload", elem_id=f"{key}-upload-go")
    with gr.Row():
        seen = gr.Image(sample, label="input as the model got it", format="png",
                        buttons=["download"], elem_id=f"{key}-input")
        outs = [gr.Image(img, label=label, format="png", buttons=["download"],
                         elem_id=f"{key}-out{i}")
                for i, (label, img) in enumerate(zip(h.labels, first))]

    def from_pad(editor):
        img = handlers.drawing(editor)
        return [img, *h(img)]

    def from_upload(path):
        img = handlers.open_upload(path)
        return [img, *h(img)]

    draw_btn.click(friendly(gr, from_pad), pad, [seen, *outs])
    upload_btn.click(friendly(gr, from_upload), upload, [seen, *outs])
    video_row(gr, key, lambda p: h.video(p, out), f"{h.labels[0]}, the first "
              f"{handlers.MAX_VIDEO_S:g} s")


def video_row(gr, key: str, fn, label: str) -> None:
    """A clip in, the clip out (needs the video extra)."""
    with gr.Accordion("video", open=False):
        with gr.Row():
            clip = gr.Video(label="clip", sources=["upload"], elem_id=f"{key}-video")
            done = gr.Video(label=label, elem_id=f"{key}-video-out")
        go = gr.Button("Run on the clip", elem_id=f"{key}-video-go")
    go.click(friendly(gr, fn), clip, done)


def generate_tab(gr, key: str, h: handlers.Generation, out: Path) -> None:
    first = h.grid(FIRST_SEEDS)  # the page opens on the grid of the seeds it shows
    with gr.Row():
        seeds = gr.Textbox(FIRST_SEEDS, label="seeds (0-15, or 3,7,42)", elem_id=f"{key}-seeds")
        nrow = gr.Number(0, precision=0, minimum=0, label="per row (0 = square)")
        rnd = gr.Button("Random seed")
    trunc = gr.Slider(0, 3, 0, step=0.1, label="truncation (0 = off)",
                      visible=h.truncation)
    refine = gr.Checkbox(h.refine is not None, label="apply the x4 stage",
                         visible=h.refine is not None)
    go = gr.Button("Generate", variant="primary", elem_id=f"{key}-go")
    grid = gr.Image(first, label="samples (as `ganctl sample --seeds`)", format="png",
                    buttons=["download"], elem_id=f"{key}-grid")
    rnd.click(lambda: str(h.random_seed()), None, seeds)
    go.click(friendly(gr, lambda s, n, t, r: h.grid(s, n or None, t or None, r)),
             [seeds, nrow, trunc, refine], grid)
    if h.interpolation:
        with gr.Row():
            a = gr.Number(0, precision=0, minimum=0, label="from seed")
            b = gr.Number(1, precision=0, minimum=0, label="to seed")
            steps = gr.Number(10, precision=0, minimum=2, maximum=64, label="steps")
        morph = gr.Button("Interpolate")
        gif = gr.Image(type="filepath", label="interpolation (GIF)", buttons=["download"])
        morph.click(friendly(gr, lambda x, y, n, t: h.animation(x, y, n, out, t or None)),
                    [a, b, steps, trunc], gif)


def upscale_tab(gr, key: str, h: handlers.Upscaling, out: Path) -> None:
    if h.warning:
        gr.Markdown(f"**Warning:** {h.warning}")
    with gr.Row():
        src = gr.Image(type="filepath", label="image (any size)", elem_id=f"{key}-upload")
        big = gr.Image(label=f"x{h.scale}", format="png", buttons=["download"],
                       elem_id=f"{key}-out")
    tile = gr.Number(256, precision=0, minimum=0, label="tile side (0 = whole image)")
    go = gr.Button(f"Upscale x{h.scale}", variant="primary", elem_id=f"{key}-go")
    go.click(friendly(gr, lambda p, t: h(handlers.open_upload(p, None), t)), [src, tile], big)
    video_row(gr, key, lambda p: h.video(p, out), f"x{h.scale}, the first "
              f"{handlers.MAX_VIDEO_S:g} s")


def detect_tab(gr, key: str, h: handlers.Detection, out: Path) -> None:
    gr.Markdown(f"Calibrated threshold **{h.threshold:.6g}** ({h.meta.get('score', 'mse')} "
                "score): above it, an image is flagged as a leak.")
    with gr.Row():
        photos = gr.File(file_count="multiple", file_types=["image"], label="photos",
                         elem_id=f"{key}-photos")
        notes = gr.File(file_count="single", label="annotations (optional: lines "
                        "'<file> <0|1>')")
    go = gr.Button("Score", variant="primary", elem_id=f"{key}-go")
    table = gr.Dataframe(headers=["image", "score", "verdict"], label="results",
                         elem_id=f"{key}-table")
    maps = gr.Gallery(label="heatmaps", columns=4)
    curves = gr.Gallery(label="ROC and PR (with annotations)", columns=2)
    go.click(friendly(gr, lambda p, n: h(p, n, out)), [photos, notes], [table, maps, curves])


def runs_tab(gr, key: str, h: handlers.Runs, out: Path) -> tuple:
    """The dashboard; returns its outputs, which the page also fills when it loads."""
    gr.Markdown(f"{len(h.folders)} run(s): " + ", ".join(f"`{f}`" for f in h.folders))
    curves = gr.Image(label="losses (as `ganctl plot-losses`)", elem_id=f"{key}-curves")
    grids = gr.Gallery(label="newest sample grids", columns=3)
    timer = gr.Timer(5)
    timer.tick(lambda: h.refresh(out), None, [curves, grids])
    return curves, grids


PAGES = {"translate": (handlers.Translation, translate_tab),
         "generate": (handlers.Generation, generate_tab),
         "upscale": (handlers.Upscaling, upscale_tab),
         "detect": (handlers.Detection, detect_tab)}


def build(gr, targets: list[str], out: Path, weights: str | None = None, device="cpu"):
    """The page for `targets` (plugin names or run folders)."""
    from ganctl import registry

    with gr.Blocks(title="ganctl demo") as page:
        gr.Markdown("# ganctl demo\nEverything runs on this machine, from its own weights.")
        loads = []
        for i, target in enumerate(targets):
            if Path(target).is_dir():
                with gr.Tab(f"runs: {Path(target).name or target}"):
                    h = handlers.Runs.under(Path(target))
                    loads.append((h, runs_tab(gr, f"runs{i}", h, out)))
                continue
            plugin = registry.get(target)
            tasks = [plugin.task] + [t for t in plugin.tasks if t != plugin.task]
            for task in tasks:
                with gr.Tab(f"{plugin.name}: {task}"):
                    make, draw = PAGES[task]
                    try:
                        h = make(plugin, weights if task == plugin.task else None, device)
                    except GanctlError as e:  # no weights yet: say how to get them
                        gr.Markdown(f"**{plugin.name} cannot {task} yet:** {e}")
                        continue
                    gr.Markdown("  \n".join(h.used), elem_id=f"{plugin.name}-{task}-weights")
                    draw(gr, f"{plugin.name}-{task}", h, out)
        for h, outputs in loads:
            page.load(lambda h=h: h.refresh(out), None, list(outputs))
    return page
