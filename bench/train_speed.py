"""Benchmark: compute-only training step time of the larger architectures.

Times real training steps with data loading excluded (batches are drawn first) on
synthetic data, in each plugin's default precision and memory format. `vs_reference.py`
measures whole training loops, data included; `inference.py` measures translate latency.

    python -m bench.train_speed --json docs/bench/train-speed.json [--device cuda]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from bench.common import provenance, sync, write_json
from ganctl import config, registry
from ganctl.data.batches import BatchStream
from ganctl.device import resolve
from ganctl.training import accel

CASES = [
    ("pix2pix unet_256, batch 1, 256 px", "edges2shoes", {"batch_size": 1, "workers": 0}),
    ("CycleGAN res-6, batch 1, 128 px", "horse2zebra", {"image_size": 128, "workers": 0}),
    ("CycleGAN res-9, batch 1, 256 px", "horse2zebra", {"image_size": 256, "workers": 0}),
    ("faces DCGAN G + DCGAN D, batch 64", "faces", {"batch_size": 64}),
    ("faces CSP G + ResNet D, batch 64", "faces", {"batch_size": 64, "arch_g": "csp",
                                                   "arch_d": "resnet"}),
]


def time_steps(name: str, sets: dict, device, steps: int) -> dict:
    plugin = registry.get(name)
    cfg = config.build(plugin.config_class(1), sets)
    data = plugin.load_data(cfg, "synthetic", 1)
    recipe = plugin.setup(cfg, data, 1, device)
    precision = accel.resolve_precision(cfg.precision, device)
    it = iter(BatchStream(data.train, cfg.batch_size, 0, device, 0))
    batches = [next(it) for _ in range(steps + 2)]
    if cfg.channels_last:
        accel.channels_last(recipe.nets.values())
        batches = [accel.to_channels_last(b) for b in batches]

    def step(b):
        with accel.autocast(device, precision):
            recipe.step(b)

    for b in batches[:2]:  # warm-up
        step(b)
    sync(device)
    t0 = time.perf_counter()
    for b in batches[2:]:
        step(b)
    sync(device)
    seconds = (time.perf_counter() - t0) / steps
    g = recipe.nets.get("g") or recipe.nets["g_a"]
    params = sum(p.numel() for p in g.parameters())
    return {"steps_per_s": round(1 / seconds, 3), "seconds_per_step": round(seconds, 3),
            "generator_params": params, "precision": precision,
            "channels_last": cfg.channels_last}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    device = resolve(args.device)
    torch.manual_seed(0)
    rows = []
    for label, name, sets in CASES:
        row = {"case": label, **time_steps(name, sets, device, args.steps)}
        row["images_per_s"] = round(row["steps_per_s"] * sets.get("batch_size", 1), 2)
        print(json.dumps(row), flush=True)
        rows.append(row)
    doc = {**provenance(device), "timed_steps": args.steps, "results": rows}
    print(json.dumps(doc, indent=2))
    write_json(doc, args.json)


if __name__ == "__main__":
    main()
