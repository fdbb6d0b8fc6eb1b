"""What each demo page does, without Gradio: weights resolved as the CLI resolves them,
page inputs turned into the CLI's own outputs. Tests call these directly."""

from __future__ import annotations

import random
import tempfile
from pathlib import Path
from typing import Any

from PIL import Image

from ganctl.errors import GanctlError, UsageError

MAX_SEEDS = 256  # a grid bigger than this is not a demo any more
MAX_VIDEO_S = 10.0  # the pages translate or upscale the first seconds of a clip


def video_through(fn, path: str | None, folder: Path) -> str:
    """An uploaded clip's first MAX_VIDEO_S seconds through `fn` (a list of frames in, a
    list out), as `translate`/`upscale` do it; returns the .mp4 written in `folder`."""
    from ganctl.infer.video import is_video, translate_video

    if not path or not is_video(path):
        raise UsageError("upload a video (.mp4, .mov, .mkv, .webm, .avi, .gif) first")
    out = Path(tempfile.mkdtemp(dir=folder)) / f"{Path(path).stem}.mp4"
    translate_video(Path(path), str(out), fn, duration=MAX_VIDEO_S)
    return str(out)


def open_upload(path: str | None, channels: int | None = 3) -> Image.Image:
    """An uploaded file, decoded with the CLI's limits (pixel cap, truncation checks)."""
    from ganctl.data.images import open_image

    if not path:
        raise UsageError("no image given")
    return open_image(path, channels=channels, label=Path(path).name)


def drawing(editor: dict[str, Any] | Image.Image | None) -> Image.Image:
    """The sketch pad's picture as RGB on white, exactly what a PNG of it gives the CLI."""
    from ganctl.data.images import to_mode

    img = editor.get("composite") if isinstance(editor, dict) else editor
    if img is None:
        raise UsageError("draw something first")
    return to_mode(img, 3)


def sample_drawing(side: int = 256) -> Image.Image:
    """The drawing the translate tab opens with: a shoe's outline, black on white, like
    the edge maps of edges2shoes (the same one every time)."""
    from ganctl.data import synthetic

    return synthetic.edge_map(synthetic.shoe(random.Random(3), side))


class Translation:
    """A translation name: one output per direction its weights map (two for a two-way
    CycleGAN run, the name's own way first)."""

    def __init__(self, plugin, weights_spec: str | None = None, device="cpu"):
        from ganctl.tasks import Translator

        self.ways = Translator.load(plugin.name, weights_spec, device).ways()
        self.weights = self.ways[0].weights
        self.used = [self.ways[0].used.line]
        self.labels = [f"{plugin.name} ({t.direction})" if t.direction else plugin.name
                       for t in self.ways]

    def __call__(self, img: Image.Image) -> list[Image.Image]:
        return [t(img) for t in self.ways]

    def video(self, path: str | None, folder: Path) -> str:
        """A clip translated the name's own way (the first of `labels`)."""
        return video_through(self.ways[0].run, path, folder)


class Generation:
    """Seeds -> the grid `ganctl sample --seeds` writes, interpolation, truncation and the
    refining (x4) stage where the plugin has them."""

    def __init__(self, plugin, weights_spec: str | None = None, device="cpu"):
        from ganctl.tasks import Generator

        self.generator = Generator.load(plugin.name, weights_spec, device)
        self.plugin, self.weights, self.refine = plugin, self.generator.weights, \
            self.generator.refine
        self.used = self.generator.used.lines()
        self.truncation = "truncation" in plugin.sample_options
        self.interpolation = "interpolate" in plugin.sample_options

    def seeds(self, text: str) -> list[int]:
        from ganctl.kit.noise import parse_seeds

        seeds = parse_seeds(str(text))
        if len(seeds) > MAX_SEEDS:
            raise UsageError(f"{len(seeds)} seeds; the page shows at most {MAX_SEEDS}")
        return seeds

    def grid(self, seeds_text: str, nrow: int | None = None, truncation: float | None = None,
             refine: bool = True) -> Image.Image:
        from ganctl.tensors import grid_image

        t = float(truncation) if truncation and self.truncation else None
        images = self.generator.generate(self.seeds(seeds_text), t, refine)
        return grid_image(images, int(nrow) if nrow else None)

    def animation(self, seed_a: int, seed_b: int, steps: int, folder: Path,
                  truncation: float | None = None) -> str:
        """A GIF between two seeds, as `sample --interpolate A B -o x.gif` writes it."""
        from ganctl.infer.io import save_animation

        if not self.interpolation:
            raise UsageError(f"{self.plugin.name} has no latent interpolation")
        images = self.generator.interpolate(int(seed_a), int(seed_b), int(steps),
                                            truncation or None)
        out = Path(tempfile.mkstemp(suffix=".gif", dir=folder)[1])
        return save_animation(images, out)

    @staticmethod
    def random_seed() -> int:
        return random.randrange(2**31)


class Upscaling:
    def __init__(self, plugin, weights_spec: str | None = None, device="cpu"):
        from ganctl.tasks import Upscaler

        self.upscaler = Upscaler.load(plugin.name, weights_spec, device)
        self.used, self.warning = [self.upscaler.used.line], self.upscaler.used.warning
        self.scale = self.upscaler.scale

    def __call__(self, img: Image.Image, tile: int = 256) -> Image.Image:
        self.upscaler.tile = int(tile)
        return self.upscaler(img)

    def video(self, path: str | None, folder: Path, tile: int = 256) -> str:
        return video_through(lambda frames: [self(f, tile) for f in frames], path, folder)


class Detection:
    """Photos -> scores, verdicts and heatmaps as `detect-leaks` gives them; with an
    annotation file, the ROC and PR plots too."""

    def __init__(self, plugin, weights_spec: str | None = None, device="cpu"):
        from ganctl.tasks import Detector

        self.detector = Detector.load(plugin.name, weights_spec, device)
        self.plugin, self.threshold, self.meta = plugin, self.detector.threshold, \
            self.detector.meta
        self.used = [self.detector.used.line]

    def __call__(self, paths: list[str], annotations: str | None, folder: Path):
        """(rows [name, score, verdict], [(heatmap, name)], plot files)."""
        rows, heatmaps, scored = [], [], {}
        opened = []
        for path in paths or []:
            name = Path(path).name
            try:
                opened.append((name, open_upload(path, self.detector.pre.channels)))
            except GanctlError as e:
                rows.append([name, None, f"unreadable: {e}"])
        if opened:
            results = self.detector([img for _, img in opened])
            for (name, _), r in zip(opened, results):
                rows.append([name, r.score, "leak" if r.leak else "normal"])
                heatmaps.append((r.heatmap, name))
                scored[name] = r.score
        plots = []
        if annotations and scored:
            from ganctl.data.layouts import read_annotations
            from ganctl.metrics.detection import labelled
            from ganctl.metrics.detection_plots import write_plots

            y, s, _, _ = labelled(scored.items(), read_annotations(Path(annotations))[0])
            if len(set(y.tolist())) == 2:
                plots = write_plots(y, s, self.threshold, Path(tempfile.mkdtemp(dir=folder)))
        return rows, heatmaps, plots


class Runs:
    """Loss curves and newest sample grids of run folders, read afresh on every refresh
    (a run still training has a torn last line now and then: skipped)."""

    def __init__(self, folders: list[Path]):
        self.folders = [Path(f) for f in folders]
        if not self.folders:
            raise GanctlError("no run folders (folders with a stats.jsonl) given")

    @classmethod
    def under(cls, root: Path) -> Runs:
        root = Path(root)
        found = [root] if (root / "stats.jsonl").is_file() else \
            sorted(p.parent for p in root.glob("**/stats.jsonl"))
        if not found:
            raise GanctlError(f"{root}: no run folders (no stats.jsonl below it)")
        return cls(found)

    def refresh(self, folder: Path) -> tuple[str | None, list[tuple[str, str]]]:
        """(loss-curve PNG as `plot-losses` draws it, [(newest grid, run name)])."""
        from ganctl import plots

        runs = [plots.load(str(f)) for f in self.folders]
        png = None
        try:
            keys = plots.select_keys(runs, None)
        except UsageError:  # nothing logged yet: a run that just started
            keys = []
        if keys:
            png = str(Path(tempfile.mkstemp(suffix=".png", dir=folder)[1]))
            plots.plot_png(runs, keys, png)
        grids = []
        for f in self.folders:
            newest = sorted((f / "samples").glob("*.png"))
            if newest:
                grids.append((str(newest[-1]), f.name))
        return png, grids
