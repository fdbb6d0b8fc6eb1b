"""FLOPs of a training step, and the rate this machine reaches on the nets' own layers.

`step_flops` counts one `Recipe.step` (every forward and backward pass) with
torch.utils.flop_counter, which counts 2 FLOPs per multiply-add of convolutions and
matrix products (what GPUs' and CPUs' peak figures count) and nothing else.

`layer_ceiling` records every convolution and linear layer the step calls, with its
input shape and how often it runs, then times each alone (forward and backward, in the
given precision and memory format). Its rate, the step's layer FLOPs over the summed
isolated times, is what the step would reach if nothing but those layers took time and
each ran as fast as it does alone: the measured peak for these nets' shapes.
"""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from bench.common import timed
from ganctl.training import accel

LAYERS = (nn.Conv1d, nn.Conv2d, nn.ConvTranspose2d, nn.Linear)


def step_flops(recipe, batch: tuple[torch.Tensor, ...]) -> int:
    """FLOPs of one training step (it is taken: the nets change)."""
    with FlopCounterMode(display=False) as counter:
        recipe.step(batch)
    return counter.get_total_flops()


def record_layers(recipe, batch) -> list[tuple[nn.Module, tuple[int, ...], int]]:
    """(layer, input shape, calls per step) for every conv/linear layer one step runs."""
    seen: dict[tuple, list] = {}

    def hook(module, args):
        key = (id(module), tuple(args[0].shape))
        seen.setdefault(key, [module, tuple(args[0].shape), 0])[2] += 1

    handles = [m.register_forward_pre_hook(hook) for net in recipe.nets.values()
               for m in net.modules() if isinstance(m, LAYERS)]
    try:
        recipe.step(batch)
    finally:
        for h in handles:
            h.remove()
    return [tuple(v) for v in seen.values()]


def time_layer(layer: nn.Module, shape, device, precision: str, channels_last: bool,
               reps: int = 5) -> tuple[int, float]:
    """(FLOPs, median seconds) of one forward + backward of `layer` alone."""
    layer = copy.deepcopy(layer).to(device).train()
    x = torch.randn(shape, device=device)
    if channels_last and x.dim() == 4:
        layer = layer.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    x.requires_grad_(True)

    def once():
        with accel.autocast(device, precision):
            y = layer(x)
        y.backward(torch.ones_like(y))

    with FlopCounterMode(display=False) as counter:
        once()
    return counter.get_total_flops(), timed(once, device, reps)


def layer_ceiling(layers, device, precision: str, channels_last: bool) -> dict:
    """The isolated-layer rate of a step's layers (FLOP/s), and its slowest layers."""
    flops = seconds = 0.0
    rows = []
    for layer, shape, calls in layers:
        f, t = time_layer(layer, shape, device, precision, channels_last)
        flops += f * calls
        seconds += t * calls
        rows.append({"layer": repr(layer), "input": list(shape), "calls": calls,
                     "gflop": round(f * calls / 1e9, 3), "ms": round(t * calls * 1e3, 2),
                     "gflop_per_s": round(f / t / 1e9, 1)})
    rows.sort(key=lambda r: -r["ms"])
    return {"flop_per_s": flops / seconds, "layer_seconds": seconds, "slowest": rows[:3]}


def matmul_peak(device, precision: str, n: int = 2048, reps: int = 5) -> float:
    """FLOP/s of a large square matrix product: the machine's best case."""
    dtype = accel.DTYPES.get(precision, torch.float32)
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    return 2 * n**3 / timed(lambda: a @ b, device, reps)
