"""Benchmark: the leaks VAE on real data, Fashion-MNIST with sneakers as "normal".

Writes Fashion-MNIST in the leaks layout (train/ = training sneakers, proliv/ = 150
training images of other classes as the known leaks, test/imgs + test_annotation.txt =
the 1,000 test sneakers and 200 test images of each other class; `--layout lookalike`:
proliv/ and test/ hold only the footwear that looks like sneakers, sandals and ankle
boots, 1,000 test images of each), trains as a new user
would (`ganctl train leaks --data DIR --minutes 3`: the shipping defaults, a time budget)
for each seed, and reports, per score, ROC AUC overall and per anomaly class and the
confusion matrix, recall and precision at the threshold calibrated on proliv/; median and
range over the seeds. `--split val` scores on held-out training images instead (the split
defaults are chosen on).

    python -m bench.leaks_fashion --json docs/bench/leaks-fashion.json
    python -m bench.leaks_fashion --split val --set image_size=32     # choosing defaults
    python -m bench.leaks_fashion --layout lookalike --against leak_weight=0 \
        --json docs/bench/leaks-lookalike.json

With `--against KEY=VALUE ...`, each seed also trains those settings, right after the
defaults (interleaved, so machine noise hits both alike).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

import ganctl
from bench.common import provenance, write_fashion_leaks, write_json
from bench.stats import spread
from ganctl import config
from ganctl.metrics import detection

CLASSES = ["T-shirt/top", "trouser", "pullover", "dress", "coat", "sandal", "shirt",
           "sneaker", "bag", "ankle boot"]


LOOKALIKE = (5, 9)  # sandal, ankle boot


def write_layout(root: Path, split: str, layout: str = "all") -> dict[str, int]:
    """Every test sneaker, and 200 random test images of each other class (lookalike:
    1,000 sandals and 1,000 ankle boots, and proliv/ drawn from those two classes)."""
    if layout == "lookalike":
        return write_fashion_leaks(root, {7: None, **{c: 1000 for c in LOOKALIKE}}, split,
                                   proliv_classes=LOOKALIKE)
    return write_fashion_leaks(root, {c: None if c == 7 else 200 for c in range(10)}, split)


def run(root: Path, kinds: dict[str, int], sets: dict, runs: Path) -> dict:
    """Train once with `sets` and score the test images through the trained detector
    (`ganctl.train`, then `ganctl.load`: what a user's script does)."""
    t0 = time.perf_counter()
    res = ganctl.train("leaks", str(root), device="cpu", runs_dir=runs, publish="never",
                       progress=False, **sets)
    seconds = round(time.perf_counter() - t0, 1)
    det = ganctl.load("leaks", str(res.weights), "cpu")
    meta = det.weights.meta
    names = sorted(kinds)
    imgs = [det.open(root / "test" / "imgs" / n) for n in names]
    scores = np.concatenate([det.scores(imgs[i:i + 512])[0] for i in range(0, len(imgs), 512)])
    cls = np.array([kinds[n] for n in names])
    normal = scores[cls == 7]
    per_class = {CLASSES[c]: round(detection.roc_auc(
        [0] * len(normal) + [1] * int((cls == c).sum()), np.r_[normal, scores[cls == c]]), 4)
        for c in range(10) if c != 7 and (cls == c).any()}
    labels = (cls != 7).astype(int)
    rep = detection.report(labels, scores, meta["threshold"])
    return {"threshold_rule": meta["rule"], "threshold": meta["threshold"],
            "rules": rules(meta, labels, scores),
            "train_seconds": seconds, "steps": res.step,
            "roc_auc_all": round(rep["roc_auc"], 4), "pr_auc_all": round(rep["pr_auc"], 4),
            "roc_auc_per_class": per_class, "confusion": rep["confusion"],
            "accuracy": round(rep["accuracy"], 4),
            "leak_precision": round(rep["classes"]["leak"]["precision"], 4),
            "leak_recall": round(rep["classes"]["leak"]["recall"], 4)}


def rules(meta: dict, labels, scores) -> dict:
    """Where each threshold rule, applied to the run's own calibration scores (held-out
    normal images, proliv/; the thresholds the run recorded), lands on the test images:
    recall, precision, FPR."""
    out = {}
    for rule, t in meta["calibration"]["rules"].items():
        point = detection.operating_point(labels, scores, t)
        out[rule] = {k: round(v, 4) for k, v in point.items() if v is not None}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=3.0)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--scores", nargs="+", default=["feature"],
                    choices=("feature", "mse", "elbo"))
    ap.add_argument("--split", default="test", choices=("val", "test"))
    ap.add_argument("--layout", default="all", choices=("all", "lookalike"))
    ap.add_argument("--against", nargs="*", default=[], metavar="KEY=VALUE",
                    help="a second setting trained beside the defaults, seed by seed")
    ap.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                    help="settings beside the defaults (none: as a new user trains)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    chosen = dict(config.parse_sets(args.set))
    variants = {score: {**chosen, "score": score} for score in args.scores}
    if args.against:
        against = dict(config.parse_sets(args.against))
        variants[f"{args.scores[0]}, {' '.join(args.against)}"] = {
            **chosen, "score": args.scores[0], **against}
    out = {**provenance(torch.device("cpu")), "minutes": args.minutes, "seeds": args.seeds,
           "split": args.split, "layout": args.layout, "set": chosen, "scores": {}}
    runs: dict[str, list] = {name: [] for name in variants}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "fashion-leaks"
        kinds = write_layout(root, args.split, args.layout)
        for seed in args.seeds:  # seed by seed, each setting in turn: noise hits all alike
            for name, sets in variants.items():
                sets = {**sets, "seed": seed, "minutes": args.minutes, "epochs": 0,
                        "log_every": 100, "checkpoint_every": 10**9}
                runs[name].append(run(root, kinds, sets, Path(tmp) / "runs"))
                print(json.dumps({name: runs[name][-1]}), flush=True)
    for name, rs in runs.items():
        summary = {k: spread([r[k] for r in rs]) for k in
                   ("roc_auc_all", "pr_auc_all", "accuracy", "leak_precision",
                    "leak_recall", "steps")}
        summary["roc_auc_per_class"] = {c: spread([r["roc_auc_per_class"][c] for r in rs])
                                        for c in rs[0]["roc_auc_per_class"]}
        out["scores"][name] = {"summary": summary, "runs": rs}
        print(json.dumps({name: summary}), flush=True)
    write_json(out, args.json)


if __name__ == "__main__":
    main()
