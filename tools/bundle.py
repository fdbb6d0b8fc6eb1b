"""Train, score and write the weights that ship inside the package (`ganctl/weights/bundled/`).

    python -m tools.bundle                      # all three, about 25 CPU-minutes here
    python -m tools.bundle --only sneakers-stage2 --device cuda

Each model is trained by `ganctl train` with a fixed seed and a fixed number of steps,
stored as fp16 safetensors (what ships; each file under 2 MB) next to a model card, then
scored from the file as shipped, on images it never trained on:

- sneakers-stage1: DCGAN on the 6,000 Fashion-MNIST training sneakers; FD against the
  1,000 test sneakers in the features of ganctl's Fashion-MNIST classifier (1,000
  samples, seeds 0-999), beside the floor of 1,000 real training sneakers.
- sneakers-stage2: x4 SRGAN (7 -> 28 px) on the same sneakers; PSNR/SSIM on the first
  200 test sneakers against bicubic.
- fashion-classifier: the Fashion-MNIST CNN whose features `evaluate sneakers` uses.

photo-x4, the photo upscaler, has its own recipe and script: bench/upscaler.py.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# scikit-image sample photos (skimage/data/_fetchers.py says each one's terms), part of
# photo-x4's training data (bench/upscaler.py).
PHOTOS = {
    "astronaut": "public domain (NASA)",
    "chelsea": "CC0 (Stefan van der Walt)",
    "rocket": "public domain (SpaceX)",
    "immunohistochemistry": "no known copyright restrictions",
    "retina": "CC0 1.0",
    "brick": "CC0 (CC0Textures)",
    "grass": "CC0 (CC0Textures)",
    "gravel": "CC0 (CC0Textures)",
    "clock": "public domain (Stefan van der Walt)",
    "hubble_deep_field": "public domain (NASA)",
}
COMMON = ["--seed", "0", "--no-publish", "--json", "--set", "sample_every=1000000"]
RECIPES = {
    "sneakers-stage1": ["train", "sneakers", "--data", "fashion-sneakers", "--steps", "4000"],
    "sneakers-stage2": ["train", "sneakers", "--stage", "2", "--data", "fashion-sneakers",
                        "--steps", "10000", "--set", "hr_size=28", "channels=1",
                        "warmup_steps=100000000"],
}


CLASSIFIER = "fashion-classifier"


def train(name: str, work: Path, device: str) -> dict:
    cmd = [*RECIPES[name], *COMMON, "--runs-dir", str(work / "runs" / name), "--device", device]
    print("$ ganctl " + " ".join(cmd), file=sys.stderr, flush=True)
    done = subprocess.run([sys.executable, "-m", "ganctl", *cmd], stdout=subprocess.PIPE,
                          text=True, check=True)
    return {**json.loads(done.stdout), "command": "ganctl " + " ".join(RECIPES[name])}


def write_classifier(dest: Path) -> dict:
    """The Fashion-MNIST feature classifier of `ganctl evaluate` (classifier extractor):
    `train_classifier`'s recipe (3 epochs, seed 0) on the 60,000 training images, fp32
    (its features define the FD scale, so they are not rounded), scored on the 10,000
    test images."""
    from ganctl import checkpoint
    from ganctl.data import catalog, layouts
    from ganctl.metrics.classifier import FEATURES, train_classifier
    from ganctl.weights import formats

    root = catalog.DEBIAN_FASHION_MNIST
    tx, ty = layouts.fashion_mnist(root, "train")
    vx, vy = layouts.fashion_mnist(root, "test")
    tx, ty, vx, vy = map(torch.from_numpy, (tx, ty, vx, vy))
    net, acc = train_classifier(tx, ty, vx, vy, progress=True)
    meta = {"test_accuracy": acc, "features": FEATURES, "train_images": len(tx),
            "recipe": "ganctl.metrics.classifier.train_classifier(epochs=3, seed=0)"}
    formats.write({"kind": "weights", "plugin": "metrics", "stage": 0, "recipe_meta": meta,
                   "created": time.strftime("%Y-%m-%d"), "versions": checkpoint.versions(),
                   "nets": {"classifier": net.state_dict()}}, dest)
    return {"test_accuracy": round(acc, 4), "test_images": len(vx)}


def classifier_card(path: Path, scores: dict) -> str:
    return "\n".join([
        "# fashion-classifier (bundled with ganctl)", "",
        "- Used by: `ganctl evaluate` (the classifier extractor, sneakers' default): FD, KID "
        "and precision/recall in its 128-d penultimate features.",
        "- Data: the 60,000 Fashion-MNIST training images (Zalando, MIT licence), 10 "
        "classes.",
        "- Licence of the weights: MIT, like ganctl.",
        "- Trained: `ganctl.metrics.classifier.train_classifier` (3 epochs, seed 0), made by "
        "`python -m tools.bundle --only fashion-classifier`.",
        f"- File: {path.name}, {path.stat().st_size / 1e6:.2f} MB, fp32 tensors.", "",
        "## Score of this file", "",
        f"Accuracy {scores['test_accuracy']:.4f} on the {scores['test_images']:,} "
        "Fashion-MNIST test images.", ""])


def write_bundled(run: dict, dest: Path) -> Path:
    """The run's inference weights as fp16 safetensors (halves the file; scores below are
    of this very file)."""
    from ganctl import weights
    from ganctl.weights import formats

    payload = weights.inference_payload(weights.read(Path(run["weights"])))
    payload["nets"] = {net: {k: v.half() if v.is_floating_point() else v for k, v in sd.items()}
                       for net, sd in payload["nets"].items()}
    for key in ("run", "path"):
        payload.pop(key, None)
    formats.write(payload, dest)
    return dest


def score_stage1(path: Path) -> dict:
    from ganctl.data import catalog, layouts
    from ganctl.metrics.classifier import embed, fashion_classifier
    from ganctl.metrics.frechet import fd_from_features
    from ganctl.tasks import Generator
    from ganctl.tensors import from_unit

    root = catalog.DEBIAN_FASHION_MNIST
    net, meta = fashion_classifier(root)
    train_x, _ = layouts.fashion_mnist(root, "train", classes=(7,))
    test_x, _ = layouts.fashion_mnist(root, "test", classes=(7,))
    test_f = embed(net, torch.from_numpy(test_x))
    pick = torch.randperm(len(train_x), generator=torch.Generator().manual_seed(0))[:1000]
    floor = fd_from_features(embed(net, torch.from_numpy(train_x)[pick]), test_f)
    fake = from_unit(Generator.load("sneakers", str(path), "cpu", stage=1).generate(1000))
    fd = fd_from_features(embed(net, fake), test_f)
    return {"fd": round(fd, 2), "fd_floor_real_train": round(floor, 2), "samples": 1000,
            "classifier_test_accuracy": meta["test_accuracy"]}


def sr_rows(path: Path, hr_sets: dict[str, list[torch.Tensor]]) -> dict:
    """PSNR/SSIM (data range 1) of the shipped net and of bicubic, x4 from a quarter."""
    from bench.stats import sr_scores
    from ganctl.metrics.sr import bicubic, downscale
    from ganctl.tasks import Upscaler

    net = Upscaler.load("sneakers", str(path), "cpu").net
    out = {}
    for set_name, images in hr_sets.items():
        rows = {"bicubic": [], "ganctl": []}
        for img in images:  # one at a time: the sets mix sizes
            hr = img.float().div(127.5).sub(1)[None]
            lr = downscale(hr, 4)
            with torch.no_grad():
                rows["ganctl"].append(sr_scores(net(lr), hr))
            rows["bicubic"].append(sr_scores(bicubic(lr, 4), hr))
        mean = {k: {m: round(float(np.mean([r[m] for r in v])), 4) for m in v[0]}
                for k, v in rows.items()}
        mean["gain_db"] = round(mean["ganctl"]["psnr"] - mean["bicubic"]["psnr"], 2)
        mean["images"] = len(images)
        out[set_name] = mean
    return out


def sneaker_test() -> dict[str, list[torch.Tensor]]:
    from ganctl.data import catalog, layouts

    test_x, _ = layouts.fashion_mnist(catalog.DEBIAN_FASHION_MNIST, "test", classes=(7,))
    return {"test: Fashion-MNIST test sneakers, 7 -> 28 px":
            list(torch.from_numpy(test_x[:200]))}


CARD_DATA = {
    "sneakers-stage1": "the 6,000 training sneakers (class 7) of Fashion-MNIST "
                       "(Zalando Research, MIT licence)",
    "sneakers-stage2": "the 6,000 training sneakers (class 7) of Fashion-MNIST "
                       "(Zalando Research, MIT licence), 7 -> 28 px",
}
CARD_USE = {
    "sneakers-stage1": "`ganctl sample sneakers` when no stage-1 weights are cached",
    "sneakers-stage2": "`ganctl upscale --weights bundled:sneakers-stage2` on small gray "
                       "product shots (7 -> 28 px, Fashion-MNIST's own scale). `sample "
                       "sneakers` uses photo-x4 instead: applied 28 -> 112 px this net "
                       "leaves a grain pattern that photo-x4 does not (look at both with "
                       "`ganctl sample sneakers --refine-weights bundled:NAME`)",
}


def card(name: str, run: dict, path: Path, scores: dict) -> str:
    lines = [f"# {name} (bundled with ganctl)", "",
             f"- Used by: {CARD_USE[name]}.",
             f"- Data: {CARD_DATA[name]}.",
             "- Licence of the weights: MIT, like ganctl; the training data's terms are "
             "listed above.",
             f"- Trained: `{run['command']} --seed 0`, "
             f"{run['step']} steps "
             f"({run['epoch']:.1f} epochs), made by `python -m tools.bundle`.",
             f"- File: {path.name}, {path.stat().st_size / 1e6:.2f} MB, fp16 tensors.", "",
             "## Scores of this file on images it never trained on", ""]
    if "fd" in scores:
        lines += [f"FD {scores['fd']} over {scores['samples']} samples against the 1,000 "
                  "Fashion-MNIST test sneakers, in the features of ganctl's Fashion-MNIST "
                  f"classifier (test accuracy {scores['classifier_test_accuracy']:.3f}); "
                  f"1,000 real training sneakers score {scores['fd_floor_real_train']}.", ""]
    else:
        lines += ["x4 from a quarter of each image's size (bicubic, antialiased), PSNR and "
                  "SSIM at data range 1:", "",
                  "| images | n | bicubic PSNR | PSNR | gain | bicubic SSIM | SSIM |",
                  "|---|---|---|---|---|---|---|"]
        for set_name, r in scores.items():
            lines.append(f"| {set_name} | {r['images']} | {r['bicubic']['psnr']:.2f} | "
                         f"{r['ganctl']['psnr']:.2f} | {r['gain_db']:+.2f} dB | "
                         f"{r['bicubic']['ssim']:.4f} | {r['ganctl']['ssim']:.4f} |")
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*", choices=(*RECIPES, CLASSIFIER),
                    default=[*RECIPES, CLASSIFIER])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--out", type=Path, default=ROOT / "ganctl" / "weights" / "bundled")
    ap.add_argument("--json", type=Path, default=ROOT / "docs" / "bench" / "bundle.json")
    ap.add_argument("--score-only", action="store_true",
                    help="score the files already in --out (no training)")
    args = ap.parse_args()
    from bench.common import provenance, write_json

    doc = json.loads(args.json.read_text()) if args.json.is_file() else {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name in args.only:
            path = args.out / f"{name}.safetensors"
            if name == CLASSIFIER:  # first: stage 1 is scored in its features
                scores = doc[name]["scores"] if args.score_only else write_classifier(path)
                doc[name] = {"bytes": path.stat().st_size, "scores": scores,
                             **provenance(torch.device("cpu"))}
                path.with_suffix(".md").write_text(classifier_card(path, scores))
                write_json(doc, args.json)
                continue
            if args.score_only:
                run = doc[name]["run"]
            else:
                run = train(name, work, args.device)
                write_bundled(run, path)
            if name == "sneakers-stage1":
                scores = score_stage1(path)
            else:
                scores = sr_rows(path, sneaker_test())
            run = {k: run[k] for k in ("command", "step", "epoch")}
            doc[name] = {"run": run, "bytes": path.stat().st_size, "scores": scores,
                         **provenance(torch.device(args.device))}
            path.with_suffix(".md").write_text(card(name, run, path, scores))
            print(json.dumps({name: doc[name]["scores"]}, indent=1), flush=True)
            write_json(doc, args.json)


if __name__ == "__main__":
    main()
