"""Exponential moving average of a net's weights, with a warm-up and its own batch-norm
statistics.

- Warm-up (StyleGAN2-ADA's ramp): step t averages with decay min(decay, 0.5 ** (1 / (0.05 t))),
  so the average's half-life is at most 5 % of the steps so far: it forgets the random
  initialisation at once instead of keeping e.g. 37 % of it after 1,000 steps at decay
  0.999, and never lags far behind a generator that is still improving fast. (A slower
  ramp, (1 + t) / (10 + t), left the average 9 % worse than the raw generator after 100
  steps; `test_the_ema_generator_is_ahead_at_20_steps_and_no_worse_on_average`.)
- Batch norm: the raw net's running statistics do not describe the averaged weights'
  activations, so `recalibrate` recomputes them on the averaged net itself (the engine
  calls it before the EMA net samples, validates or is published).
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch
from torch import nn

NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
RAMPUP = 0.05  # the average's half-life, as a share of the steps so far, during warm-up


class EMA:
    def __init__(self, net: nn.Module, decay: float):
        self.decay = decay
        self.net = copy.deepcopy(net).eval().requires_grad_(False)
        self.version = 0  # bumped by every change of the weights
        self.calibrated = -1  # the version whose batch-norm statistics were recomputed

    def decay_at(self, step: int) -> float:
        """The decay used by the update after optimisation step `step` (1-based)."""
        return min(self.decay, 0.5 ** (1.0 / (RAMPUP * max(step, 1))))

    @torch.no_grad()
    def update(self, net: nn.Module, step: int) -> None:
        ema_params = list(self.net.parameters())
        params = [p.detach() for p in net.parameters()]
        torch._foreach_lerp_(ema_params, params, 1.0 - self.decay_at(step))
        for b_ema, b in zip(self.net.buffers(), net.buffers()):
            b_ema.copy_(b)
        self.version += 1

    def state_dict(self):
        return self.net.state_dict()

    def load_state_dict(self, state) -> None:
        self.net.load_state_dict(state)
        self.version += 1

    def recalibrate(self, inputs: Callable[[int], torch.Tensor | None]) -> None:
        """`recalibrate` the averaged net, once per version of its weights (sampling,
        validating and publishing at one step share the result: it is deterministic)."""
        if self.calibrated != self.version:
            recalibrate(self.net, inputs)
            self.calibrated = self.version


@torch.no_grad()
def recalibrate(net: nn.Module, inputs: Callable[[int], torch.Tensor | None],
                batches: int = 8) -> None:
    """Recompute every batch-norm layer's running mean and variance of `net` as the
    average over `batches` forward passes of `inputs(i)`; other state is untouched and
    the net is left in eval mode. `inputs` returning None means nothing to do."""
    norms = [m for m in net.modules() if isinstance(m, NORMS) and m.track_running_stats]
    first = inputs(0) if norms else None
    if first is None:
        return
    saved = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the passes
    net.train()
    try:
        for i in range(batches):
            net(first if i == 0 else inputs(i))
    finally:
        for m, mom in zip(norms, saved):
            m.momentum = mom
        net.eval()
