"""Train and score the bundled x4 photo upscaler (`ganctl/bundled/photo-x4`).

    python bench/upscaler.py prepare            # cut the training patches (a minute)
    python bench/upscaler.py train              # about 2 CPU-hours here; resumable
    python bench/upscaler.py score --weights F  # the standard protocol on held-out photos

Data: licensed photographs only (photos.py lists them and reads every licence from its
Debian package): 16 wallpaper photographs plus scikit-image's 10 sample photos for
training, 4 other wallpapers for validation, 7 for the test. 128-px patches every 64 px,
with random flips and 90-degree turns while training.

Recipe: `ganctl train sneakers --stage 2` with `arch=lr` (EDSR-baseline's residual
blocks, 8 x 48, at the input's resolution, over bicubic), L1 loss only (the PSNR-best
phase), Adam at 5e-4 halved every 1250 steps (5000 steps), batch 16, EMA of the weights, seed 0.
`train` resumes from its last checkpoint when run again.

Protocol (the super-resolution papers', `ganctl.metrics.sr`, as `ganctl evaluate upscale`
runs it): each photo cropped to a multiple of 4, down-sampled x4 by bicubic with
antialiasing, up-sampled by each method, rounded to 8 bits; PSNR and SSIM on the Y
channel (ITU-R BT.601) with a 4-px border shaved, per photo, then the mean.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import photos  # noqa: E402

WORK = Path("/tmp/ganctl-upscaler")
PATCH, STRIDE = 128, 64
STEPS = 5000
RECIPE = ["train", "sneakers", "--stage", "2", "--data", "{patches}", "--seed", "0",
          "--steps", str(STEPS), "--publish", "never", "--json",
          "--set", "arch=lr", "channels=3", f"hr_size={PATCH}", f"crop={PATCH}",
          "warmup_steps=100000000", "pixel_loss=l1", "lr=5e-4", "lr_half_every=1250",
          "batch_size=16", "val_fraction=0.02", "sample_every=500", "checkpoint_every=250",
          "augment=dihedral"]


def prepare(work: Path) -> Path:
    from bundle import PHOTOS

    out = work / "patches"
    out.mkdir(parents=True, exist_ok=True)
    images = [photos.wallpaper(n) for n in photos.WALLPAPERS["train"]]
    images += [photos.photo(n) for n in PHOTOS]
    n = 0
    for img in images:
        for p in photos.cut(img, PATCH, STRIDE):
            p.save(out / f"{n:05d}.png")
            n += 1
    print(f"{n} patches of {PATCH} px from {len(images)} photographs in {out}")
    return out


def train(work: Path, device: str) -> dict:
    runs = work / "runs"
    cmd = [a.replace("{patches}", str(work / "patches")) for a in RECIPE]
    cmd += ["--runs-dir", str(runs), "--device", device]
    done = sorted(runs.glob("sneakers-stage2/*/checkpoints/*")) if runs.is_dir() else []
    if done:
        cmd += ["--resume", str(done[-1].parent.parent)]
    print("$ ganctl " + " ".join(cmd), file=sys.stderr, flush=True)
    res = subprocess.run([sys.executable, "-m", "ganctl", *cmd], stdout=subprocess.PIPE,
                         text=True, check=True)
    return json.loads(res.stdout)


def score(split: str, weights: list[Path]) -> dict:
    """The protocol (ganctl.metrics.sr, as `ganctl evaluate upscale` runs it) on whole
    photos of `split`, for bicubic and each weights file."""
    from ganctl import registry
    from ganctl.infer.upscale import load_upscaler, run_with_backoff
    from ganctl.metrics import sr
    from ganctl.tensors import from_pil

    cpu = torch.device("cpu")
    ups = {p.stem: load_upscaler(registry.get("sneakers"), None, str(p), cpu) for p in weights}
    rows = {k: [] for k in ["bicubic", *ups]}
    for name in photos.WALLPAPERS[split]:
        hr = sr.crop_to(from_pil([photos.wallpaper(name)]), 4)
        lr = sr.downscale(hr, 4)
        rows["bicubic"].append({"photo": name, **sr.scores(sr.bicubic(lr, 4), hr, 4)})
        for label, up in ups.items():
            out = run_with_backoff(up.net, lr, 4, 256, up.context, cpu)[None]
            rows[label].append({"photo": name, **sr.scores(out, hr, 4)})
    means = {k: sr.means(v) for k, v in rows.items()}
    for k in means:
        means[k]["gain_db"] = round(means[k]["psnr_y"] - means["bicubic"]["psnr_y"], 2)
    return {"split": split, "photos": list(photos.WALLPAPERS[split]), "mean": means,
            "per_photo": rows}


def speed(path: Path, side: int = 512, repeats: int = 3) -> dict:
    """Seconds per side x side -> 4 side x 4 side image on this machine's CPU, median."""
    from ganctl import registry
    from ganctl.infer.upscale import load_upscaler

    net = load_upscaler(registry.get("sneakers"), None, str(path), torch.device("cpu")).net
    x = torch.rand(1, 3, side, side) * 2 - 1
    times = []
    with torch.no_grad():
        for _ in range(repeats + 1):
            t = time.perf_counter()
            net(x)
            times.append(time.perf_counter() - t)
    med = float(np.median(times[1:]))
    return {"input": side, "seconds_median": round(med, 2), "images_per_s": round(1 / med, 3),
            "threads": torch.get_num_threads()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("what", choices=("prepare", "train", "score"))
    ap.add_argument("--work", type=Path, default=WORK)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--weights", type=Path, nargs="*", default=[])
    ap.add_argument("--split", default="val", choices=("val", "test"))
    ap.add_argument("--out", type=Path, help="write the scores here as JSON")
    args = ap.parse_args()
    if args.what == "prepare":
        prepare(args.work)
    elif args.what == "train":
        print(json.dumps(train(args.work, args.device), indent=2))
    else:
        doc = {**score(args.split, args.weights),
               "speed": {p.stem: speed(p) for p in args.weights}}
        text = json.dumps(doc, indent=2)
        print(json.dumps(doc["mean"], indent=2), json.dumps(doc["speed"]), sep="\n")
        if args.out:
            args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
