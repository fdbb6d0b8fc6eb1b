"""The `ganctl` command: a Typer app with one module per verb.

Nothing here imports torch at module level, so `ganctl --help` is instant; each verb
imports the library inside its function.
"""

from __future__ import annotations

import importlib
import os
import sys

import typer

from ganctl import __version__
from ganctl.cli.common import group_help_option

app = typer.Typer(
    name="ganctl",
    help="Train, sample and apply classic GANs: DCGAN, SRGAN, pix2pix, CycleGAN, and a VAE "
         "anomaly detector.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: no import of the Rich help renderer per call
    context_settings={"help_option_names": ["-h", "--help"]},
)
_state: dict = {"debug": False, "argv": []}


def command_line() -> list[str]:
    """The arguments this run of `ganctl` was given (after the program name)."""
    return list(_state["argv"])


def _version(value: bool) -> None:
    if value:
        typer.echo(f"ganctl {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    _: bool = group_help_option(),
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks on errors.",
                               show_default=False),
    offline: bool = typer.Option(False, "--offline", show_default=False,
                                 help="Never touch the network (as GANCTL_OFFLINE=1 does): "
                                      "no dataset, weights or feature-network download; "
                                      "each says what to fetch elsewhere."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit.", show_default=False),
) -> None:
    """Train, sample and apply classic GANs from one command line.

    Run `ganctl VERB --help` for a verb's options and examples.
    """
    if debug:
        _state["debug"] = True
    if offline:
        os.environ["GANCTL_OFFLINE"] = "--offline"  # so errors name the flag


# Register the verbs, in the order --help lists them (each module adds its command).
for _verb in ("train_cmd", "sample_cmd", "infer_cmd", "evaluate_cmd", "data_cmd", "plot_cmd",
              "models_cmd", "choose_cmd", "share_cmd", "demo_cmd"):
    importlib.import_module(f"ganctl.cli.{_verb}")


def expand_sets(argv: list[str]) -> list[str]:
    """Let one --set take several pairs: `--set a=1 b=2` -> `--set a=1 --set b=2`."""
    out: list[str] = []
    after_set = False  # the previous argument was a --set value
    for i, arg in enumerate(argv):
        if after_set and "=" in arg and not arg.startswith("-"):
            out += ["--set", arg]
            continue
        after_set = i > 0 and argv[i - 1] == "--set"
        out.append(arg)
    return out


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app; turn user errors into one line and an exit code."""
    from ganctl.errors import GanctlError, Stopped

    args = expand_sets(sys.argv[1:] if argv is None else list(argv))
    _state["argv"] = args
    _state["debug"] = os.environ.get("GANCTL_DEBUG", "") not in ("", "0")
    try:
        app(args=args, prog_name="ganctl")
    except GanctlError as e:
        if _state["debug"]:
            raise
        _error_line(str(e), "stopped" if isinstance(e, Stopped) else "error")
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        _error_line("interrupted by Ctrl-C", "stopped")
        sys.exit(130)
    except BrokenPipeError:
        # The reader of our stdout went away (`ganctl ... | head`): not an error.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(0)
    except Exception as e:  # noqa: BLE001 - last resort: no traceback unless --debug
        if _state["debug"]:
            raise
        _error_line(f"internal error: {type(e).__name__}: {e} (run with --debug for the "
                    "traceback, and please report it)")
        sys.exit(1)


def _error_line(msg: str, what: str = "error") -> None:
    from ganctl.console import safe

    first = msg.strip().splitlines()[0] if msg.strip() else "failed"
    sys.stderr.write(f"ganctl: {what}: {safe(first)}\n")
    sys.stderr.flush()
