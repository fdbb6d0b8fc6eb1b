"""What every inference verb says about the weights it used: one stderr line for people,
a `weights` object for `--json`, the same text on the demo page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ganctl import checkpoint
from ganctl.weights import bundled
from ganctl.weights.record import Weights


def record(w: Weights, plugin=None) -> dict[str, Any]:
    """The `weights` object of `--json`: source kind, name or path, step, sha256."""
    path = Path(w.path) if w.path else None
    out: dict[str, Any] = {"kind": w.origin, "path": str(path) if path else None,
                           "name": _name(w), "plugin": w.plugin or None,
                           "stage": w.stage, "step": w.step, "run": w.run,
                           "sha256": checkpoint.sha256_of(path) if path and path.is_file()
                           else None}
    check = plugin.baseline_check(w) if plugin is not None else None
    if check is not None:
        out["check"] = {"passed": check[0], "measured": check[1]}
    source = w.source
    if source and not isinstance(source, str):
        out["source"] = source
    elif isinstance(source, str) and not source.startswith(bundled.PREFIX):
        out["source"] = source
    return out


def line(w: Weights, plugin=None) -> str:
    """One line for stderr: which weights, how they got here, and the way to the others."""
    name, stage = (plugin.name if plugin else w.plugin or "?"), w.stage
    ships = None
    if plugin is not None:
        from ganctl.weights.choice import shipped

        ships = shipped(plugin, stage)
    other = ""
    if ships is not None and w.origin not in ("bundled", "published"):
        alt = f"bundled:{ships.name}" if ships.kind == "bundled" else "pretrained"
        other = f"; --weights {alt} for the shipped one"
    step = f"step {w.step}" if w.step is not None else ""
    check = plugin.baseline_check(w) if plugin is not None else None
    facts = ", ".join(x for x in (step, check[1] if check else "") if x)
    facts = f" ({facts})" if facts else ""
    if w.origin == "bundled":
        return (f"weights: bundled {_name(w)}, shipped with ganctl (card: `ganctl models "
                f"inspect bundled:{_name(w)}`)")
    if w.origin == "published":
        return f"weights: the published {_name(w)} generator, cached at {w.path}"
    if w.origin == "yours":
        run = w.run
        what = f"your run {run}" if run else f"your {w.path}"
        reset = f"; `ganctl models reset {name}` goes back" if ships is not None else ""
        return f"weights: {what}{facts}, the default for {name}{other}{reset}"
    if w.origin == "hub" and isinstance(w.source, dict):
        return f"weights: {w.source.get('url')} at {w.source.get('commit')}{facts} (--weights)"
    return f"weights: {w.path or 'made in memory'}{facts} (--weights){other}"


def _name(w: Weights) -> str:
    source = w.source
    if isinstance(source, str) and source.startswith(bundled.PREFIX):
        return source.removeprefix(bundled.PREFIX)
    if w.origin == "published" and w.path:
        return Path(w.path).stem.removeprefix("pretrained-")
    return Path(w.path).stem if w.path else ""
