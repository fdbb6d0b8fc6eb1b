"""`ganctl plot-losses`."""

from __future__ import annotations

import typer

from ganctl.cli import app


@app.command("plot-losses", no_args_is_help=True)
def plot_losses(
    runs: list[str] = typer.Argument(..., help="Run folders or stats.jsonl files."),
    out: str = typer.Option("losses.png", "-o", "--out", help="Output image."),
) -> None:
    """Plot training curves from stats.jsonl of one or many runs.

    Examples:

      ganctl plot-losses runs/sneakers-stage1/00000-synthetic-sneakers-dcgan -o losses.png
    """
    from ganctl.errors import NotYetAvailable

    raise NotYetAvailable("plot-losses is not implemented yet; the curves are in each run's "
                          "stats.jsonl (one JSON object per line)")
