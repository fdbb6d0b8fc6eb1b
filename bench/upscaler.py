"""Train and score the bundled x4 photo upscaler (`ganctl/weights/bundled/photo-x4`).

    python -m bench.upscaler prepare            # cut the training patches (a minute)
    python -m bench.upscaler train              # about 2 CPU-hours here; resumable
    python -m bench.upscaler score --weights F  # the standard protocol on held-out photos
    python -m bench.upscaler bundle --previous OLD.safetensors  # ship it: file, card, JSON

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
from PIL import Image

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BUNDLED = ROOT / "ganctl" / "weights" / "bundled"
SHARED = ROOT.parent / "shared" / "data"
from bench import photos  # noqa: E402
from tools.report import upscaler_table  # noqa: E402

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
    from tools.bundle import PHOTOS

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


def hr_sets(split: str) -> dict[str, list[torch.Tensor]]:
    """Whole photos never trained on, in [-1, 1]: the wallpapers of `split`; for the test,
    also faces and product shots (research data in ../shared/data, scored, never trained on)."""
    from ganctl.tensors import from_pil

    sets = {f"{split}: {len(photos.WALLPAPERS[split])} wallpaper photographs, 1024 px":
            [from_pil([photos.wallpaper(n)]) for n in photos.WALLPAPERS[split]]}
    if split == "test":
        faces = sorted((SHARED / "celeba").glob("*.jpg"))
        shoes = sorted((SHARED / "edges2shoes" / "train").glob("*.jpg"))
        if faces:
            sets[f"test: {len(faces)} CelebA aligned faces, 178 x 218 px"] = [
                from_pil([Image.open(p).convert("RGB")]) for p in faces]
        if shoes:
            sets[f"test: {len(shoes)} edges2shoes shoe photos, 256 px"] = [
                from_pil([Image.open(p).convert("RGB").crop((256, 0, 512, 256))]) for p in shoes]
    return sets


def score(sets: dict[str, list[torch.Tensor]], weights: dict[str, Path]) -> dict:
    """The protocol (ganctl.metrics.sr, as `ganctl evaluate upscale` runs it) on each set,
    for bicubic and each weights file: {set: {method: mean scores + gain_db}}."""
    from ganctl import registry
    from ganctl.infer.upscale import load_upscaler, run_with_backoff
    from ganctl.metrics import sr

    cpu = torch.device("cpu")
    ups = {k: load_upscaler(registry.get("sneakers"), None, str(p), cpu)
           for k, p in weights.items()}
    out = {}
    for set_name, images in sets.items():
        rows = {k: [] for k in ["bicubic", *ups]}
        for img in images:
            hr = sr.crop_to(img, 4)
            lr = sr.downscale(hr, 4)
            rows["bicubic"].append(sr.scores(sr.bicubic(lr, 4), hr, 4))
            for label, up in ups.items():
                rows[label].append(sr.scores(
                    run_with_backoff(up.net, lr, 4, 256, up.context, cpu)[None], hr, 4))
        means = {k: sr.means(v) for k, v in rows.items()}
        for k in means:
            means[k]["gain_db"] = round(means[k]["psnr_y"] - means["bicubic"]["psnr_y"], 2)
        out[set_name] = {"images": len(images), **means}
    return out


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


PAPERS_X4 = {  # PSNR-Y gain over bicubic at x4, Set5 / Set14, as each paper reports it
    "SRCNN (2014)": (2.06, 1.49), "FSRCNN (2016)": (2.30, 1.61), "VDSR (2016)": (2.93, 2.01),
    "EDSR (2017)": (4.04, 2.80)}


def training_licences() -> dict[str, str]:
    from tools.bundle import PHOTOS

    lic = photos.wallpaper_licences()
    return {**{n: lic[n] for n in photos.WALLPAPERS["train"]},
            **{f"scikit-image {n}": v for n, v in PHOTOS.items()}}


def bundle(work: Path, previous: Path, dest: Path, out: Path) -> dict:
    """The trained run as the shipped fp16 file, scored as shipped against bicubic and the
    previous file on the val and test sets, timed, with its card."""
    from bench.common import provenance, write_json
    from tools.bundle import write_bundled

    run = sorted((work / "runs" / "sneakers-stage2").glob("*/weights.pt"))[-1]
    write_bundled({"weights": str(run)}, dest)
    stats = [json.loads(line) for line in (run.parent / "stats.jsonl").read_text().splitlines()]
    last = [r for r in stats if "step" in r][-1]
    files = {"photo-x4": dest, "previous": previous}
    doc = {"recipe": "python -m bench.upscaler prepare && python -m bench.upscaler train",
           "command": "ganctl " + " ".join(RECIPE).replace("{patches}", "PATCHES/"),
           "step": last["step"], "bytes": dest.stat().st_size,
           "previous_bytes": previous.stat().st_size,
           "scores": score({**hr_sets("val"), **hr_sets("test")}, files),
           "speed": {k: speed(p) for k, p in files.items()},
           "papers_set5_set14_gain_db": PAPERS_X4, "training_images": training_licences(),
           **provenance(torch.device("cpu"))}
    write_json(doc, out)
    dest.with_suffix(".md").write_text(card(doc, dest))
    return doc


def card(doc: dict, dest: Path) -> str:
    from ganctl import weights

    net = weights.open_file(str(dest))
    params = sum(v.numel() for v in net["nets"]["g"].values())
    sp = doc["speed"]["photo-x4"]
    lines = [
        "# photo-x4 (bundled with ganctl)", "",
        "- Used by: `ganctl upscale` and the 28 -> 112 px stage of `ganctl sample sneakers` "
        "when no stage-2 weights are chosen.",
        f"- Net: stage 2's `arch=lr`: 8 residual blocks of 48 channels without batch norm at "
        f"the input's resolution, pixel shuffle x4, added to bicubic ({params:,} parameters).",
        f"- Data: 128-px patches (every 64 px, flips and 90-degree turns) of "
        f"{len(doc['training_images'])} photographs, each with its terms: "
        + "; ".join(f"{k}: {v}" for k, v in doc["training_images"].items()) + ".",
        "- Licence of the weights: MIT, like ganctl; the training photographs' terms are "
        "listed above (the wallpapers' from their Debian packages' copyright files).",
        f"- Trained: `{doc['command']}`, {doc['step']} steps, made by "
        "`python -m bench.upscaler prepare`, `... train`, `... bundle` (seed 0, resumable).",
        f"- File: {dest.name}, {doc['bytes'] / 1e6:.2f} MB, fp16 tensors.",
        f"- Speed: {sp['seconds_median']:.1f} s for 512x512 -> 2048x2048 "
        f"({sp['images_per_s']:.2f} images/s) on {sp['threads']} threads of {doc['cpu']}.", "",
        "## Scores on photographs it never trained on", "",
        "The super-resolution papers' protocol (`ganctl evaluate upscale --hr DIR` runs it): "
        "x4 down-sampling by antialiased bicubic, PSNR and SSIM on the Y channel with a 4-px "
        "border shaved. `previous` is the photo-x4 that shipped before (10 scikit-image "
        "photos, 112-px patches).", ""] + upscaler_table(doc) + [
        "", "For orientation only, the gains over bicubic that published nets report on other "
        "images (Set5 / Set14, x4, from their papers): "
        + "; ".join(f"{k} +{a:.1f} / +{b:.1f} dB" for k, (a, b) in
                    doc["papers_set5_set14_gain_db"].items()) + ".", ""]
    return "\n".join(lines)


def picture(files: dict[str, Path], dest: Path, side: int = 192) -> Path:
    """Side by side on test photos: the original, bicubic and each file, x4 from a quarter;
    the last row's input went through JPEG at quality 60 first (artefacts show there)."""
    import io

    from PIL import ImageDraw

    from ganctl import registry
    from ganctl.infer.upscale import load_upscaler, run_with_backoff
    from ganctl.metrics import sr
    from ganctl.tensors import from_pil, to_pil

    cpu = torch.device("cpu")
    ups = {k: load_upscaler(registry.get("sneakers"), None, str(p), cpu) for k, p in files.items()}
    dog, bird = photos.wallpaper("friends_by_Aitzol_Berasategi"), photos.wallpaper(
        "Kleiber_by_Lukas_Baubkus")
    face = Image.open(sorted((SHARED / "celeba").glob("*.jpg"))[0]).convert("RGB")
    crops = [(dog.crop((190, 230, 190 + side, 230 + side)), False),
             (bird.crop((350, 210, 350 + side, 210 + side)), False),
             (face.crop((0, 10, 176, 186)).resize((side, side), Image.Resampling.LANCZOS), False),
             (photos.wallpaper("life_by_Aitzol_Berasategi").crop((400, 300, 400 + side,
                                                                   300 + side)), True)]
    heads = ["original", "bicubic", *files]
    sheet = Image.new("RGB", (len(heads) * (side + 4), len(crops) * (side + 4) + 16), "white")
    draw = ImageDraw.Draw(sheet)
    for i, h in enumerate(heads):
        draw.text((i * (side + 4) + 4, 2), h + (" (JPEG row: q60 input)" if i == 0 else ""),
                  fill="black")
    for r, (hr_img, jpeg) in enumerate(crops):
        lr = sr.downscale(from_pil([hr_img]), 4)
        if jpeg:
            buf = io.BytesIO()
            to_pil(lr[0]).save(buf, "JPEG", quality=60)
            lr = from_pil([Image.open(io.BytesIO(buf.getvalue())).convert("RGB")])
        row = [hr_img, to_pil(sr.bicubic(lr, 4)[0])]
        row += [to_pil(run_with_backoff(u.net, lr, 4, 256, u.context, cpu)) for u in ups.values()]
        for i, im in enumerate(row):
            sheet.paste(im, (i * (side + 4), 16 + r * (side + 4)))
    sheet.save(dest)
    return dest


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("what", choices=("prepare", "train", "score", "bundle"))
    ap.add_argument("--work", type=Path, default=WORK)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--weights", type=Path, nargs="*", default=[])
    ap.add_argument("--split", default="val", choices=("val", "test"))
    ap.add_argument("--previous", type=Path, help="bundle: the photo-x4 file it replaces")
    ap.add_argument("--out", type=Path, help="score: write the scores here as JSON")
    args = ap.parse_args()
    if args.what == "prepare":
        prepare(args.work)
    elif args.what == "train":
        print(json.dumps(train(args.work, args.device), indent=2))
    elif args.what == "bundle":
        if not args.previous:
            ap.error("bundle needs --previous (git show "
                     "REV:ganctl/weights/bundled/photo-x4.safetensors)")
        doc = bundle(args.work, args.previous, BUNDLED / "photo-x4.safetensors",
                     ROOT / "docs" / "bench" / "upscaler.json")
        print("\n".join(upscaler_table(doc)))
        picture({"previous": args.previous, "photo-x4": BUNDLED /
                 "photo-x4.safetensors"}, ROOT / "docs" / "img" / "upscale-photo-x4.png")
    else:
        doc = {"scores": score(hr_sets(args.split), {p.stem: p for p in args.weights}),
               "speed": {p.stem: speed(p) for p in args.weights}}
        print(json.dumps(doc, indent=2))
        if args.out:
            args.out.write_text(json.dumps(doc, indent=2) + "\n")


if __name__ == "__main__":
    main()
