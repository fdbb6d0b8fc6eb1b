"""Helpers the benchmark scripts share (run them as `python bench/NAME.py`)."""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path

import torch


def sync(device: torch.device) -> None:
    """Wait for queued GPU work, so wall-clock timings are honest."""
    if device.type == "cuda":
        torch.cuda.synchronize()


def provenance(device: torch.device) -> dict:
    """Date, device, machine and torch version of a result file."""
    return {"date": time.strftime("%Y-%m-%d"), "device": str(device),
            "machine": f"{platform.machine()}, {torch.get_num_threads()} torch threads",
            "torch": torch.__version__}


def write_json(doc: dict, path: Path | None) -> None:
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(doc, indent=2) + "\n")
