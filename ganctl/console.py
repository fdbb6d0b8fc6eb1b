"""Where people-facing output goes: stderr, so stdout stays clean for pipes and --json."""

from __future__ import annotations

from functools import cache

from rich.console import Console


@cache
def err() -> Console:
    return Console(stderr=True, highlight=False)


def info(msg: str) -> None:
    err().print(msg, markup=False, soft_wrap=True)


def warn(msg: str) -> None:
    err().print(f"warning: {msg}", style="yellow", markup=False, soft_wrap=True)
