"""Benchmark: one Adam step over each plugin's nets, by implementation.

Times `optimizer.step()` alone (gradients filled once) for torch's per-parameter loop
(`foreach=False`), its multi-tensor path (`foreach=True`) and its fused kernel
(`fused=True`), interleaved over `--rounds` rounds; the median per implementation.

    python -m bench.optim --json docs/bench/optim.json
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch

from bench.common import provenance, sync, write_json
from ganctl import config, registry
from ganctl.device import resolve

CASES = [("sneakers stage 1 DCGAN", "sneakers", 1, {}),
         ("sneakers stage 1 MLP", "sneakers", 1, {"arch": "mlp"}),
         ("sneakers stage 2", "sneakers", 2, {}),
         ("pix2pix unet_256", "edges2shoes", 1, {}),
         ("faces DCGAN", "faces", 1, {})]
KINDS = {"for-loop": {"foreach": False}, "foreach": {"foreach": True}, "fused": {"fused": True}}


def params_of(name: str, stage: int, sets: dict, device) -> list[torch.nn.Parameter]:
    plugin = registry.get(name)
    cfg = config.build(plugin.config_class(stage), sets)
    recipe = plugin.setup(cfg, plugin.load_data(cfg, "synthetic", stage), stage, device)
    params = [p for net in recipe.nets.values() for p in net.parameters() if p.requires_grad]
    for p in params:
        p.grad = torch.randn_like(p) * 1e-3
    return params


def time_step(opt: torch.optim.Optimizer, device, reps: int = 10) -> float:
    opt.step()
    sync(device)
    t0 = time.perf_counter()
    for _ in range(reps):
        opt.step()
    sync(device)
    return (time.perf_counter() - t0) / reps


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    device = resolve(args.device)
    rows = []
    for label, name, stage, sets in CASES:
        params = params_of(name, stage, sets, device)
        opts = {k: torch.optim.Adam(params, lr=1e-4, **kw) for k, kw in KINDS.items()}
        times: dict[str, list[float]] = {k: [] for k in KINDS}
        for _ in range(args.rounds):
            for k, opt in opts.items():
                times[k].append(time_step(opt, device))
        row = {"case": label, "params": sum(p.numel() for p in params),
               "tensors": len(params),
               **{f"{k}_ms": round(statistics.median(v) * 1e3, 3) for k, v in times.items()}}
        print(row, flush=True)
        rows.append(row)
    write_json({**provenance(device), "rounds": args.rounds, "results": rows}, args.json)


if __name__ == "__main__":
    main()
