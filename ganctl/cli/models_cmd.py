"""`ganctl models list|inspect|path` (import, export and push: share_cmd.py)."""

from __future__ import annotations

from pathlib import Path

import typer

from ganctl.cli import app
from ganctl.cli.common import group_help_option, json_option, print_json, print_table

models_app = typer.Typer(help="Plugins and cached weights: list, inspect, import, export "
                         "(safetensors, ONNX, Hub folder), push to the Hugging Face Hub.",
                         no_args_is_help=True)
app.add_typer(models_app, name="models")


@models_app.callback()
def _models(_: bool = group_help_option()) -> None:
    pass  # only the group's own --help (see group_help_option); its text is help= above


@models_app.command("list")
def list_models(
    pattern: str = typer.Argument(None, help="Glob or substring of plugin names."),
    available: bool = typer.Option(False, "--available", help="List the weights that can "
                                   "be had without training: bundled with the package, and "
                                   "published ones downloaded on first use."),
    as_json: bool = json_option(),
) -> None:
    """Plugins, their stages and datasets, and exactly which weights each stage uses
    without --weights: yours (a run that became the default, an import, `models use`),
    else what ships (bundled, or published and downloaded on first use).

    Examples:

      ganctl models list

      ganctl models list --available

      ganctl models list 'sneak*' --json
    """
    from ganctl.tasks.catalog import available_rows, plugin_rows

    if available:
        return _list_available(available_rows(pattern), as_json)
    rows = plugin_rows(pattern)
    if as_json:
        print_json(rows)
        return
    table = _table("plugin", "task", "stage", "default data", "uses")
    for r in rows:
        if "error" in r:
            table.add_row(r["name"], "[red]broken[/red]", "", "", r["error"])
            continue
        for i, s in enumerate(r["stages"]):
            table.add_row(r["name"] if i == 0 else "", r["task"] if i == 0 else "",
                          f"{s['stage']}: {s['title']}", str(s["default_data"]), s["uses_text"])
    print_table(table if rows else "no plugins match")


def _table(*columns: str, **kw):
    from rich.table import Table

    table = Table(box=None, **kw)
    for col in columns:
        table.add_column(col)
    return table


def _list_available(rows: list[dict], as_json: bool) -> None:
    """Bundled and published weights: what each is, where it comes from, if it is here."""
    if as_json:
        print_json(rows)
        return
    table = _table("name", "kind", "size", "here", "licence", "from")
    for r in rows:
        size = f"{r['size_mb']:.1f} MB" if r["kind"] == "bundled" else f"~{r['size_mb']} MB"
        table.add_row(r["name"], r["kind"], size, "yes" if r["here"] else "download",
                      r.get("licence", "MIT").split(";")[0], r.get("url") or r["card"])
    print_table(table if rows else "no weights match")


@models_app.command("inspect", no_args_is_help=True)
def inspect(
    target: str = typer.Argument(..., help="A checkpoint or weights file (.pt, "
                                 ".safetensors), a run or Hub folder, hf://OWNER/REPO, "
                                 "bundled:NAME, or a plugin name."),
    as_json: bool = json_option(),
) -> None:
    """Describe a checkpoint (what, trained how, on what) or a plugin's config keys.

    Examples:

      ganctl models inspect runs/sneakers-stage1/00000-synthetic-sne*/weights.pt

      ganctl models inspect sneakers
    """
    from ganctl import registry
    from ganctl.weights import hub

    path = hub.fetch(target).path if hub.is_hub(target) else Path(target).expanduser()
    if not path.exists() and target in registry.entries():
        doc = describe_plugin(registry.get(target))
    else:
        doc = describe_checkpoint(path, target)
    if as_json:
        print_json(doc)
        return
    if "stages" in doc and "file" not in doc:  # a plugin: its config keys, stage by stage
        for stage, about in doc["stages"].items():
            table = _table("key", "default", "type", "meaning", title_justify="left",
                           title=f"{doc['plugin']} stage {stage}: {about['title']} "
                                 f"(default data: {about['default_data']})")
            for key, c in about["config"].items():
                table.add_row(key, repr(c["default"]), c["type"], c["help"])
            print_table(table)
        return
    table = _table("key", "value")
    for key, value in flatten(doc):
        table.add_row(key, value)
    print_table(table)


def flatten(doc: dict, prefix: str = "") -> list[tuple[str, str]]:
    """("arch.g.kwargs.width", "32") rows of a nested record; lists of plain values in
    one row."""
    rows = []
    for key, value in doc.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            rows += flatten(value, name + ".")
        else:
            rows.append((name, value if isinstance(value, str) else repr(value)))
    return rows


def describe_plugin(p) -> dict:
    from ganctl import config

    return {"plugin": p.name, "task": p.task, "summary": p.summary,
            "datasets": list(p.datasets),
            "stages": {s: {"title": p.stage_title(s), "default_data": p.default_data.get(s),
                           "config": {k: {"type": t, "default": d, "help": h}
                                      for k, t, d, h in config.describe(p.config_class(s))}}
                       for s in p.stages}}


def describe_checkpoint(path: Path, target: str = "") -> dict:
    from ganctl import checkpoint
    from ganctl.errors import GanctlError
    from ganctl.weights import bundled, read, resolve

    if target.startswith(bundled.PREFIX) or path.is_dir():
        path = resolve("", 1, target or str(path))
    if not path.is_file():
        raise GanctlError(f"{path}: no such checkpoint file, run folder or plugin")
    payload = read(path)
    params = {name: sum(int(t.numel()) for k, t in sd.items()
                        if hasattr(t, "numel") and not k.endswith(("running_mean", "running_var",
                                                                   "num_batches_tracked")))
              for name, sd in payload.get("nets", {}).items()}
    sha = checkpoint.sha256_of(path)
    keys = ("kind", "plugin", "stage", "step", "epoch", "created", "arch", "preprocess",
            "dataset", "data_spec", "ema_nets", "run", "versions", "config")
    card = bundled.card(path.stem) if path.parent == bundled.HERE else ""
    return {"file": str(path), "bytes": path.stat().st_size, "sha256": sha,
            **({"card": card} if card else {}),
            "format_version": payload.get("format_version"),
            **{k: payload[k] for k in keys if k in payload},
            "parameters": params,
            "has_optimizer_state": bool(payload.get("optimizers")),
            "ema_in_checkpoint": sorted(payload.get("ema") or {})
            if payload.get("kind") == "training" else payload.get("ema_nets", [])}


@models_app.command("path")
def path_cmd(
    plugin: str = typer.Argument(None, help="Plugin name (omit for the cache root)."),
    stage: int = typer.Option(1, "--stage", help="Stage."),
) -> None:
    """Print where weights are cached (the root, or one plugin stage's file).

    Examples:

      ganctl models path

      ganctl models path sneakers --stage 1
    """
    from ganctl import paths, weights

    if plugin is None:
        typer.echo(str(paths.weights_dir()))
        return
    from ganctl import registry

    registry.get(plugin).check_stage(stage)
    typer.echo(str(weights.resolve(plugin, stage)))
