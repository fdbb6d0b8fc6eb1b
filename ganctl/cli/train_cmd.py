"""`ganctl train PLUGIN`."""

from __future__ import annotations

from pathlib import Path

import typer

from ganctl.cli import app
from ganctl.cli.common import (
    device_option,
    json_option,
    print_json,
    print_table,
    threads_option,
)
from ganctl.config import flag_help


def _help(ctx: typer.Context, value: bool) -> None:
    """This command's help; with a plugin name, what that plugin's --data may be."""
    if not value:
        return
    typer.echo(ctx.get_help())
    from ganctl import registry
    from ganctl.cli import command_line

    # --help is eager and click parses options before arguments, so the plugin argument
    # is not parsed yet: take the first registered name on the command line
    name = next((a for a in command_line() if a in registry.entries()), None)
    if name:
        found = registry.get(name)
        typer.echo(f"\nData for {name} (--data): {found.data_layout}.")
        for line in device_defaults(found):
            typer.echo(line)
    raise typer.Exit()


def device_defaults(plugin) -> list[str]:
    """`train NAME --help`: the defaults that differ on a CPU and on a GPU, per stage, as
    `--dry-run` would resolve them there ("lambda_l1: 100 (500 on a CPU)")."""
    from ganctl import config

    lines = []
    for stage in plugin.stages:
        cls = plugin.config_class(stage)
        base = config.to_dict(config.build(cls, cls.device_defaults("cuda", {})))
        cpu = config.to_dict(config.build(cls, cls.device_defaults("cpu", {})))
        diff = [f"{k}: {base[k]!r} ({cpu[k]!r} on a CPU)" for k in base if base[k] != cpu[k]]
        if diff:
            where = f" stage {stage}" if len(plugin.stages) > 1 else ""
            lines.append(f"Defaults{where} that depend on the device (--dry-run shows what a "
                         f"run uses): {'; '.join(diff)}.")
    return lines


@app.command(no_args_is_help=True)
def train(
    plugin: str = typer.Argument(..., help="Plugin to train (see `ganctl models list`); "
                                 "`ganctl train NAME --help` adds what its --data may be."),
    _: bool = typer.Option(False, "-h", "--help", callback=_help, is_eager=True,
                           expose_value=False,
                           help="Show this message and exit."),
    stage: int = typer.Option(1, "--stage", help="Stage of a multi-stage plugin."),
    data: str = typer.Option(None, "--data",
                             help="Dataset name, folder, or 'synthetic' (default: the "
                                  "plugin's own)."),
    data_a: Path = typer.Option(None, "--data-a", help="Unpaired training: folder of "
                                "domain A (with --data-b)."),
    data_b: Path = typer.Option(None, "--data-b", help="Unpaired training: folder of "
                                "domain B (with --data-a)."),
    epochs: float = typer.Option(None, "--epochs", help=flag_help("epochs")),
    steps: int = typer.Option(None, "--steps", help=flag_help("steps")),
    minutes: float = typer.Option(None, "--minutes", help=flag_help("minutes")),
    batch_size: int = typer.Option(None, "--batch-size", help=flag_help("batch_size")),
    lr: float = typer.Option(None, "--lr", help=flag_help("lr")),
    seed: int = typer.Option(None, "--seed", help=flag_help("seed")),
    precision: str = typer.Option(None, "--precision", help=flag_help("precision")),
    channels_last: bool = typer.Option(None, "--channels-last/--no-channels-last",
                                       help="Channels-last memory format (default: the "
                                            "plugin's; on except for cyclegan).",
                                       show_default=False),
    compile_nets: bool = typer.Option(False, "--compile", help="torch.compile the nets "
                                      "(warns and runs eager where unavailable)."),
    keep_checkpoints: int = typer.Option(None, "--keep-checkpoints", min=1,
                                         help=flag_help("keep_checkpoints")),
    sets: list[str] = typer.Option([], "--set", help="Any config field: key=value "
                                   "(repeatable; see --dry-run for the keys)."),
    config_file: Path = typer.Option(None, "--config", help="TOML or JSON file of config keys."),
    resume: str = typer.Option(None, "--resume", help="'auto' (newest run of this plugin) or "
                               "a checkpoint file or run folder."),
    runs_dir: Path = typer.Option(Path("runs"), "--runs-dir", help="Where run folders go."),
    desc: str = typer.Option(None, "--desc", help="Run folder description suffix."),
    publish: str = typer.Option("if-better", "--publish", help="Whether the finished run "
                                "becomes the default weights for its name: if-better (only "
                                "when nothing ships for the name or the run passes its "
                                "check against the baseline, e.g. stage 2 above bicubic), "
                                "always, never. Otherwise it stays in its run folder: "
                                "--weights RUN, or `ganctl models use NAME RUN`."),
    no_publish: bool = typer.Option(False, "--no-publish", hidden=True,
                                    help="Same as --publish never."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the resolved config and exit."),
    wandb: bool = typer.Option(None, "--wandb/--no-wandb", help="Mirror logs, samples and the "
                               "final weights to Weights & Biases (default: $GANCTL_WANDB)."),
    wandb_mode: str = typer.Option("online", "--wandb-mode", help="online, offline or "
                                   "disabled."),
    wandb_project: str = typer.Option("ganctl", "--wandb-project", help="wandb project."),
    wandb_entity: str = typer.Option(None, "--wandb-entity", help="wandb entity (team)."),
    device: str = device_option(),
    threads: int = threads_option(),
    as_json: bool = json_option(),
) -> None:
    """Train a plugin; every run gets its own folder with config, stats, samples and checkpoints.

    Examples:

      ganctl train sneakers --data synthetic --minutes 1

      ganctl train sneakers --data fashion-sneakers --set loss=hinge ema=0.999

      ganctl train sneakers --resume auto

      ganctl train cyclegan --data-a selfies/ --data-b portraits/

      ganctl train sneakers --dry-run --set arch=mlp

      ganctl train sneakers --wandb --wandb-mode offline

      ganctl train faces --precision fp32 --no-channels-last --compile

      torchrun --nproc-per-node 4 -m ganctl train faces --data celeba
    """
    import os

    from ganctl import config, registry
    from ganctl.data import sources
    from ganctl.errors import UsageError
    from ganctl.training import engine
    from ganctl.training.wandb_log import MODES, WandbOptions
    from ganctl.weights.choice import POLICIES

    if publish not in POLICIES:
        raise UsageError(f"--publish must be one of {', '.join(POLICIES)}")
    if wandb_mode not in MODES:
        raise UsageError(f"--wandb-mode must be one of {', '.join(MODES)}")
    if wandb is None:
        wandb = os.environ.get("GANCTL_WANDB", "") not in ("", "0")
    if data_a or data_b:
        if not (data_a and data_b) or data:
            raise UsageError("--data-a and --data-b go together, without --data")
        data = sources.FolderPair(data_a, data_b)

    layers: dict = {}
    if config_file:
        layers.update(config.read_config_file(config_file))
    flags = {"epochs": epochs, "steps": steps, "minutes": minutes, "batch_size": batch_size,
             "lr": lr, "seed": seed, "precision": precision,
             "channels_last": channels_last, "compile": compile_nets or None,
             "keep_checkpoints": keep_checkpoints}
    layers.update({k: v for k, v in flags.items() if v is not None})
    layers.update(dict(config.parse_sets(sets)))
    req = engine.TrainRequest(plugin=registry.get(plugin), stage=stage, overrides=layers, data=data,
                              device=device, runs_dir=runs_dir, resume=resume, desc=desc,
                              publish="never" if no_publish else publish,
                              wandb=WandbOptions(wandb_mode, wandb_project, wandb_entity)
                              if wandb else None, threads=threads)
    if dry_run:
        return _dry_run(req, stage, as_json)
    result = engine.train(req)
    if not result.main:
        return  # a rank other than 0 of a distributed run: rank 0 reports
    _report(result, as_json)


def _dry_run(req, stage: int, as_json: bool) -> None:
    """--dry-run: the resolved config, as a table or JSON; nothing runs."""
    from ganctl import config
    from ganctl.training.resume import resolve_config

    resolved = resolve_config(req)
    found, cfg, data_spec = resolved.plugin, resolved.cfg, resolved.data_spec
    doc = {"plugin": found.name, "stage": stage, "data": str(data_spec),
           "resume": str(resolved.checkpoint) if resolved.checkpoint else None,
           "config": config.to_dict(cfg)}
    if as_json:
        print_json(doc)
    else:
        from rich.table import Table

        table = Table(title=f"{found.name} stage {stage} on {data_spec}", box=None)
        for col in ("key", "value", "meaning"):
            table.add_column(col)
        helps = {k: h for k, _t, _d, h in config.describe(type(cfg))}
        for k, v in config.to_dict(cfg).items():
            table.add_row(k, repr(v), helps.get(k, ""))
        print_table(table)


def _report(result, as_json: bool) -> None:
    """The run's summary: --json's object, or one line on stderr."""
    weights_file = result.run / "weights.pt"
    sizes = {"checkpoint": result.checkpoint.stat().st_size, "weights": weights_file.stat().st_size,
             "run_folder": sum(p.stat().st_size for p in result.run.rglob("*") if p.is_file())}
    summary = {"run": str(result.run), "step": result.step, "epoch": round(result.epoch, 4),
               "stopped_by": result.stopped_by, "checkpoint": str(result.checkpoint),
               "weights": str(weights_file),
               "published": str(result.weights) if result.weights else None,
               "published_why": result.publish_reason, "bytes": sizes}
    if as_json:
        print_json(summary)
    else:
        from ganctl.console import info

        linked = result.weights and result.weights.stat().st_ino == weights_file.stat().st_ino
        where = ("; published as a link to weights.pt (no extra space)" if linked
                 else "; published as a copy" if result.weights else "")
        info(f"done: {result.step} steps ({result.epoch:.2f} epochs; {result.stopped_by} "
             f"reached); run folder {result.run}: {mb(sizes['run_folder'])} (last checkpoint "
             f"{mb(sizes['checkpoint'])}, weights.pt {mb(sizes['weights'])}){where}")


def mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n < 1e9 else f"{n / 1e9:.2f} GB"
