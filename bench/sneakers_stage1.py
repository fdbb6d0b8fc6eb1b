"""Benchmark: sneakers stage 1 on real Fashion-MNIST sneakers for a fixed CPU budget.

Trains each recipe for the same wall-clock budget, samples 1,000 images, and reports the
Frechet distance to the 1,000 test-set sneakers in the penultimate features of a small
classifier trained on Fashion-MNIST (ganctl.metrics.classifier). Reference points: the
floor (1,000 real training sneakers vs the test sneakers), sandals vs sneakers, the mean
image, and noise.

    python bench/sneakers_stage1.py --minutes 4 --json docs/bench/sneakers-stage1.json
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

from ganctl import checkpoint, weights
from ganctl.data import catalog, layouts
from ganctl.infer.grid import grid_image
from ganctl.metrics.classifier import embed, fashion_classifier
from ganctl.metrics.frechet import fd_from_features
from ganctl.plugins.sneakers import plugin
from ganctl.train import engine

RECIPES = {
    "ganctl default (dcgan, bce)": {},
    "ganctl default + EMA 0.99": {"ema": 0.99},
    "seed original (its nets, lsgan on sigmoid)": {"arch": "original", "loss": "lsgan_sigmoid"},
    "MLP GAN baseline": {"arch": "mlp", "loss": "bce"},
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=4.0)
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--grid", type=Path, help="write the default recipe's 8x8 grid here")
    ap.add_argument("--only", nargs="*", help="recipe names to run (default: all)")
    args = ap.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))

    root = catalog.DEBIAN_FASHION_MNIST
    net, meta = fashion_classifier(root)
    train_x, _ = layouts.fashion_mnist(root, "train", classes=(7,))
    test_x, _ = layouts.fashion_mnist(root, "test", classes=(7,))
    sandals, _ = layouts.fashion_mnist(root, "test", classes=(5,))
    test_f = embed(net, torch.from_numpy(test_x))
    g = torch.Generator().manual_seed(0)
    pick = torch.randperm(len(train_x), generator=g)[: len(test_x)]
    mean_img = torch.from_numpy(train_x).float().mean(0, keepdim=True).expand(len(test_x), -1,
                                                                              -1, -1)
    refs = {
        "floor: 1,000 train sneakers": fd_from_features(
            embed(net, torch.from_numpy(train_x)[pick]), test_f),
        "sandals vs sneakers": fd_from_features(embed(net, torch.from_numpy(sandals)), test_f),
        "mean training image": fd_from_features(embed(net, mean_img.round().to(torch.uint8)),
                                                test_f),
        "uniform noise": fd_from_features(
            embed(net, torch.randint(0, 256, test_x.shape, dtype=torch.uint8, generator=g)),
            test_f),
    }
    results = []
    for name, sets in RECIPES.items():
        if args.only and name not in args.only:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            overrides = {"minutes": args.minutes, "epochs": 0, "log_every": 100,
                         "sample_every": 10**9, "checkpoint_every": 10**9, **sets}
            t0 = time.perf_counter()
            res = engine.train(engine.TrainRequest(
                "sneakers", overrides=overrides, data="fashion-sneakers", device="cpu",
                runs_dir=Path(tmp), publish=False))
            seconds = time.perf_counter() - t0
            payload = weights.inference_payload(checkpoint.load(res.run / "weights.pt"))
            fakes = plugin.generate(payload, list(range(args.samples)), torch.device("cpu"))
            fd = fd_from_features(embed(net, fakes), test_f)
            row = {"recipe": name, "set": sets, "steps": res.step,
                   "epochs": round(res.epoch, 2), "seconds": round(seconds, 1),
                   "images_per_s": round(res.step * 128 / seconds, 1), "fd": round(fd, 3)}
            print(json.dumps(row), flush=True)
            results.append(row)
            if args.grid and name.startswith("ganctl default (dcgan"):
                args.grid.parent.mkdir(parents=True, exist_ok=True)
                grid_image(fakes[:64], 8).save(args.grid)
    doc = {"date": time.strftime("%Y-%m-%d"), "machine": f"{platform.machine()}, "
           f"{torch.get_num_threads()} torch threads, CPU only", "torch": torch.__version__,
           "minutes_per_recipe": args.minutes, "samples": args.samples,
           "extractor": {"name": "fashion-classifier", **{k: meta[k] for k in
                                                          ("test_accuracy", "sha256")}},
           "references": {k: round(v, 3) for k, v in refs.items()}, "results": results}
    print(json.dumps(doc, indent=2))
    if args.json and args.only and args.json.is_file():  # update a partial rerun in place
        old = json.loads(args.json.read_text())
        ran = {r["recipe"] for r in results}
        doc["results"] = [r for r in old["results"] if r["recipe"] not in ran] + results
    write_json(doc, args.json)


if __name__ == "__main__":
    main()
