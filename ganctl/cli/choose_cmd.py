"""`ganctl models use|reset`: which weights a name uses without --weights, as a command."""

from __future__ import annotations

import typer

from ganctl.cli.common import json_option, print_json
from ganctl.cli.models_cmd import models_app


@models_app.command("use", no_args_is_help=True)
def use(
    name: str = typer.Argument(..., help="A plugin name, e.g. sneakers or edges2shoes."),
    source: str = typer.Argument(..., help="What it should use: a run folder, a .pt or "
                                 ".safetensors file, bundled:NAME, hf://OWNER/REPO, or "
                                 "'pretrained' (a translation name's published generator)."),
    as_json: bool = json_option(),
) -> None:
    """Make SOURCE the default weights of NAME (the stage is read from the file).

    `ganctl models reset NAME` goes back to what ships; the replaced file is moved aside,
    never deleted.

    Examples:

      ganctl models use sneakers runs/sneakers-stage1/00003-fashion-sne*

      ganctl models use edges2shoes runs/edges2shoes/00001-edges2shoes*
    """
    from ganctl import registry, weights
    from ganctl.console import info
    from ganctl.weights.provenance import line

    plugin = registry.get(name)
    if plugin.does("translate"):  # also reference .pth files and 'pretrained'
        found = weights.for_translation(plugin, source)
    else:
        probe = weights.open_file(source, plugin.name)
        found = weights.for_plugin(plugin, plugin.check_stage(probe.stage), source)
    owner = found.plugin if found.plugin in (plugin.name, plugin.weights_name) else plugin.name
    aside = set_aside(owner, found.stage)
    payload = found.saved()
    if not isinstance(payload.get("source"), str | dict) and found.origin != "yours":
        payload["source"] = source
    dest = weights.publish(payload, owner, found.stage)
    doc = {"name": name, "stage": found.stage, "file": str(dest), "from": source,
           "moved_aside": str(aside) if aside else None}
    if as_json:
        print_json(doc)
        return
    shared = f" (and every name it serves: {owner}'s cache)" if owner != name else ""
    info(f"{name} stage {found.stage} now uses {source}{shared}; cached at {dest}")
    if aside:
        info(f"the weights it used before are kept at {aside}")
    info(line(found.with_(origin="yours"), plugin))


@models_app.command("reset", no_args_is_help=True)
def reset(
    name: str = typer.Argument(..., help="A plugin name."),
    stage: int = typer.Option(None, "--stage", help="Only this stage (default: all)."),
    as_json: bool = json_option(),
) -> None:
    """Go back to the weights that ship for NAME (bundled, or the published generator).

    Your weights are moved aside into the cache's previous/ folder, never deleted; the
    runs they came from are untouched.

    Examples:

      ganctl models reset sneakers

      ganctl models reset sneakers --stage 2
    """
    from ganctl import registry, weights
    from ganctl.console import info

    plugin = registry.get(name)
    stages = [plugin.check_stage(stage)] if stage is not None else list(plugin.stages)
    rows = []
    for s in stages:
        moved = [str(p) for owner in dict.fromkeys((plugin.name, plugin.weights_name or name))
                 if (p := set_aside(owner, s))]
        now = weights.choice.default(plugin, s)
        rows.append({"stage": s, "moved_aside": moved, "uses": now.kind, "name": now.name})
        if not as_json:
            where = f"; your weights moved to {', '.join(moved)}" if moved else \
                " (it already did)"
            info(f"{name} stage {s} uses {now.text()}{where}")
    if as_json:
        print_json({"name": name, "stages": rows})


def set_aside(owner: str, stage: int):
    """Move the cache's `owner` stage `stage` file (and sidecar) into previous/; the new
    path, or None when there was none."""
    import time

    from ganctl.weights import cache_path

    path = cache_path(owner, stage)
    if not path.is_file():
        return None
    folder = path.parent / "previous"
    folder.mkdir(parents=True, exist_ok=True)
    dest = folder / f"stage{stage}-{time.strftime('%Y%m%d-%H%M%S')}-{time.time_ns() % 10**6}.pt"
    path.replace(dest)
    sidecar = path.with_suffix(".json")
    if sidecar.is_file():
        sidecar.replace(dest.with_suffix(".json"))
    return dest
