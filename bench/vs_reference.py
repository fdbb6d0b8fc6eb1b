"""Benchmark: ganctl's training loop against a plain PyTorch loop, per plugin stage.

For each plugin stage both loops train the same nets (built from the same recipe, so
the same architecture, losses and batch size) on the same image files:

- reference: what one writes by hand: a Dataset that opens each file with PIL and
  applies the transforms per item, a DataLoader (shuffle, workers, re-created workers
  every epoch), batches copied to the device, and the losses printed with .item()
  every step;
- ganctl: `ganctl.train.engine.train` itself, the path `ganctl train` runs (tensor cache
  and on-device batching for small images, persistent DataLoader workers and
  torchvision.io decoding for large ones, no per-step host syncs), logging, sampling
  and checkpointing intervals set beyond the measured steps.

Throughput is images per second over the timed steps, after warm-up steps.

    python bench/vs_reference.py --json docs/bench/vs-reference.json          # CPU
    python bench/vs_reference.py --device cuda --json vs-reference-gpu.json   # a GPU
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from common import provenance, sync, write_json
from PIL import Image, ImageOps
from torch.utils.data import DataLoader, Dataset
from torchvision.transforms.functional import pil_to_tensor

from ganctl import config, registry
from ganctl.data import layouts, sources
from ganctl.device import resolve
from ganctl.plugins.leaks import condition_vector
from ganctl.train import engine

FASHION = Path("/usr/share/datasets/fashion-mnist")
# --variants times these cases again with --channels-last, bf16 and --compile.
VARIANT_CASES = ("sneakers stage 1", "faces")


def fashion_sneakers_folder(root: Path) -> Path:
    """The 6,000 Fashion-MNIST training sneakers as 28x28 PNG files (real data)."""
    out = root / "fashion-sneakers-png"
    if not out.is_dir():
        with gzip.open(FASHION / "train-images-idx3-ubyte.gz") as f:
            images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)
        with gzip.open(FASHION / "train-labels-idx1-ubyte.gz") as f:
            labels = np.frombuffer(f.read(), np.uint8, offset=8)
        tmp = root / "fashion-sneakers-png.tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        for i in np.flatnonzero(labels == 7):
            Image.fromarray(images[i], "L").save(tmp / f"{i:05d}.png")
        tmp.rename(out)
    return out


# --- the reference loop's datasets: PIL per item, the usual way --------------------

class Files(Dataset):
    def __init__(self, files, load):
        self.files, self.load = files, load

    def __len__(self):
        return len(self.files)

    def __getitem__(self, i):
        return self.load(self.files[i])


def padded(size: int, mode: str):
    def load(p):
        img = Image.open(p).convert(mode)
        return pil_to_tensor(ImageOps.pad(img, (size, size), color=255 if mode == "L" else
                                          (255, 255, 255)))
    return load


def cropped(size: int):
    return lambda p: pil_to_tensor(ImageOps.fit(Image.open(p).convert("RGB"), (size, size)))


def leak_item(size: int):
    def load(p):
        img = Image.open(p).convert("RGB")
        cond = torch.tensor(condition_vector(img.size, size), dtype=torch.float32)
        return pil_to_tensor(ImageOps.pad(img, (size, size), color=(255, 255, 255))), cond
    return load


def jitter(images, load: int, crop: int):
    """Resize to `load`, one random crop of `crop` and one flip for all `images`."""
    images = [im.resize((load, load), Image.Resampling.BICUBIC) for im in images]
    y, x = random.randint(0, load - crop), random.randint(0, load - crop)
    flip = random.random() < 0.5
    out = []
    for im in images:
        im = im.crop((x, y, x + crop, y + crop))
        out.append(pil_to_tensor(ImageOps.mirror(im) if flip else im))
    return out


def paired(load: int, crop: int):
    def item(p):
        img = Image.open(p).convert("RGB")
        w, h = img.size
        return tuple(jitter([img.crop((0, 0, w // 2, h)), img.crop((w // 2, 0, w, h))],
                            load, crop))
    return item


class Unpaired(Dataset):
    def __init__(self, a, b, load: int, crop: int):
        self.a, self.b, self.load, self.crop = a, b, load, crop

    def __len__(self):
        return max(len(self.a), len(self.b))

    def __getitem__(self, i):
        a = Image.open(self.a[i % len(self.a)]).convert("RGB")
        b = Image.open(random.choice(self.b)).convert("RGB")
        return jitter([a], self.load, self.crop)[0], jitter([b], self.load, self.crop)[0]


# --- the cases ---------------------------------------------------------------------

def cases(root: Path):
    """(label, plugin, stage, config values, data folder, reference dataset, warm-up and
    timed steps)."""
    if FASHION.is_dir():
        sneakers, sneakers_name = fashion_sneakers_folder(root), "Fashion-MNIST sneakers"
    else:
        sneakers = sources.synthetic_root("sneakers", n=512, size=112, seed=0)
        sneakers_name = "synthetic sneakers"
    synth = sources.synthetic_root
    s2 = synth("sneakers", n=512, size=112, seed=0)
    e2s = synth("edges2shoes", n_train=64, n_val=8, size=256)
    h2z = synth("unpaired", n_train=64, n_test=8, size=128)
    faces = synth("celeba", n=512)
    leaks = synth("leaks", n_train=256, n_proliv=16, n_test=64)
    unp = layouts.unpaired_folders(h2z)
    return [
        (f"sneakers stage 1 DCGAN, 28 px gray, batch 128 ({sneakers_name})", "sneakers", 1,
         {"batch_size": 128, "channels": 1}, sneakers,
         Files(layouts.image_folder(sneakers), padded(28, "L")), 5, 40),
        (f"sneakers stage 1 MLP baseline, 28 px gray, batch 128 ({sneakers_name})",
         "sneakers", 1, {"batch_size": 128, "channels": 1, "arch": "mlp"}, sneakers,
         Files(layouts.image_folder(sneakers), padded(28, "L")), 20, 200),
        ("sneakers stage 2 SRGAN, 112 px, batch 16", "sneakers", 2,
         {"batch_size": 16, "channels": 3, "content": "pixel"}, s2,
         Files(layouts.image_folder(s2), padded(112, "RGB")), 2, 10),
        ("pix2pix unet_256, 256 px, batch 1", "pix2pix", 1, {"batch_size": 1, "workers": 2},
         e2s, Files(layouts.paired_folder(e2s).train, paired(286, 256)), 3, 30),
        ("CycleGAN res-6, 128 px, batch 1", "cyclegan", 1,
         {"batch_size": 1, "image_size": 128, "workers": 2}, h2z,
         Unpaired(unp.train_a, unp.train_b, 143, 128), 2, 8),
        ("faces DCGAN, 64 px, batch 128", "faces", 1, {"batch_size": 128}, faces,
         Files(layouts.celeba(faces), cropped(64)), 2, 12),
        ("leaks VAE, 64 px, batch 64", "leaks", 1, {"batch_size": 64}, leaks,
         Files(layouts.leaks_folder(leaks).train, leak_item(64)), 5, 60),
    ]


def reference(plugin, stage, sets, folder, dataset, warm, timed, device, workers) -> dict:
    """The plain loop: same recipe (nets, losses, optimisers), plain data path."""
    torch.manual_seed(0)
    cfg = config.build(plugin.config_class(stage), sets)
    data = plugin.load_data(cfg, str(folder), stage)  # the recipe's validation images
    recipe = plugin.setup(cfg, data, stage, device)
    loader = DataLoader(dataset, batch_size=cfg.batch_size, shuffle=True, drop_last=True,
                        num_workers=workers, pin_memory=device.type == "cuda")
    step, t0 = 0, None
    while step < warm + timed:
        for batch in loader:
            if step == warm:
                sync(device)
                t0 = time.perf_counter()
            batch = batch if isinstance(batch, (list, tuple)) else (batch,)
            out = recipe.step(tuple(t.to(device) for t in batch))
            losses = {k: round(v.item(), 4) for k, v in out.items()}  # the usual logging
            if step % 10 == 0:
                print(f"  reference step {step}: {losses}", flush=True)
            step += 1
            if step == warm + timed:
                break
    sync(device)
    seconds = time.perf_counter() - t0
    return {"images_per_s": round(timed * cfg.batch_size / seconds, 2),
            "seconds_per_step": round(seconds / timed, 4)}


def ganctl_loop(name, stage, sets, folder, warm, timed, device, runs: Path, extra=None) -> dict:
    overrides = {**sets, **(extra or {}), "steps": warm + timed, "log_every": warm,
                 "sample_every": 10**9, "checkpoint_every": 10**9}
    if timed % warm:
        raise ValueError("timed steps must be a multiple of the warm-up steps")
    t0 = time.perf_counter()
    res = engine.train(engine.TrainRequest(registry.get(name), stage, overrides, str(folder),
                                           str(device), runs, publish=False))
    wall = time.perf_counter() - t0
    rows = [json.loads(x) for x in (res.run / "stats.jsonl").read_text().splitlines()]
    rows = [r for r in rows if "imgs_per_s" in r]
    start = next(r for r in rows if r["step"] == warm)
    seconds = rows[-1]["time"] - start["time"]
    batch = config.build(registry.get(name).config_class(stage), sets).batch_size
    waits = [r["data_wait_frac"] for r in rows if r["step"] > warm]
    return {"images_per_s": round(timed * batch / seconds, 2),
            "seconds_per_step": round(seconds / timed, 4),
            "data_wait_frac": round(sum(waits) / len(waits), 4), "run_wall_s": round(wall, 1)}


def data_prep(plugin, stage, sets, folder) -> dict:
    """Seconds to get the training data ready: first run (decode + cache write) and a
    later run (cache mapped)."""
    from ganctl.data import cache

    cfg = config.build(plugin.config_class(stage), sets)
    shutil.rmtree(cache.root(), ignore_errors=True)
    t0 = time.perf_counter()
    plugin.load_data(cfg, str(folder), stage)
    cold = time.perf_counter() - t0
    t0 = time.perf_counter()
    plugin.load_data(cfg, str(folder), stage)
    return {"first_run_s": round(cold, 3), "later_run_s": round(time.perf_counter() - t0, 3)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--workers", type=int, default=2, help="reference DataLoader workers")
    ap.add_argument("--only", help="run the cases whose label contains this text")
    ap.add_argument("--variants", action="store_true",
                    help="also time ganctl with --channels-last, bf16 and --compile "
                         f"({', '.join(VARIANT_CASES)})")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    device = resolve(args.device)
    work = Path(tempfile.mkdtemp(prefix="ganctl-bench-"))
    os.environ["GANCTL_HOME"] = str(work / "home")  # the user's caches stay untouched
    rows = []
    for label, name, stage, sets, folder, dataset, warm, timed in cases(work):
        if args.only and args.only not in label:
            continue
        plugin = registry.get(name)
        print(label, flush=True)
        row = {"case": label, "timed_steps": timed,
               "data_prep": data_prep(plugin, stage, sets, folder),
               "reference": reference(plugin, stage, sets, folder, dataset, warm, timed,
                                      device, args.workers),
               "ganctl": ganctl_loop(name, stage, sets, folder, warm, timed, device, work / "runs")}
        row["ratio"] = round(row["ganctl"]["images_per_s"] /
                             row["reference"]["images_per_s"], 2)
        if args.variants and any(v in label for v in VARIANT_CASES):
            options = {"channels_last": {"channels_last": True},
                       "bf16": {"precision": "bf16"}, "compile": {"compile": True}}
            for key, extra in options.items():
                row[f"ganctl_{key}"] = ganctl_loop(name, stage, sets, folder, warm, timed, device,
                                              work / "runs", extra)
        print(json.dumps(row), flush=True)
        rows.append(row)
    shutil.rmtree(work, ignore_errors=True)
    doc = {**provenance(device), "reference_workers": args.workers, "results": rows}
    write_json(doc, args.json)


if __name__ == "__main__":
    main()
