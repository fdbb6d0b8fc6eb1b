"""Benchmark: the leaks VAE on real data, Fashion-MNIST with sneakers as "normal".

Writes Fashion-MNIST in the leaks layout (train/ = training sneakers, proliv/ = 150
training images of other classes as the known leaks, test/imgs + test_annotation.txt =
the 1,000 test sneakers and 200 test images of each other class), trains with defaults
scaled to 32 px grayscale, and reports ROC AUC per anomaly class plus the confusion
matrix at the calibrated threshold, for each score (feature, mse, elbo).

    python bench/leaks_fashion.py --epochs 15 --json docs/bench/leaks-fashion.json
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from common import write_fashion_leaks, write_json
from PIL import Image

from ganctl import checkpoint, registry, weights
from ganctl.metrics import detection
from ganctl.plugins.leaks import plugin
from ganctl.train import engine

CLASSES = ["T-shirt/top", "trouser", "pullover", "dress", "coat", "sandal", "shirt",
           "sneaker", "bag", "ankle boot"]


def write_layout(root: Path) -> dict[str, int]:
    """Every test sneaker, and 200 random test images of each other class."""
    return write_fashion_leaks(root, {c: None if c == 7 else 200 for c in range(10)})


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=float, default=15)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    out = {"date": time.strftime("%Y-%m-%d"), "machine": "x86_64, 2 cores, CPU only",
           "torch": torch.__version__, "epochs": args.epochs, "scores": {}}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "fashion-leaks"
        kinds = write_layout(root)
        for score in ("feature", "mse", "elbo"):
            sets = {"image_size": 32, "channels": 1, "epochs": args.epochs, "score": score,
                    "log_every": 100, "sample_every": 500, "checkpoint_every": 10**9}
            t0 = time.perf_counter()
            res = engine.train(engine.TrainRequest(registry.get("leaks"),
                                                   overrides=sets, data=str(root),
                                                   device="cpu", runs_dir=Path(tmp) / "runs",
                                                   publish=False))
            w = weights.inference_payload(checkpoint.load(res.run / "weights.pt"))
            fn, meta, _ = plugin.detector(w, torch.device("cpu"))
            names = sorted(kinds)
            imgs = [Image.open(root / "test" / "imgs" / n).convert("L") for n in names]
            scores = np.concatenate([fn(imgs[i:i + 512])[0] for i in range(0, len(imgs), 512)])
            cls = np.array([kinds[n] for n in names])
            normal = scores[cls == 7]
            per_class = {CLASSES[c]: round(detection.roc_auc(
                [0] * len(normal) + [1] * int((cls == c).sum()),
                np.r_[normal, scores[cls == c]]), 4) for c in range(10) if c != 7}
            rep = detection.report((cls != 7).astype(int), scores, meta["threshold"])
            row = {"threshold_rule": meta["rule"], "threshold": meta["threshold"],
                   "train_seconds": round(time.perf_counter() - t0, 1), "steps": res.step,
                   "roc_auc_all": round(rep["roc_auc"], 4), "pr_auc_all": round(rep["pr_auc"], 4),
                   "roc_auc_per_class": per_class, "confusion": rep["confusion"],
                   "accuracy": round(rep["accuracy"], 4),
                   "leak_precision": round(rep["classes"]["leak"]["precision"], 4),
                   "leak_recall": round(rep["classes"]["leak"]["recall"], 4)}
            print(json.dumps({score: row}), flush=True)
            out["scores"][score] = row
    print(json.dumps(out, indent=2))
    write_json(out, args.json)


if __name__ == "__main__":
    main()
