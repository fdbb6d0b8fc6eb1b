"""Benchmark: sneakers stage 2 (x4 super-resolution) against bicubic on held-out images.

Trains for a fixed CPU budget and reports the last validation PSNR/SSIM of the model and
of bicubic up-sampling on the same held-out images (data range 1.0).

    python bench/sneakers_stage2.py --minutes 5 --json docs/bench/sneakers-stage2.json
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import torch
from common import write_json

from ganctl.train import engine
from ganctl.train.stats import read

RUNS = {
    "synthetic sneakers 28 -> 112, SRResNet (MSE warm-up only)": (
        "synthetic", {"warmup_steps": 10**9}),
    "synthetic sneakers 28 -> 112, SRGAN (300 warm-up steps, then adversarial)": (
        "synthetic", {"warmup_steps": 300}),
    "Fashion-MNIST sneakers 7 -> 28, SRResNet (MSE warm-up only)": (
        "fashion-sneakers", {"hr_size": 28, "warmup_steps": 10**9, "batch_size": 64}),
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=5.0)
    ap.add_argument("--blocks", type=int, default=8, help="generator residual blocks")
    ap.add_argument("--width", type=int, default=32)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    results = []
    for name, (data, sets) in RUNS.items():
        with tempfile.TemporaryDirectory() as tmp:
            overrides = {"minutes": args.minutes, "epochs": 0, "n_blocks": args.blocks,
                         "width": args.width, "content": "pixel", "log_every": 50,
                         "sample_every": 200, "checkpoint_every": 10**9, **sets}
            t0 = time.perf_counter()
            res = engine.train(engine.TrainRequest("sneakers", stage=2, overrides=overrides,
                                                   data=data, device="cpu",
                                                   runs_dir=Path(tmp), publish=False))
            val = [r for r in read(res.run / "stats.jsonl") if "val_psnr" in r][-1]
            row = {"run": name, "set": sets, "steps": res.step,
                   "seconds": round(time.perf_counter() - t0, 1),
                   **{k: round(v, 3) for k, v in val.items() if k.startswith("val_")}}
            print(json.dumps(row), flush=True)
            results.append(row)
    doc = {"date": time.strftime("%Y-%m-%d"), "machine": f"{platform.machine()}, CPU only",
           "torch": torch.__version__, "minutes_per_run": args.minutes,
           "generator": {"n_blocks": args.blocks, "width": args.width},
           "content_loss": "pixel (no ImageNet VGG19 weights offline)", "results": results}
    print(json.dumps(doc, indent=2))
    write_json(doc, args.json)


if __name__ == "__main__":
    main()
