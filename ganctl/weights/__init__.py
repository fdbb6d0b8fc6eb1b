"""The weights cache: trained generators published under the user data dir.

Layout: ``<GANCTL_HOME or user_data_dir("ganctl")>/weights/<plugin>/stage<N>.pt`` with a
``stage<N>.json`` sidecar holding the metadata, so listing the cache reads no tensors.
`--weights` may also name a ``.pt`` or ``.safetensors`` file, a run or Hub folder, or an
``hf://`` address.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ganctl import checkpoint, paths
from ganctl.console import warn
from ganctl.errors import GanctlError
from ganctl.weights import bundled, choice, formats, hub
from ganctl.weights.choice import cache_path
from ganctl.weights.record import META_KEYS, Arch, Preprocess, Weights, inference_payload
from ganctl.weights.torch_hub import hub_file, torchvision_file

__all__ = ["META_KEYS", "Arch", "Preprocess", "Weights", "cache_path", "cached", "choice", "fetch",
           "for_plugin", "for_refining", "for_translation", "for_upscaling",
           "hub_file", "inference_payload", "load", "open_file", "publish", "read",
           "refines_by_default", "resolve", "torchvision_file"]

# What a folder given as --weights may hold, in the order they are looked for.
FOLDER_FILES = ("weights.pt", "stage{stage}.pt", "model.safetensors")


def read(path: Path, device="cpu") -> dict[str, Any]:
    """A ganctl weights or training file of either format, checked, never unpickling code."""
    if formats.is_safetensors(path):
        return formats.read(path, device)
    return checkpoint.load(path, map_location=device, kind="weights")


def publish(payload: dict[str, Any], plugin: str, stage: int,
            saved: Path | None = None) -> Path:
    """Put inference weights into the cache atomically, with a JSON sidecar. `saved`: the
    file `payload` was already written to (a run's weights.pt), hard-linked rather than
    written again where the file system allows, so the bytes exist once on disk."""
    path = cache_path(plugin, stage)
    if path.parent.is_dir():
        checkpoint.remove_stale_temps(path.parent)  # a publish that was killed mid-write
    if saved is None or not checkpoint.link_into_place(Path(saved), path):
        checkpoint.save(payload, path)
    meta = {k: payload.get(k) for k in META_KEYS}
    meta["file"] = str(path)
    meta["bytes"] = path.stat().st_size
    checkpoint.atomic_write(path.with_suffix(".json"),
                            lambda f: f.write(json.dumps(meta, indent=2).encode()))
    return path


def resolve(plugin: str, stage: int, explicit: str | None = None) -> Path:
    """The file `--weights` names (a file, a run folder or `bundled:NAME`); with no
    `--weights`, the cache's file for `plugin` stage `stage` (the choice rule, with what
    ships, is `choice.default`)."""
    if explicit and explicit.startswith(bundled.PREFIX):
        name = explicit.removeprefix(bundled.PREFIX)
        found = bundled.path(name)
        if found is None:
            raise GanctlError(f"--weights {explicit}: no such bundled weights; this install "
                              f"ships {', '.join(bundled.names()) or 'none'}")
        return found
    if explicit:
        p = Path(explicit).expanduser()
        if p.is_dir():
            for name in FOLDER_FILES:
                if (p / name.format(stage=stage)).is_file():
                    return p / name.format(stage=stage)
            ckpts = checkpoint.training_files(p)
            if ckpts:
                return ckpts[0]
            raise GanctlError(f"no weights.pt, model.safetensors or checkpoints/ in {p}")
        if not p.exists():
            raise GanctlError(f"--weights {explicit}: no such file")
        return p
    path = cache_path(plugin, stage)
    if not path.is_file():
        stage_flag = f" --stage {stage}" if stage != 1 else ""
        raise GanctlError(f"no trained weights for {plugin} stage {stage} in {path.parent}; "
                          f"train them with `ganctl train {plugin}{stage_flag}` "
                          "or pass --weights PATH")
    return path


def for_plugin(plugin, stage: int = 1, explicit: str | None = None,
               device="cpu") -> Weights:
    """The weights a verb runs `plugin` stage `stage` with: `explicit` (`--weights`), else
    the name's default (`choice.default`: yours, else bundled, else published, which is
    downloaded on first use), each tagged with where it came from (`origin`)."""
    if explicit is not None:
        return load(plugin.name, stage, explicit, device, also=plugin.weights_name)
    found = choice.default(plugin, stage)
    if found.kind == "none":
        raise GanctlError(f"no weights for {plugin.name} stage {stage}: nothing ships for it "
                          f"and none are in {cache_path(plugin.name, stage).parent}; train "
                          f"them with {choice.train_hint(plugin, stage)}, or pass "
                          "--weights PATH")
    path = found.path
    if found.kind == "published":
        from ganctl.weights import published, reference

        path = reference.pretrained(published.get(plugin.name),
                                    plugin.weights_name or plugin.name)
    return load(plugin.name, stage, str(path), device, also=found.owner).with_(
        origin=found.kind)


def load(plugin: str, stage: int, explicit: str | None = None, device="cpu",
         also: str | None = None) -> Weights:
    """Load inference weights for `plugin`/`stage`, checked and EMA-preferring; weights
    of plugin `also` are accepted too (the run that owns a two-way name's weights)."""
    out = open_file(explicit, plugin, stage, device)
    if out.plugin not in (plugin, also):
        raise GanctlError(f"{out.path} belongs to plugin {out.plugin!r} (stage {out.stage}), "
                          f"not {plugin!r}")
    if out.stage != stage:
        raise GanctlError(f"{out.path} holds stage {out.stage} of {plugin}, not stage {stage}")
    return out


def fetch(explicit: str | None):
    """(`explicit` with an hf:// address replaced by the downloaded file's path, the
    fetch record or None): the one place `--weights` reaches the Hub."""
    fetched = hub.fetch(explicit) if hub.is_hub(explicit) else None
    return (str(fetched.path) if fetched else explicit), fetched


def open_file(explicit: str | None, plugin: str = "", stage: int = 1,
              device="cpu") -> Weights:
    """The inference weights `--weights` names (a file, a run or Hub folder, an hf://
    address, bundled:NAME; None: the cache's `plugin` stage `stage`), whatever plugin they
    belong to."""
    local, fetched = fetch(explicit)
    path = Path(local) if fetched else resolve(plugin, stage, explicit)
    out = inference_payload(read(path, device)).with_(
        path=str(path), origin="yours" if explicit is None else "file")
    if path.parent == bundled.HERE:
        out = out.with_(source=bundled.PREFIX + path.stem, origin="bundled")
    if fetched:  # the address, not the local cache file
        out = out.with_(source=fetched.source(), origin="hub")
    return out


def cached(plugin: str | None = None) -> list[dict[str, Any]]:
    """Metadata of every published weights file (optionally of one plugin)."""
    root = paths.weights_dir()
    rows = []
    for sidecar in sorted(root.glob(f"{plugin or '*'}/stage*.json")):
        try:
            meta = json.loads(sidecar.read_text())
        except (OSError, ValueError):
            continue
        if sidecar.with_suffix(".pt").is_file():
            rows.append(meta)
    return rows


def for_translation(plugin, explicit: str | None) -> Weights:
    """The one answer to "which weights does this translation name use":

    - `--weights pretrained`: the generator published for this very name (zebra2horse
      has its own), downloaded once and pinned;
    - `--weights FILE` holding a reference generator (a bare state_dict, as the reference
      repositories publish): imported on the fly, its architecture read from its keys and
      taken as mapping the way the name translates;
    - `--weights FILE|RUN`: ganctl weights;
    - nothing: the name's default (`choice.default`): weights imported or chosen for this
      name, else those of the run that trained both directions (horse2zebra's run serves
      zebra2horse), else the published generator, downloaded on first use."""
    from ganctl.weights import published, reference

    if explicit is None:
        return for_plugin(plugin, 1)
    record = published.get(plugin.name)
    origin = "file"
    if explicit == "pretrained":
        if record is None:
            raise GanctlError(f"no published pretrained generator for {plugin.name}; names "
                              f"that have one: {', '.join(published.PUBLISHED)}")
        explicit = str(reference.pretrained(record, plugin.weights_name or plugin.name))
        origin = "published"
    local, fetched = fetch(explicit)
    try:
        out = load(plugin.name, 1, local, also=plugin.weights_name or plugin.name)
    except GanctlError:
        path = Path(local).expanduser()
        if not (path.is_file() and reference.is_reference_file(path)):
            raise
        out = Weights.of({**reference.to_payload(path, plugin.name, direction=plugin.direction,
                                                 source=explicit), "path": local})
    out = out.with_(origin=origin)
    if fetched:  # the address, not the local cache file
        out = out.with_(source=fetched.source(), origin="hub")
    return out


def for_refining(plugin, stage: int | None = None, explicit: str | None = None,
                 base: Weights | None = None) -> Weights | None:
    """The refining stage's weights `sample` applies after the generator `base`, or None:
    used when asked for (`stage`, `explicit`), else the stage's default when it is yours,
    or when it is the bundled refiner and `base` the bundled generator it was made for
    (`refines_by_default`); never one that scored below its baseline unless asked."""
    r_stage = plugin.refine_stage
    if r_stage is None or (stage is not None and stage < r_stage):
        return None
    if stage is None and explicit is None and not refines_by_default(
            plugin, base.origin if base is not None else "yours"):
        return None
    refine = for_plugin(plugin, r_stage, explicit)
    problem = plugin.weights_warning(refine)
    if problem and stage is None and not explicit:
        warn(f"not applying stage {r_stage}: {problem}; pass --stage {r_stage} to apply it "
             "anyway")
        return None
    if problem:
        warn(problem)
    return refine


def refines_by_default(plugin, generator_origin: str) -> bool:
    """Whether `sample` applies the refining stage after a generator of that origin
    without being asked: your refiner after any generator; the bundled one only after
    the bundled generator (a generator you trained keeps its own size)."""
    found = choice.default(plugin, plugin.refine_stage)
    return found.kind == "yours" or (found.kind == "bundled" and generator_origin == "bundled")


def for_upscaling(plugin, explicit: str | None) -> Weights:
    """The upscaler's weights: `explicit`, else the refining stage's default (yours, else
    the bundled upscaler); `plugin.weights_warning` says whether they are any good."""
    return for_plugin(plugin, plugin.refine_stage, explicit)
