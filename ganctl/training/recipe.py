"""The part of training a plugin writes: nets, optimisers and one step.

The engine owns everything else (data order, logging, EMA, checkpoints, resume,
signals, publishing), so a recipe reads top to bottom as the algorithm it is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from ganctl.console import info


class Recipe:
    """Subclass and fill `nets` and `optimizers` in `__init__`; implement `step`."""

    #: nets whose exponential moving average the engine keeps when `cfg.ema > 0`
    ema_nets: tuple[str, ...] = ()
    #: nets published to the weights cache for inference
    export_nets: tuple[str, ...] = ("g",)
    #: images per row of the sample grid (None: square)
    grid_nrow: int | None = None

    def __init__(self, cfg, data, device: torch.device):
        self.cfg = cfg
        self.data = data
        self.device = device
        self.nets: dict[str, nn.Module] = {}
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        self.schedulers: dict[str, Any] = {}
        # Set by the engine: fp16 loss scalers and the gradient averaging of
        # distributed runs, both applied by `update`.
        self.scalers: dict[str, torch.amp.GradScaler] = {}
        self.grad_sync = None
        self.precision = "fp32"  # what the run computes in (`--precision auto` resolved)
        self.updates = 0

    def arch(self) -> dict[str, dict[str, Any]]:
        """{net name: {"name": registered net name, "kwargs": {...}}} for rebuilding."""
        raise NotImplementedError

    def preprocess(self) -> dict[str, Any]:
        """How inputs/outputs are scaled: size, channels, value range."""
        info = self.data.info
        return {"size": list(info.size), "channels": info.channels, "range": [-1.0, 1.0]}

    def step(self, batch: tuple[torch.Tensor, ...]) -> dict[str, torch.Tensor]:
        """One optimisation step on a batch of uint8 tensors already on the device.

        Return detached scalar tensors (losses, diagnostics); the engine averages them
        over the logging interval without forcing a device sync every step.
        """
        raise NotImplementedError

    def update(self, loss: torch.Tensor, name: str, inspect=None):
        """Backpropagate `loss` and step optimiser `name`: zero grads, backward (fp16 loss
        scaling when on), average gradients across processes (distributed runs), unscale,
        then `inspect()` (e.g. a gradient norm; its value is returned) and the step."""
        opt, scaler = self.optimizers[name], self.scalers.get(name)
        opt.zero_grad(set_to_none=True)
        with torch.autocast(self.device.type, enabled=False):
            (scaler.scale(loss) if scaler else loss).backward()
            if self.grad_sync is not None:
                self.grad_sync(opt)
            if scaler:
                scaler.unscale_(opt)
            out = inspect() if inspect else None
            if scaler:
                scaler.step(opt)
                scaler.update()
            else:
                opt.step()
        self.updates += 1
        return out

    def samples(self, nets: dict[str, nn.Module]) -> torch.Tensor:
        """A fixed grid of images in [-1, 1] (N, C, H, W) for samples/, from `nets`
        (the EMA copies when EMA is on). Must not change any RNG state."""
        raise NotImplementedError

    def ema_inputs(self, name: str, index: int) -> torch.Tensor | None:
        """Input batch `index` for net `name`'s EMA copy to recompute its batch-norm
        statistics on (drawn from its own seeded generator: no RNG state may move), or
        None when the net has no batch norm or takes no generated input."""
        return None

    def ema_age(self, step: int) -> int:
        """How many steps the EMA has averaged after optimisation step `step`. Its warm-up
        ramp restarts where it returns 1: a recipe whose objective changes mid-run (a
        pixel-loss warm-up, then an adversarial phase) should not publish an average of
        the old objective's weights."""
        return step

    def validate(self, nets: dict[str, nn.Module]) -> dict[str, float]:
        """Scores on held-out data, logged as their own stats.jsonl row at each sample
        interval (eval mode, no grad). Must not change any RNG state."""
        return {}

    def meta(self) -> dict[str, Any]:
        """Facts about this run decided at setup (e.g. which content loss was available),
        recorded in config.json and every checkpoint."""
        return {}

    def finish(self, nets: dict[str, nn.Module], run: Path) -> None:
        """Called once after the last step, before the weights are written (eval mode, no
        grad): e.g. calibrate a threshold that `meta()` then records, or write end-of-run
        deliverables into the run folder `run`."""

    def end_epoch(self, epoch: int) -> None:
        """Called after every full pass over the data (LR schedules step here). Says so
        once when the schedules have run out: every rate 0, further steps change nothing."""
        before = self.learning_rates()
        for sched in self.schedulers.values():
            sched.step()
        if self.schedulers and any(before.values()) and not any(self.learning_rates().values()):
            info(f"the learning-rate schedule ended with epoch {epoch + 1}: every rate is 0 "
                 "now, so further steps change nothing (raise n_epochs or n_epochs_decay to "
                 "train longer)")

    def learning_rates(self) -> dict[str, float]:
        return {f"lr_{name}": opt.param_groups[0]["lr"] for name, opt in self.optimizers.items()}

    def state_dict(self) -> dict[str, Any]:
        """Extra training state beyond nets/optimisers/schedulers (e.g. a buffer of past fakes)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass
