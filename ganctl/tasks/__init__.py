"""ganctl from Python: one object per task (`Generator`, `Translator`, `Upscaler`,
`Detector`), `load` to get the right one by name, `train`, and `list_models`. The CLI
verbs and the demo are adapters over these (docs/python.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ganctl.tasks.detector import Detection, Detector
from ganctl.tasks.generator import Generator
from ganctl.tasks.translator import Translator
from ganctl.tasks.upscaler import Upscaler

__all__ = ["Detection", "Detector", "Generator", "TrainResult", "Translator", "Upscaler",
           "list_models", "load", "train"]


def load(name: str | None = None, weights: str | None = None, device=None, **options):
    """The task object for `name`: an upscaler's name (photo-x4, realesrgan-x4plus, ...)
    or `weights` alone naming a community upscaler file -> `Upscaler`; a translation
    name (edges2shoes, horse2zebra, ...) -> `Translator`; a detector (leaks) ->
    `Detector`; a generator (sneakers, faces) -> `Generator`. `options` go to that
    class's `load` (e.g. size=, direction=, stage=, tile=, threshold=)."""
    from ganctl import registry
    from ganctl.errors import UsageError
    from ganctl.weights import community, upscalers

    if name in upscalers.names() or (name is None and community.is_community_file(weights)):
        return Upscaler.load(name, weights, device, **options)
    if name is None:
        raise UsageError("name a model: a plugin (`ganctl models list`) or an upscaler "
                         "(`ganctl models list --available`)")
    plugin = registry.get(name)
    for task, cls in (("translate", Translator), ("detect", Detector),
                      ("generate", Generator), ("upscale", Upscaler)):
        if plugin.does(task):
            return cls.load(name, weights, device, **options)
    raise UsageError(f"plugin {name!r} has no inference task (it does {plugin.task})")


def list_models(pattern: str | None = None, available: bool = False) -> list[dict]:
    """`ganctl models list [--available] --json` as Python: each plugin's stages and the
    weights each one uses now, or (available) the weights that ship or download."""
    from ganctl.tasks.catalog import available_rows, plugin_rows

    return available_rows(pattern) if available else plugin_rows(pattern)


@dataclass
class TrainResult:
    """A finished run: its folder, the step and epoch it reached, which rule stopped it,
    its weights file, whether it became its name's default (and why), and the last
    logged numbers (losses, validation scores)."""

    run: Path
    step: int
    epoch: float
    stopped_by: str
    weights: Path
    published: Path | None
    published_why: str
    scores: dict[str, float] = field(default_factory=dict)


def train(name: str, data: str | None = None, *, steps: int | None = None,
          minutes: float | None = None, epochs: float | None = None, stage: int = 1,
          device: str = "auto", runs_dir: str | Path = "runs", resume: str | None = None,
          publish: str = "if-better", progress: bool = True, **overrides: Any) -> TrainResult:
    """`ganctl train NAME` as Python: `data` as --data (a dataset name, folder or
    "synthetic"), the stopping rules, and any config key as a keyword (`lr=2e-4`,
    `batch_size=32`, `seed=1`, ...; `ganctl train NAME --dry-run` lists them).
    `progress=False` prints nothing (errors still raise)."""
    from ganctl import console, registry
    from ganctl.errors import UsageError
    from ganctl.training import engine
    from ganctl.weights.choice import POLICIES

    if publish not in POLICIES:
        raise UsageError(f"publish must be one of {', '.join(POLICIES)}")
    layers = {k: v for k, v in {"steps": steps, "minutes": minutes, "epochs": epochs}.items()
              if v is not None}
    layers.update(overrides)  # typed values, as from a --config file
    req = engine.TrainRequest(plugin=registry.get(name), stage=stage, overrides=layers,
                              data=data, device=device, runs_dir=Path(runs_dir),
                              resume=resume, publish=publish)
    with console.quiet_unless(progress):
        done = engine.train(req)
    return TrainResult(done.run, done.step, done.epoch, done.stopped_by,
                       done.run / "weights.pt", done.weights, done.publish_reason,
                       last_scores(done.run / "stats.jsonl"))


def last_scores(stats: Path) -> dict[str, float]:
    """The last logged value of each loss and validation score of a run."""
    import json

    out: dict[str, float] = {}
    if stats.is_file():
        for line in stats.read_text().splitlines():
            try:
                row = json.loads(line)
            except ValueError:
                continue
            out.update({k: v for k, v in row.items() if k.startswith(("loss", "val_"))
                        and isinstance(v, (int, float))})
    return out
