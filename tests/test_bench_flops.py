"""bench/flops.py: the FLOP counts and layer records behind docs/performance.md's
share-of-peak column."""

from __future__ import annotations

import torch
from torch import nn

from bench import flops


class TwoLayers:
    """A recipe-shaped object: nets and a step that runs D twice and G once."""

    def __init__(self):
        self.nets = {"g": nn.Linear(64, 32, bias=False), "d": nn.Linear(32, 1, bias=False)}

    def step(self, batch):
        (x,) = batch
        fake = self.nets["g"](x)
        loss = self.nets["d"](fake).mean() + self.nets["d"](fake.detach()).mean()
        loss.backward()
        return {"loss": loss.detach()}


def test_step_flops_count_forward_and_backward_products():
    b = 16
    fwd_g, fwd_d = 2 * b * 64 * 32, 2 * b * 32
    # backward: G's weight gradient (its input needs none), D's input and weight gradients
    # on each of its two calls (the detached one still needs D's weight gradient)
    expected = fwd_g + 2 * fwd_d + fwd_g + 2 * fwd_d + fwd_d
    got = flops.step_flops(TwoLayers(), (torch.randn(b, 64),))
    assert got == expected


def test_layers_are_recorded_with_their_shapes_and_calls_and_timed():
    layers = flops.record_layers(TwoLayers(), (torch.randn(16, 64),))
    shapes = sorted((tuple(s), n) for _, s, n in layers)
    assert shapes == [((16, 32), 2), ((16, 64), 1)]
    out = flops.layer_ceiling(layers, torch.device("cpu"), "fp32", False)
    assert out["flop_per_s"] > 0 and out["layer_seconds"] > 0
    assert {r["calls"] for r in out["slowest"]} == {1, 2}
