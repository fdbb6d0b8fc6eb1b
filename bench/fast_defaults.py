"""Quality at equal budget: the fast settings (`precision=auto`, bf16 autocast where the
hardware has it natively, with the plugin's channels-last default) against the same
recipe in fp32 with the default memory format. ganctl's shipping precision for each
plugin follows this bench: auto only where it scores equal or better.

For every plugin stage both configurations train side by side (two processes at the
same time, one torch thread each) for the same minutes on real data, then are scored:

It chooses defaults, so it never reads the test split: each Fashion-MNIST class's last
1,000 training images are its val split, held out of every training here.

- sneakers stage 1: the other training sneakers (a folder of PNGs); FD of 1,000 samples vs
  the 1,000 val sneakers in the features of ganctl's Fashion-MNIST classifier (lower is
  better);
- sneakers stage 2: x4 from 7 to 28 px on the same sneakers; PSNR on 200 val sneakers
  (higher is better); and x4 from 28 to 112 px on photographs (bench/photos.py: 100
  patches of 9 of its training photos, PSNR on 20 patches of the other 2);
- leaks: sneakers normal, sandals and ankle boots the leaks; ROC AUC on a val test/ folder
  (the val sneakers, 1,000 training sandals and ankle boots each that are not in proliv/);
- faces: the faces DCGAN on the training sneakers (a folder of real images; CelebA
  cannot be downloaded here), 64 px RGB, twice the minutes; FD after reducing the
  samples to 28 px gray;
- pix2pix: edge maps of the training sneakers -> the sneakers, 32 px (unet_32); PSNR of
  the translated edge maps of 200 val sneakers against them;
- cyclegan: sneakers <-> sandals, 32 px, unpaired; FD of the translated 1,000 val
  sneakers vs the 1,000 val sandals (28 px gray, classifier features).

Scoring goes through the public interfaces (`ganctl.tasks`), as a user's script would.

    python -m bench.fast_defaults --json docs/bench/fast-defaults.json
    python -m bench.fast_defaults --only stage1 --minutes 1     # a quick look
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from bench.common import provenance, write_fashion_leaks, write_json
from bench.sides import ganctl_cmd, result, spawn, wait_all
from bench.stats import sr_scores
from ganctl import checkpoint
from ganctl.data import catalog, layouts
from ganctl.metrics.classifier import embed, fashion_classifier
from ganctl.metrics.frechet import fd_from_features
from ganctl.metrics.sr import downscale
from ganctl.tasks import Detector, Generator, Translator, Upscaler

SIDES = {"auto": ["precision=auto"], "fp32": ["precision=fp32", "channels_last=false"]}
# The faces DCGAN makes few steps a minute on one CPU thread: it gets twice the minutes.
LONGER = {"faces": 2}
CPU = torch.device("cpu")
VAL = 1000  # the last training images of each class: the val split


def fashion(part: str, cls: int) -> np.ndarray:
    """A class's training images but the last VAL ("train"), or those VAL ("val")."""
    x = layouts.fashion_mnist(catalog.DEBIAN_FASHION_MNIST, "train", classes=(cls,))[0]
    return x[:-VAL] if part == "train" else x[-VAL:]


def to_28_gray(x: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) in [-1, 1] -> (N, 1, 28, 28), as the classifier takes them."""
    return F.interpolate(x.float().mean(1, keepdim=True), size=(28, 28), mode="bilinear",
                         antialias=True, align_corners=False).clamp(-1, 1)


def fd_to(images: torch.Tensor, real: np.ndarray) -> float:
    net, _ = fashion_classifier(catalog.DEBIAN_FASHION_MNIST)
    return round(fd_from_features(embed(net, images), embed(net, torch.from_numpy(real))), 3)


def edges(x: np.ndarray) -> np.ndarray:
    """Black edge lines on white from a (28, 28) uint8 image, as edges2shoes draws them."""
    f = x.astype(np.float32)
    gy, gx = np.gradient(f)
    return np.where(np.hypot(gx, gy) > 40, 0, 255).astype(np.uint8)


def rgb32(x: np.ndarray) -> Image.Image:
    return Image.fromarray(x).resize((32, 32), Image.Resampling.BICUBIC).convert("RGB")


def write_pairs(root: Path) -> Path:
    for part, n in (("train", None), ("val", 200)):
        (root / part).mkdir(parents=True)
        for i, x in enumerate(fashion(part, 7)[:n, 0]):
            ab = Image.new("RGB", (64, 32))
            ab.paste(rgb32(edges(x)), (0, 0))
            ab.paste(rgb32(x), (32, 0))
            ab.save(root / part / f"{i}.png")
    return root


def write_unpaired(root: Path) -> Path:
    for part, cls, sub in (("train", 7, "trainA"), ("train", 5, "trainB"),
                           ("val", 7, "testA"), ("val", 5, "testB")):
        (root / sub).mkdir(parents=True)
        for i, x in enumerate(fashion(part, cls)[:, 0]):
            rgb32(x).save(root / sub / f"{i}.png")
    return root


def write_folder(root: Path) -> Path:
    root.mkdir(parents=True)
    for i, x in enumerate(fashion("train", 7)[:, 0]):
        Image.fromarray(x).save(root / f"{i}.png")
    return root


# --- the cases: (plugin, stage, data, extra --set, scorer(weights.pt) -> {metric: value})

def score_stage1(path: Path) -> dict:
    fakes = Generator.load("sneakers", str(path), "cpu", stage=1).generate(1000)
    return {"fd": fd_to(fakes, fashion("val", 7))}


def score_stage2(path: Path) -> dict:
    hr = torch.from_numpy(fashion("val", 7)[:200]).float().div(127.5).sub(1)
    net = Upscaler.load("sneakers", str(path), "cpu").net
    with torch.no_grad():
        return {"psnr": sr_scores(net(downscale(hr, 4)), hr)["psnr"]}


def photo_folder(root: Path) -> Path:
    from bench import photos

    return photos.write_folder(photos.patches(photos.TRAIN_PHOTOS[:-2], limit=100), root)


def score_photos(path: Path) -> dict:
    from bench import photos

    val = photos.patches(photos.TRAIN_PHOTOS[-2:], limit=20)  # two photos held out
    hr = torch.from_numpy(np.stack([np.asarray(p) for p in val])).permute(0, 3, 1, 2)
    hr = hr.float().div(127.5).sub(1)
    net = Upscaler.load("sneakers", str(path), "cpu").net
    with torch.no_grad():
        return {"psnr": sr_scores(net(downscale(hr, 4)), hr)["psnr"]}


def score_leaks(path: Path) -> dict:
    """The ROC AUC training measured on the layout's test/ folder (here the val images)."""
    meta = Detector.load("leaks", str(path), "cpu").weights.meta
    return {"roc_auc": round(meta["test"]["roc_auc"], 4)}


def score_faces(path: Path) -> dict:
    fakes = Generator.load("faces", str(path), "cpu").generate(1000)
    return {"fd": fd_to(to_28_gray(fakes), fashion("val", 7))}


def translated(plugin: str, path: Path, images: np.ndarray, **kw) -> torch.Tensor:
    fn = Translator.load(plugin, str(path), "cpu", **kw)
    outs = []
    for k in range(0, len(images), 100):
        outs += fn([rgb32(x) if x.ndim == 2 else Image.fromarray(x) for x in images[k:k + 100]])
    arr = np.stack([np.asarray(o.convert("RGB")) for o in outs])
    return torch.from_numpy(arr).permute(0, 3, 1, 2).float().div(127.5).sub(1)


def score_pix2pix(path: Path) -> dict:
    x = fashion("val", 7)[:200, 0]
    fake = translated("pix2pix", path, np.stack([np.asarray(rgb32(edges(i))) for i in x]))
    real = torch.from_numpy(np.stack([np.asarray(rgb32(i)) for i in x])).permute(0, 3, 1, 2)
    return {"psnr": sr_scores(fake, real.float().div(127.5).sub(1))["psnr"]}


def score_cyclegan(path: Path) -> dict:
    fake = translated("cyclegan", path, fashion("val", 7)[:, 0], direction="AtoB")
    return {"fd": fd_to(to_28_gray(fake), fashion("val", 5))}


def write_leaks(root: Path) -> None:
    write_fashion_leaks(root, {7: None, 5: 1000, 9: 1000}, split="val")


def written(root: Path, writer) -> str:
    """`root` as data, written by `writer(root)` the first time."""
    if not root.exists():
        writer(root)
    return str(root)


def cases(tmp: Path) -> dict:
    return {
        "stage1": ("sneakers", 1, lambda: written(tmp / "sneakers", write_folder), [],
                   score_stage1),
        "stage2": ("sneakers", 2, lambda: written(tmp / "sneakers", write_folder),
                   ["hr_size=28", "channels=1"], score_stage2),
        "stage2-photos": ("sneakers", 2, lambda: written(tmp / "photos", photo_folder), [],
                          score_photos),
        "leaks": ("leaks", 1, lambda: written(tmp / "leaks", write_leaks),
                  ["image_size=32", "channels=1"], score_leaks),
        "faces": ("faces", 1, lambda: written(tmp / "faces", write_folder), [], score_faces),
        "pix2pix": ("pix2pix", 1, lambda: written(tmp / "pairs", write_pairs),
                    ["net_g=unet_32", "load_size=36", "crop_size=32"], score_pix2pix),
        "cyclegan": ("cyclegan", 1, lambda: written(tmp / "unpaired", write_unpaired),
                     ["image_size=32"], score_cyclegan),
    }


def run_case(name: str, case, minutes: float, seed: int, tmp: Path) -> dict:
    plugin, stage, data, sets, score = case
    t0 = time.perf_counter()
    data = data()
    base = ["train", plugin, "--stage", str(stage), "--data", data, "--minutes", f"{minutes:g}",
            "--no-publish", "--json", "--seed", str(seed), "--set", "epochs=0",
            "sample_every=100000", "checkpoint_every=100000", *sets]
    logs = {side: tmp / f"{name}-{side}.log" for side in SIDES}
    procs = {side: (spawn(ganctl_cmd(*base, *SIDES[side], "--runs-dir",
                                     str(tmp / f"{name}-{side}")), log), log)
             for side, log in logs.items()}
    wait_all(procs)
    row = {"plugin": plugin, "stage": stage, "minutes": minutes, "seed": seed, "sets": sets}
    for side, log in logs.items():
        res = result(log)
        path = Path(res["run"]) / "weights.pt"
        precision = checkpoint.load(path, kind="weights")["precision"]
        config = json.loads((Path(res["run"]) / "config.json").read_text())["config"]
        row[side] = {"steps": res["step"], "precision": precision,
                     "channels_last": config["channels_last"], **score(path)}
    row["bench_seconds"] = round(time.perf_counter() - t0, 1)
    print(f"{name}: {row}", flush=True)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", nargs="*", choices=("stage1", "stage2", "stage2-photos", "leaks",
                                                  "faces", "pix2pix", "cyclegan"))
    ap.add_argument("--minutes", type=float, default=3.0)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0],
                    help="train each case once per seed (both sides share the seed)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    torch.set_num_threads(2)
    fashion_classifier(catalog.DEBIAN_FASHION_MNIST)  # trained once, before any timing
    old = json.loads(args.json.read_text()) if args.json and args.json.is_file() else {}
    doc = {**provenance(CPU), "command": " ".join(sys.argv), "threads_per_side": 1,
           "results": old.get("results", {})}  # cases and seeds not run this time are kept
    with tempfile.TemporaryDirectory() as tmp:
        for name, case in cases(Path(tmp)).items():
            if args.only and name not in args.only:
                continue
            minutes = args.minutes * LONGER.get(name, 1)
            kept = [r for r in doc["results"].get(name, []) if r["seed"] not in args.seeds]
            for seed in args.seeds:
                # each row says what it scored on (rows before 2026-12-07 have no split:
                # their "val" folder held test images)
                kept.append({**run_case(name, case, minutes, seed, Path(tmp)), "split": "val"})
                doc["results"][name] = sorted(kept, key=lambda r: r["seed"])
                write_json(doc, args.json)


if __name__ == "__main__":
    main()
