"""Errors a user can cause. The CLI turns them into one line on stderr and an exit code."""


class GanctlError(Exception):
    """A failure the user can act on: shown as one line, exit code 1."""

    exit_code = 1


class Stopped(GanctlError):
    """A deliberate stop (Ctrl-C, SIGTERM) that saved its work: reported as a stop, not an
    error, with the shell's exit code for the signal (130 for Ctrl-C)."""

    exit_code = 130


class UsageError(GanctlError):
    """Bad options or arguments: exit code 2."""

    exit_code = 2



def needs_extra(module: str, extra: str, what: str):
    """Import optional `module`, or fail with the pip command that installs it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise GanctlError(f"{what} needs the optional package {module.split('.')[0]}: "
                          f"pip install 'ganctl[{extra}]'") from None
