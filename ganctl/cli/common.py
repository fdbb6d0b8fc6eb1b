"""Small helpers shared by the verbs: option types, seeds, JSON output."""

from __future__ import annotations

import json
import math
import sys
from typing import Any

import typer

from ganctl.errors import UsageError

DEVICE_HELP = "auto, cpu, cuda, cuda:N or mps (auto picks a GPU when there is one)."


def _help(ctx: typer.Context, value: bool) -> None:
    if value:
        typer.echo(ctx.get_help())
        raise typer.Exit()


def group_help_option() -> Any:
    """A command group's own --help. Typer's automatic one is None when not given, and
    typer coerces None through pydantic, whose import would then sit on every
    `ganctl VERB --help`; a bool option with a bool default skips that coercion."""
    return typer.Option(False, "-h", "--help", callback=_help, is_eager=True,
                        expose_value=False, help="Show this message and exit.")


def weights_option(prefix: str = "", also: str = "",
                   default: str = "the weights cache") -> Any:
    return typer.Option(None, "--weights", help=f"{prefix}A .pt or .safetensors file, a run "
                        f"or Hub folder, {also}bundled:NAME, or "
                        f"hf://OWNER/REPO[@REVISION][/FILE] (default: {default}).")


def device_option() -> Any:
    return typer.Option("auto", "--device", help=DEVICE_HELP)


def apply_threads(value: int | None) -> int | None:
    """Sets torch's CPU threads as soon as the option is parsed (torch is imported only
    by commands that compute, never for --help)."""
    from ganctl.device import set_threads

    set_threads(value)
    return value


def threads_option() -> Any:
    return typer.Option(None, "--threads", callback=apply_threads, show_default=False,
                        help="CPU threads for torch (default: OMP_NUM_THREADS, else the "
                             "cores this process may use, divided among torchrun's local "
                             "processes).")


def json_option() -> Any:
    return typer.Option(False, "--json", help="Print machine-readable results on stdout.")


def check_direction(direction: str | None) -> str | None:
    """A --direction value: None, AtoB or BtoA."""
    if direction not in (None, "AtoB", "BtoA"):
        raise UsageError("--direction must be AtoB or BtoA")
    return direction


def print_json(obj: Any) -> None:
    """Strict JSON on stdout: a value that is not a number (NaN, infinity) becomes null."""
    sys.stdout.write(json.dumps(finite(obj), indent=2, default=str, allow_nan=False) + "\n")
    sys.stdout.flush()


def finite(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite(v) for v in obj]
    return obj


def say_weights(plugin, *used) -> None:
    """One stderr line per weights a verb runs with: which, and how they got here."""
    from ganctl.console import info
    from ganctl.weights.provenance import line

    for w in used:
        if w is not None:
            info(line(w, plugin))


def weights_record(w, plugin) -> dict:
    """The `weights` object of a verb's --json."""
    from ganctl.weights.provenance import record

    return record(w, plugin)


def print_table(renderable) -> None:
    """A Rich table on stdout: on a terminal as Rich lays it out; piped, as wide as its
    content (no wrapped or cut cells, no trailing padding) and without colour codes."""
    import io

    from rich.console import Console

    if sys.stdout.isatty():
        Console().print(renderable)
        return
    buffer = io.StringIO()
    Console(file=buffer, width=10_000, no_color=True, color_system=None).print(renderable)
    sys.stdout.write("".join(line.rstrip() + "\n" for line in buffer.getvalue().splitlines()))
