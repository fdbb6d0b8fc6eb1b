"""Weights that ship inside the package, so the headline commands work offline right
after `pip install`: fp16 safetensors files, each with a model card (`NAME.md`: data,
licence, steps, scores), made by `python -m tools.bundle` (photo-x4: `python -m
bench.upscaler`).

A name uses these until a run passes its check against them, or the user chooses other
weights with `ganctl models use` (`ganctl.weights.choice`); `--weights bundled:NAME`
names one explicitly.
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
PREFIX = "bundled:"


def path(name: str) -> Path | None:
    """The file of bundled weights `name`, or None when this install has no such file."""
    p = HERE / f"{name}.safetensors"
    return p if p.is_file() else None


def names() -> list[str]:
    return sorted(p.stem for p in HERE.glob("*.safetensors"))


def card(name: str) -> str:
    p = HERE / f"{name}.md"
    return p.read_text() if p.is_file() else ""


def used_by(name: str) -> str:
    """The card's "Used by" line: what these weights stand in for."""
    line = next((ln for ln in card(name).splitlines() if ln.startswith("- Used by:")), "")
    return line.removeprefix("- ")
