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

Protocol (the super-resolution papers'): each test photo cropped to a multiple of 4,
down-sampled x4 by bicubic with antialiasing, up-sampled by each method; PSNR on the Y
channel (ITU-R BT.601) with a 4-px border shaved, and SSIM on Y, per photo, then the mean.
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


def y_channel(rgb: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) in [0, 1] -> (N, 1, H, W) luma in [16, 235] / 255, as MATLAB's rgb2ycbcr."""
    r, g, b = rgb[:, 0:1], rgb[:, 1:2], rgb[:, 2:3]
    return (16 + 65.481 * r + 128.553 * g + 24.966 * b) / 255


def protocol_scores(sr: torch.Tensor, hr: torch.Tensor, border: int = 4) -> dict:
    """PSNR and SSIM on Y with `border` pixels shaved, both images in [0, 1] and quantised to
    8 bits first (what a saved PNG holds)."""
    from ganctl.metrics.image import psnr, ssim

    sr, hr = (x.clamp(0, 1).mul(255).round().div(255) for x in (sr, hr))
    sy, hy = (y_channel(x)[..., border:-border, border:-border] for x in (sr, hr))
    return {"psnr_y": float(psnr(sy, hy)), "ssim_y": float(ssim(sy, hy))}


def methods(weights: list[Path]) -> dict:
    """{label: function from a [-1, 1] low-res batch to the x4 image}: bicubic and each file."""
    from ganctl import weights as w
    from ganctl.plugins.sneakers import plugin
    from ganctl.plugins.sneakers.stage2 import bicubic_up

    out = {"bicubic": bicubic_up}
    for path in weights:
        out[path.stem] = plugin.upscaler(w.open_file(str(path)), torch.device("cpu"))[0]
    return out


def score(split: str, weights: list[Path]) -> dict:
    from ganctl.plugins.sneakers.stage2 import downscale

    nets = methods(weights)
    rows = {k: [] for k in nets}
    for name in photos.WALLPAPERS[split]:
        img = photos.wallpaper(name)
        img = img.crop((0, 0, img.width // 4 * 4, img.height // 4 * 4))
        hr = torch.from_numpy(np.asarray(img).copy()).permute(2, 0, 1)[None].float() / 127.5 - 1
        lr = downscale(hr)
        with torch.no_grad():
            for label, f in nets.items():
                rows[label].append({"photo": name,
                                    **protocol_scores((f(lr) + 1) / 2, (hr + 1) / 2)})
    means = {k: {m: round(float(np.mean([r[m] for r in v])), 4) for m in ("psnr_y", "ssim_y")}
             for k, v in rows.items()}
    for k in nets:
        means[k]["gain_db"] = round(means[k]["psnr_y"] - means["bicubic"]["psnr_y"], 2)
    return {"split": split, "photos": list(photos.WALLPAPERS[split]), "mean": means,
            "per_photo": rows}


def speed(path: Path, side: int = 512, repeats: int = 3) -> dict:
    """Seconds per side x side -> 4 side x 4 side image on this machine's CPU, median."""
    net = methods([path])[path.stem]
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
