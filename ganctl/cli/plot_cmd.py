"""`ganctl plot-losses`."""

from __future__ import annotations

from pathlib import Path

import typer

from ganctl.cli import app


@app.command("plot-losses", no_args_is_help=True)
def plot_losses(
    runs: list[str] = typer.Argument(..., help="Run folders, stats.jsonl files, or CSVs "
                                     "exported from wandb (several are overlaid)."),
    out: str = typer.Option("losses.png", "-o", "--out", help="PNG file, or - for stdout."),
    keys: list[str] = typer.Option(None, "--keys", help="Glob(s) of keys to plot, e.g. "
                                   "'loss_*' (default: losses, D outputs, validation)."),
    x: str = typer.Option("step", "--x", help="x axis: step, epoch or time."),
    smooth: float = typer.Option(0.0, "--smooth", help="EMA weight in [0, 1) (raw shown "
                                 "faint), e.g. 0.9."),
    log_y: bool = typer.Option(False, "--log-y", help="Logarithmic y axes."),
    terminal: bool = typer.Option(False, "--terminal", help="Draw in the terminal instead "
                                  "(for SSH sessions)."),
    follow: float = typer.Option(0.0, "--follow", help="Re-render every N seconds while "
                                 "runs train (Ctrl-C stops).", show_default=False),
    html: Path = typer.Option(None, "--html", help="Also write a report page: curves and "
                              "sample grids over time."),
) -> None:
    """Plot training curves of one or many runs, no server needed.

    Examples:

      ganctl plot-losses runs/sneakers-stage1/00000-synthetic-sneakers-dcgan

      ganctl plot-losses runs/sneakers-stage1/* --keys 'loss_*' -o cmp.png

      ganctl plot-losses runs/sneakers-stage1/00003-x --terminal --follow 10
    """
    import sys
    import time

    from ganctl import plots
    from ganctl.console import info
    from ganctl.errors import UsageError
    from ganctl.infer.io import STDIO

    if x not in plots.AXES:
        raise UsageError("--x must be step, epoch or time")
    if not 0 <= smooth < 1:
        raise UsageError("--smooth must be in [0, 1)")
    if follow < 0:
        raise UsageError("--follow takes seconds >= 0")
    if out == STDIO and not terminal and sys.stdout.isatty():
        raise UsageError("refusing to write PNG bytes to a terminal; pipe or redirect "
                         "stdout, pass -o FILE, or draw here with --terminal")

    def render() -> None:
        loaded = [plots.load(r) for r in runs]
        chosen = plots.select_keys(loaded, keys)
        if terminal:
            text = plots.plot_terminal(loaded, chosen, x, smooth)
            sys.stdout.write(("\033[2J\033[H" if follow else "") + text)
            sys.stdout.flush()
            return
        if out == STDIO:
            plots.plot_png(loaded, chosen, sys.stdout.buffer, x, smooth, log_y)
            sys.stdout.buffer.flush()
            return
        png = plots.plot_png(loaded, chosen, Path(out), x, smooth, log_y)
        if html:
            plots.html_report(loaded, png, html)
        if not follow:
            info(f"wrote {png}" + (f" and {html}" if html else ""))

    render()
    while follow:
        try:
            time.sleep(follow)
        except KeyboardInterrupt:
            return
        render()
