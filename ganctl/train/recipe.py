"""The part of training a plugin writes: nets, optimisers and one step.

The engine owns everything else (data order, logging, EMA, checkpoints, resume,
signals, publishing), so a recipe reads top to bottom as the algorithm it is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn


class Recipe:
    """Subclass and fill `nets` and `optimizers` in `__init__`; implement `step`."""

    #: nets whose exponential moving average the engine keeps when `cfg.ema > 0`
    ema_nets: tuple[str, ...] = ()
    #: nets published to the weights cache for inference
    export_nets: tuple[str, ...] = ("g",)

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
        """Called after every full pass over the data (LR schedules step here)."""
        for sched in self.schedulers.values():
            sched.step()

    def learning_rates(self) -> dict[str, float]:
        return {f"lr_{name}": opt.param_groups[0]["lr"] for name, opt in self.optimizers.items()}

    def state_dict(self) -> dict[str, Any]:
        """Extra training state beyond nets/optimisers/schedulers (e.g. an image pool)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass


def to_unit(x: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float [-1, 1] on the same device."""
    return x.float().div_(127.5).sub_(1.0)


def from_unit(x: torch.Tensor) -> torch.Tensor:
    """float [-1, 1] -> uint8 [0, 255]."""
    return x.detach().clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8)


def fixed_noise(n: int, dim: int, seed: int, device: torch.device) -> torch.Tensor:
    """Noise drawn from its own generator, so sampling never moves the training RNG."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, dim, generator=g).to(device)


class LinearDecay:
    """The pix2pix/CycleGAN schedule: lr factor 1 for `n_epochs`, then linearly to 0 over
    `n_decay` epochs: 1 - max(0, epoch + 1 - n_epochs) / (n_decay + 1)."""

    def __init__(self, n_epochs: int, n_decay: int):
        self.n_epochs, self.n_decay = n_epochs, n_decay

    def __call__(self, epoch: int) -> float:
        return 1.0 - max(0, epoch + 1 - self.n_epochs) / float(self.n_decay + 1)


def random_crop_flip(tensors: tuple[torch.Tensor, ...], crop: int, flip: bool):
    """The same random crop (and horizontal flip) for every tensor of a sample, drawn per
    sample from the global RNG (so it is part of the resumable training state)."""
    n, _, h, w = tensors[0].shape
    ys = torch.randint(0, h - crop + 1, (n,)).tolist()
    xs = torch.randint(0, w - crop + 1, (n,)).tolist()
    flips = (torch.rand(n) < 0.5).tolist() if flip else [False] * n
    out = []
    for t in tensors:
        parts = [t[i:i + 1, :, y:y + crop, x:x + crop] for i, (y, x) in enumerate(zip(ys, xs))]
        parts = [p.flip(-1) if f else p for p, f in zip(parts, flips)]
        out.append(torch.cat(parts))
    return out
