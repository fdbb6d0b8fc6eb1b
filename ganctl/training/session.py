"""What one training run holds while it trains, and what resolving a request found.

The engine fills a `Session` section by section; snapshot.py, runlog.py and resume.py
read it. Plugins sit above this layer, so a plugin is typed by what the engine calls on
it, not by its class.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ganctl.config import TrainConfig
from ganctl.data.batches import BatchStream
from ganctl.data.sources import FolderPair, TrainData
from ganctl.training.dist import Dist
from ganctl.training.ema import EMA
from ganctl.training.recipe import Recipe


@dataclass
class Resolved:
    """A training request resolved: the plugin, its config, the data spec, and for a
    resumed run the checkpoint it continues from with its contents (read once)."""

    plugin: Any  # a registry.Plugin
    cfg: TrainConfig
    data_spec: str | FolderPair
    checkpoint: Path | None = None
    state: dict[str, Any] | None = None


@dataclass
class Session:
    plugin: Any  # a registry.Plugin
    stage: int
    cfg: TrainConfig
    data_spec: str | FolderPair  # --data as given: a name, a folder, or two folders
    ddp: Dist
    device: torch.device
    data: TrainData | None = None
    recipe: Recipe | None = None
    emas: dict[str, EMA] = field(default_factory=dict)
    stream: BatchStream | None = None
    run: Path | None = None
    step: int = 0
    elapsed_before: float = 0.0  # training seconds of earlier sessions of this run
    acc: dict[str, torch.Tensor] = field(default_factory=dict)  # loss sums since the last log
    acc_n: dict[str, int] = field(default_factory=dict)
    wandb_id: str | None = None
    config_doc: dict[str, Any] = field(default_factory=dict)  # what config.json holds
