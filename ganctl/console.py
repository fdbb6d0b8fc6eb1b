"""Where people-facing output goes: stderr, so stdout stays clean for pipes and --json."""

from __future__ import annotations

from contextlib import contextmanager
from functools import cache

from rich.console import Console

#: Set on ranks other than 0 of a distributed run: info and warnings are dropped.
QUIET = False


@cache
def err() -> Console:
    return Console(stderr=True, highlight=False)


def safe(text: str) -> str:
    """Text any terminal can take: undecodable bytes of file names (held as surrogates)
    are shown as \\xNN escapes instead of failing the write."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def info(msg: str) -> None:
    if QUIET:
        return
    err().print(safe(msg), markup=False, soft_wrap=True)


def warn(msg: str) -> None:
    if QUIET:
        return
    err().print(f"warning: {safe(msg)}", style="yellow", markup=False, soft_wrap=True)


def error(msg: str) -> None:
    err().print(f"error: {safe(msg)}", style="red", markup=False, soft_wrap=True)


@contextmanager
def quiet_unless(main: bool):
    """Ranks other than 0 of a distributed run print errors only."""
    global QUIET
    before = QUIET
    QUIET = before or not main
    try:
        yield
    finally:
        QUIET = before
