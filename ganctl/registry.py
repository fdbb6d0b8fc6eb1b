"""Plugin protocol and registry.

A plugin is an object (usually a `Plugin` subclass instance) published under the
entry-point group ``ganctl.plugins``. Built-in plugins are registered the same way in
ganctl's own pyproject.toml, so a third-party distribution that declares

    [project.entry-points."ganctl.plugins"]
    mygan = "mypackage.plugin:plugin"

is found, listed, trained and sampled exactly like the built-ins. Several entry-point
names may point to one plugin (``horse2zebra`` and ``zebra2horse``); the plugin is told
the name it was called by.

Plugin names come from entry-point metadata without importing anything, so listing
names stays cheap; a plugin's module (and torch) is imported only when it is used.
"""

from __future__ import annotations

import difflib
import fnmatch
from dataclasses import dataclass
from functools import cache
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING, ClassVar

from ganctl.errors import GanctlError, UsageError

if TYPE_CHECKING:
    from pathlib import Path

    import torch

    from ganctl.config import TrainConfig
    from ganctl.data.sources import TrainData
    from ganctl.training.recipe import Recipe
    from ganctl.weights import Preprocess, Weights

GROUP = "ganctl.plugins"
# The hook each task's verb calls: a plugin declaring the task must define it.
TASK_HOOKS = {"generate": "generate", "upscale": "upscaler", "translate": "translator",
              "detect": "detector"}


class Plugin:
    """What every plugin declares. Subclass it and override what your plugin does.

    Training: `config_class`, `load_data`, `setup` (returns a `Recipe`, which owns the
    nets, optimisers and one training step). Inference: the hook of each task the plugin
    declares (`task`, `tasks`): `generate`, `upscaler`, `translator` or `detector`
    (`TASK_HOOKS`); a plugin declaring a task without overriding its hook is refused when
    it loads. The other hooks below have working defaults or say clearly that the plugin
    does not do that.
    """

    name: ClassVar[str] = ""
    task: ClassVar[str] = "generate"
    #: further tasks the plugin serves besides `task`, e.g. ("upscale",)
    tasks: ClassVar[tuple[str, ...]] = ()
    #: a later stage that refines this plugin's generated images (sample runs it too)
    refine_stage: ClassVar[int | None] = None
    #: `sample` options beyond the seeds that `generate` takes, e.g. ("truncation",)
    sample_options: ClassVar[tuple[str, ...]] = ()
    #: translation plugins: the way this name maps, in its dataset's A/B terms
    direction: ClassVar[str] = "AtoB"
    #: `evaluate`'s feature extractor when none is given; None: the user must choose
    default_extractor: ClassVar[str | None] = None
    summary: ClassVar[str] = ""
    #: what `--data` may be for this plugin (shown by `ganctl train NAME --help`)
    data_layout: ClassVar[str] = "a dataset name (`ganctl download-data --list`), a folder, " \
        "or 'synthetic'"
    #: {stage: name} of weights shipped in ganctl/weights/bundled/, used when none are cached
    bundled: ClassVar[dict[int, str]] = {}
    stages: ClassVar[tuple[int, ...]] = (1,)
    default_data: ClassVar[dict[int, str]] = {1: "synthetic"}
    datasets: ClassVar[tuple[str, ...]] = ("synthetic",)

    def stage_title(self, stage: int) -> str:
        return f"stage {stage}"

    def config_class(self, stage: int) -> type[TrainConfig]:
        raise NotImplementedError

    def load_data(self, cfg: TrainConfig, data: str, stage: int) -> TrainData:
        """Read the dataset named by `data` (catalog name, path or 'synthetic')."""
        raise NotImplementedError

    def setup(self, cfg: TrainConfig, data: TrainData, stage: int,
              device: torch.device) -> Recipe:
        raise NotImplementedError

    def generate(self, weights: Weights, seeds: list[int], device: torch.device,
                 **options) -> torch.Tensor:
        """Images in [-1, 1], shape (len(seeds), C, H, W); image i depends only on seeds[i]."""
        raise UsageError(f"plugin {self.name!r} does not generate images from noise")

    #: the plugin name whose weights this one uses (None: its own), e.g. zebra2horse
    #: translates with the horse2zebra run's second generator
    weights_name: ClassVar[str | None] = None

    def upscaler(self, weights: Weights, device: torch.device):
        """Task "upscale": (net, scale, channels, context) ready for inference; context is
        the input pixels around a tile that reach its output (tiles are padded by it)."""
        raise UsageError(f"plugin {self.name!r} does not upscale")

    def translator(self, weights: Weights, device: torch.device,
                   size: int | None = None, direction: str | None = None):
        """Task "translate": fn(list of PIL images of one size and mode) -> their
        translations, each the one it would get alone (the caller batches same-size
        inputs through one call)."""
        raise UsageError(f"plugin {self.name!r} does not translate")

    def directions(self, weights: Weights) -> list[str | None]:
        """Task "translate": the ways these weights translate for this name, its own way
        first ([None]: only the one way they were trained or imported for)."""
        return [None]

    def detector(self, weights: Weights, device: torch.device):
        """Task "detect": (fn(list of PIL images) -> (scores, error maps), meta with the
        calibrated threshold, the weights' Preprocess)."""
        raise UsageError(f"plugin {self.name!r} does not detect anomalies")

    def detect_inputs(self, path: Path) -> tuple[list[str], Path | None]:
        """What a folder given to `detect-leaks` stands for: (inputs, annotations or None)."""
        return [str(path)], None

    def heatmap(self, img, error_map, preprocess: Preprocess):
        """A picture of where `error_map` (from `detector`) is high, over `img`."""
        raise UsageError(f"plugin {self.name!r} draws no heatmaps")

    def interpolate(self, weights: Weights, seed_a: int, seed_b: int, steps: int,
                    device: torch.device, truncation: float | None = None) -> torch.Tensor:
        """`steps` images between two seeds' latents."""
        raise UsageError(f"plugin {self.name!r} does not support --interpolate")

    def deployable(self, weights: Weights, direction: str | None = None):
        """The inference net with its fixed pre- and post-processing folded in, for
        `models export --format onnx`: a `ganctl.infer.deploy.Deployable`."""
        raise UsageError(f"plugin {self.name!r} has no exportable inference net")

    def weights_warning(self, weights: Weights) -> str | None:
        """Why these inference weights should not be applied by default (e.g. an upscaler
        that scored below bicubic on its own validation set), or None."""
        return None

    def baseline_check(self, weights: Weights) -> tuple[bool, str] | None:
        """(passed, what was measured) of a finished run's weights against the plugin's
        baseline (e.g. an upscaler against bicubic on its validation images), or None
        when the plugin has no such check. A run replaces what ships for its name only
        when it passes (`ganctl.weights.choice`)."""
        return None

    def does(self, task: str) -> bool:
        return task == self.task or task in self.tasks

    def check_stage(self, stage: int) -> int:
        if stage not in self.stages:
            raise UsageError(f"plugin {self.name!r} has stages {', '.join(map(str, self.stages))};"
                             f" there is no stage {stage}")
        return stage


@dataclass
class Entry:
    """A registered name and where it comes from, known without importing the plugin."""

    name: str
    value: str
    dist: str

    def load(self) -> Plugin:
        try:
            obj = EntryPoint(name=self.name, value=self.value, group=GROUP).load()
        except Exception as e:  # noqa: BLE001 - a broken third-party plugin must not crash ganctl
            raise GanctlError(f"plugin {self.name!r} ({self.value}, from {self.dist}) "
                              f"failed to load: {type(e).__name__}: {e}") from e
        if isinstance(obj, type):
            obj = obj()
        if not isinstance(obj, Plugin):
            raise GanctlError(f"plugin {self.name!r} ({self.value}) is a "
                              f"{type(obj).__name__}; subclass ganctl.registry.Plugin")
        for task in (obj.task, *obj.tasks):
            hook = TASK_HOOKS.get(task)
            if hook is None:
                raise GanctlError(f"plugin {self.name!r} declares unknown task {task!r} "
                                  f"(known: {', '.join(TASK_HOOKS)})")
            if getattr(type(obj), hook) is getattr(Plugin, hook):
                raise GanctlError(f"plugin {self.name!r} declares task {task!r} but does "
                                  f"not define {hook}()")
        return obj


@cache
def entries() -> dict[str, Entry]:
    """Every registered plugin name (first registration of a name wins)."""
    found: dict[str, Entry] = {}
    for ep in entry_points(group=GROUP):
        dist = ep.dist.name if ep.dist is not None else "?"
        if ep.name in found and found[ep.name].value != ep.value:
            first = found[ep.name]
            CLASHES[ep.name] = (f"plugin name {ep.name!r} is registered twice: {first.value} "
                                f"(from {first.dist}) and {ep.value} (from {dist}); "
                                "uninstall one")
        found.setdefault(ep.name, Entry(ep.name, ep.value, dist))
    return found


CLASHES: dict[str, str] = {}  # names two distributions register differently


def names(pattern: str | None = None) -> list[str]:
    out = sorted(entries())
    if pattern:
        out = [n for n in out if fnmatch.fnmatch(n, pattern) or pattern in n]
    return out


@cache
def get(name: str) -> Plugin:
    """The plugin registered as `name`, or a usage error listing the known names."""
    known = entries()
    if name not in known:
        close = difflib.get_close_matches(name, list(known), n=3)
        hint = f"did you mean {' or '.join(close)}? " if close else ""
        raise UsageError(f"unknown plugin {name!r}; {hint}`ganctl models list` shows the "
                         f"{len(known)} installed")
    if name in CLASHES:  # refuse to guess which one the user means
        raise GanctlError(CLASHES[name])
    return known[name].load()


def for_task(task: str) -> list[str]:
    """Names of plugins that do `task` (imports them)."""
    return [n for n in names() if get(n).does(task)]

