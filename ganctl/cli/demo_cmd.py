"""`ganctl demo`: try models in a browser."""

from __future__ import annotations

import typer

from ganctl.cli import app
from ganctl.cli.common import device_option, threads_option, weights_option


@app.command(no_args_is_help=True)
def demo(
    targets: list[str] = typer.Argument(..., help="Plugin names (edges2shoes, horse2zebra, "
                                        "sneakers, leaks, ...) or run folders (a live "
                                        "training dashboard); one tab each."),
    port: int = typer.Option(7860, "--port", help="Port to listen on."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on; 0.0.0.0 "
                             "opens the page to the network (warns)."),
    weights: str = weights_option(),
    no_browser: bool = typer.Option(False, "--no-browser", help="Do not open a browser."),
    device: str = device_option(),
    threads: int = threads_option(),
) -> None:
    """A local web page: draw and translate, generate, upscale, score leaks, watch runs.

    Needs the demo extra: pip install 'ganctl[demo]'.

    Offline, from the weights cache (or --weights), on 127.0.0.1; Ctrl-C stops it.

    Examples:

      ganctl demo edges2shoes

      ganctl demo horse2zebra --port 8000

      ganctl demo sneakers leaks runs/
    """
    from pathlib import Path

    from ganctl import demo as demo_mod
    from ganctl import registry
    from ganctl.errors import UsageError

    if weights and len(targets) > 1:
        raise UsageError("--weights names one model's weights; give one target with it")
    if not 0 < port < 65536:
        raise UsageError("--port must be between 1 and 65535")
    for t in targets:
        if not Path(t).is_dir():
            registry.get(t)  # unknown names fail here, before the server starts
    demo_mod.serve(targets, host=host, port=port, weights=weights, device=device,
                   open_browser=not no_browser)
