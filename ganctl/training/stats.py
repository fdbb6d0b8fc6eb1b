"""stats.jsonl: one JSON object per logging interval, appended and flushed."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from ganctl.checkpoint import atomic_write


def read(path: Path, warn=None) -> list[dict[str, Any]]:
    """All parseable lines; a torn or malformed line is skipped (and reported via `warn`)."""
    rows = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError:
                if warn:
                    warn(f"{path}:{n}: skipped a malformed line")
                continue
            if isinstance(row, dict):
                rows.append(row)
    return rows


class StatsWriter:
    def __init__(self, path: Path, resume_step: int | None = None):
        self.path = Path(path)
        if resume_step is not None and self.path.exists():
            self._truncate_after(resume_step)
        self.file = open(self.path, "a", encoding="utf-8")

    def _truncate_after(self, step: int) -> None:
        """Drop lines logged after the checkpoint we resume from (and any torn tail)."""
        keep = [r for r in read(self.path) if r.get("step", 0) <= step]
        text = "".join(json.dumps(r) + "\n" for r in keep).encode()
        atomic_write(self.path, lambda f: f.write(text))  # a kill now keeps the old file

    def write(self, row: dict[str, Any]) -> None:
        clean = {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                 for k, v in row.items()}
        self.file.write(json.dumps(clean) + "\n")
        self.file.flush()

    def close(self) -> None:
        self.file.close()
