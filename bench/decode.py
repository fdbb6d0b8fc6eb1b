"""Benchmark: the per-item work of streamed datasets, torchvision.io against PIL.

Loads one synthetic edges2shoes pair (a 512x256 JPEG, split and resized to 286) and one
unpaired 128 px image (resized to 143) both ways, in one thread, as a DataLoader
worker does:

- ganctl: `images.read_tensor` (torchvision.io decode) + `images.resize_tensor`;
- PIL: `images.open_image` + PIL bicubic resize + conversion to a tensor.

    python -m bench.decode --json docs/bench/decode.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import torch
from PIL import Image

from bench.common import write_json
from ganctl.data import images, layouts, sources


def per_call_ms(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return round(statistics.median(times) * 1000, 3)


def pil_pair(path: Path, size: int):
    img = images.open_image(path, 3)
    w, h = img.size
    halves = img.crop((0, 0, w // 2, h)), img.crop((w // 2, 0, w, h))
    return [torch.from_numpy(images.to_array(x.resize((size, size), Image.Resampling.BICUBIC)))
            for x in halves]


def fast_pair(path: Path, size: int):
    return [images.resize_tensor(x, size)
            for x in layouts.split_pair(images.read_tensor(path, 3))]


def pil_one(path: Path, size: int):
    img = images.open_image(path, 3).resize((size, size), Image.Resampling.BICUBIC)
    return torch.from_numpy(images.to_array(img))


def fast_one(path: Path, size: int):
    return images.resize_tensor(images.read_tensor(path, 3), size)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=200)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    os.environ["GANCTL_HOME"] = tempfile.mkdtemp(prefix="ganctl-bench-")
    torch.set_num_threads(1)  # one DataLoader worker's view
    pair = layouts.paired_folder(sources.synthetic_root("edges2shoes", n_train=64, n_val=8,
                                                        size=256)).train[0]
    one = layouts.unpaired_folders(sources.synthetic_root("unpaired", n_train=64, n_test=8,
                                                          size=128)).train_a[0]
    rows = []
    for label, path, fast, pil, size in (
            ("pix2pix pair 512x256 JPEG -> 2 x 286 px", pair, fast_pair, pil_pair, 286),
            ("CycleGAN image 128 px -> 143 px", one, fast_one, pil_one, 143)):
        t_fast = per_call_ms(lambda f=fast, p=path, s=size: f(p, s), args.repeats)
        t_pil = per_call_ms(lambda f=pil, p=path, s=size: f(p, s), args.repeats)
        rows.append({"case": label, "file": path.suffix, "torchvision_ms": t_fast,
                     "pil_ms": t_pil, "speedup": round(t_pil / t_fast, 2)})
        print(json.dumps(rows[-1]), flush=True)
    doc = {"date": time.strftime("%Y-%m-%d"), "threads": 1, "torch": torch.__version__,
           "results": rows}
    write_json(doc, args.json)


if __name__ == "__main__":
    main()
