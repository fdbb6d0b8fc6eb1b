"""Run folders: runs/<plugin>[-stage<N>]/<NNNNN>-<desc>/ with config, stats, samples,
checkpoints. Numbers are claimed with an exclusive mkdir, so concurrent runs never share."""

from __future__ import annotations

import re
from pathlib import Path

from ganctl import checkpoint
from ganctl.errors import GanctlError

RUN_RE = re.compile(r"^(\d{5})-")


def group_dir(root: Path, plugin: str, stage: int, stages: int) -> Path:
    return Path(root) / (f"{plugin}-stage{stage}" if stages > 1 else plugin)


def new_run(group: Path, desc: str) -> Path:
    group.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", desc).strip("-")[:60] or "run"
    for _ in range(1000):
        taken = [int(m.group(1)) for p in group.iterdir() if (m := RUN_RE.match(p.name))]
        path = group / f"{max(taken, default=-1) + 1:05d}-{safe}"
        try:
            path.mkdir()
        except FileExistsError:
            continue
        for sub in ("samples", "checkpoints"):
            (path / sub).mkdir()
        return path
    raise GanctlError(f"could not claim a new run folder in {group}")


def latest_run(group: Path) -> Path | None:
    """The highest-numbered run in `group` that has a checkpoint."""
    if not group.is_dir():
        return None
    runs = sorted((p for p in group.iterdir()
                   if RUN_RE.match(p.name) and checkpoint.training_files(p)), reverse=True)
    return runs[0] if runs else None
