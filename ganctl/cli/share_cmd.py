"""`ganctl models import|export|push`: weights in and out of the cache, as files and on
the Hugging Face Hub."""

from __future__ import annotations

from pathlib import Path

import typer

from ganctl.cli import app  # noqa: F401 - the models group hangs off the app
from ganctl.cli.common import check_direction, json_option, print_json
from ganctl.cli.models_cmd import models_app

WEIGHTS_SOURCE = ("A plugin name (its cached weights), a .pt or .safetensors file, a run "
                  "or Hub folder, or hf://OWNER/REPO[@REVISION][/FILE].")


def open_weights(target: str, stage: int | None):
    """The weights `target` names, and their plugin object."""
    from ganctl import registry, weights
    from ganctl.errors import UsageError

    if target in registry.entries() and not Path(target).exists():
        plugin = registry.get(target)
        stage = plugin.check_stage(stage or 1)
        found = weights.for_plugin(plugin, stage)  # its default, as every verb resolves it
    else:
        found = weights.open_file(target, stage=stage or 1)
        if stage and found.stage != stage:
            raise UsageError(f"{target} holds stage {found.stage} weights, not --stage {stage}")
    return found, registry.get(found.plugin)


@models_app.command("import", no_args_is_help=True)
def import_cmd(
    source: str = typer.Argument(..., help="A reference pix2pix/CycleGAN generator .pth (a "
                                 "bare state_dict), a ganctl .pt/.safetensors file or folder, "
                                 "or hf://OWNER/REPO[@REVISION][/FILE]."),
    name: str = typer.Option(None, "--as", help="Plugin to import it for, e.g. edges2shoes "
                             "or horse2zebra (required for a reference .pth)."),
    direction: str = typer.Option(None, "--direction", help="A reference .pth: which way it "
                                  "maps, in the dataset's A/B terms: AtoB or BtoA (default: "
                                  "the way the name translates, e.g. BtoA for zebra2horse)."),
    as_json: bool = json_option(),
) -> None:
    """Put weights into the cache, where the verbs find them without --weights.

    A reference .pth's architecture is read from its keys; the key set must match.

    Loading never executes code. The cache records the file's origin and SHA-256.

    Examples:

      ganctl models import latest_net_G.pth --as edges2shoes

      ganctl models import hf://someone/sneakers-dcgan

      ganctl models import model.safetensors
    """
    from ganctl import checkpoint, registry, weights
    from ganctl.console import info
    from ganctl.errors import GanctlError, UsageError
    from ganctl.weights import hub, reference

    check_direction(direction)
    found = registry.get(name) if name else None
    fetched = hub.fetch(source) if hub.is_hub(source) else None
    local = fetched.path if fetched else Path(source).expanduser()
    if local.is_file() and reference.is_reference_file(local):
        if found is None:
            raise UsageError(f"{source} is a bare generator state_dict: say which plugin it "
                             "is for with --as NAME (e.g. --as edges2shoes)")
        if not found.does("translate"):
            raise UsageError(f"{name} is not a translation plugin")
        imported = weights.Weights.of(reference.to_payload(
            local, found.name, direction=direction or found.direction, source=source))
    else:
        if direction:
            raise UsageError("--direction is for reference .pth files; ganctl weights "
                             "record the way they map")
        imported = weights.open_file(str(local))
        local = Path(imported.path)  # the file a folder stood for
        if found is not None and imported.plugin != found.name:
            raise GanctlError(f"{source} holds {imported.plugin} weights, not {found.name}")
    imported = imported.with_(source=fetched.source() if fetched else {
        "path": str(local.resolve()), "sha256": checkpoint.sha256_of(local)})
    dest = weights.publish(imported.saved(), imported.plugin, imported.stage)
    if as_json:
        print_json({"plugin": imported.plugin, "stage": imported.stage, "file": str(dest),
                    "source": imported.source})
        return
    arch = imported.arch.get("g") or next(iter(imported.arch.values()))
    info(f"imported {source} for {imported.plugin}: {arch.name} {dict(arch.kwargs)} -> {dest}")


@models_app.command("export", no_args_is_help=True)
def export_cmd(
    target: str = typer.Argument(..., help=WEIGHTS_SOURCE),
    out: Path = typer.Option(..., "-o", "--out", help="A file (model.safetensors, x.onnx, "
                             "x.pt) or a folder to write into."),
    fmt: str = typer.Option("safetensors", "--format", help="safetensors, onnx, pt or hub "
                            "(a folder for `huggingface-cli upload`)."),
    stage: int = typer.Option(None, "--stage", help="Stage (default 1 for a plugin name; a "
                              "file's own stage, checked when given)."),
    direction: str = typer.Option(None, "--direction", help="onnx, translation: which "
                                  "generator of a two-way run (AtoB or BtoA; default: the "
                                  "way the plugin name translates)."),
    as_json: bool = json_option(),
) -> None:
    """Write trained weights in a format other tools read.

    safetensors: tensors + ganctl's record (header and a JSON file); --weights reads it.

    onnx: the inference net, images in [0, 1], checked with ONNX Runtime before writing.

    hub: a folder with model.safetensors, config.json, a model card and samples.png.

    Examples:

      ganctl models export sneakers -o sneakers.safetensors

      ganctl models export horse2zebra --format onnx -o h2z.onnx

      ganctl models export runs/faces/00000-celeba --format hub -o faces-hub/
    """
    from ganctl import card, export
    from ganctl.console import info
    from ganctl.errors import UsageError

    if fmt not in export.FORMATS:
        raise UsageError(f"--format must be one of {', '.join(export.FORMATS)}")
    check_direction(direction)
    if direction and fmt != "onnx":
        raise UsageError("--direction chooses the generator an ONNX file holds; "
                         f"--format {fmt} keeps every net")
    found, plugin = open_weights(target, stage)
    if direction and not plugin.does("translate"):
        raise UsageError(f"--direction is for translation plugins, not {plugin.name}")
    dest = export.target(out, fmt)
    report: dict = {"plugin": plugin.name, "stage": found.stage, "format": fmt}
    if fmt == "onnx":
        report.update(export.write_onnx(plugin, found, dest, direction))
        info(f"checked with ONNX Runtime on {report['checked_inputs']} inputs: max "
             f"difference {report['max_diff']:.2e} (limit {export.ONNX_TOLERANCE:g})")
    else:
        write = {"safetensors": export.write_safetensors, "pt": export.write_pt,
                 "hub": lambda w, d: card.write_folder(plugin, w, d)}[fmt]
        report["files"] = [str(p) for p in write(found, dest)]
    if as_json:
        print_json(report)
        return
    info(f"wrote {dest}")


@models_app.command("push", no_args_is_help=True)
def push_cmd(
    target: str = typer.Argument(..., help=WEIGHTS_SOURCE),
    repo: str = typer.Argument(..., help="The Hub repository, OWNER/REPO (created if new)."),
    private: bool = typer.Option(False, "--private", help="Create the repository private."),
    stage: int = typer.Option(None, "--stage", help="Stage (default 1 for a plugin name; a "
                              "file's own stage, checked when given)."),
) -> None:
    """Upload weights to the Hugging Face Hub as a Hub folder (as `export --format hub`).

    Needs a token: `hf auth login` or HF_TOKEN. The repository is created if new.

    Examples:

      ganctl models push sneakers someone/sneakers-dcgan

      ganctl models push edges2shoes someone/edges2shoes-pix2pix --private
    """
    import tempfile

    from ganctl import card
    from ganctl.console import info
    from ganctl.errors import UsageError
    from ganctl.weights import hub

    if repo.count("/") != 1 or not all(repo.split("/")):
        raise UsageError(f"{repo}: the repository is OWNER/REPO")
    hub.token()  # before any work: no token, no push
    found, plugin = open_weights(target, stage)
    with tempfile.TemporaryDirectory(prefix="ganctl-push-") as tmp:
        card.write_folder(plugin, found, Path(tmp), repo=repo)
        url = hub.push(Path(tmp), repo, private=private)
    info(f"pushed {plugin.name} stage {found.stage} to {repo}: {url}")
