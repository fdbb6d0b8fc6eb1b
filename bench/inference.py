"""Benchmark: inference verbs (start-up of --help: bench/help_time.py).

Trains each model for one step (speed does not depend on the weights' quality) into a
private GANCTL_HOME, then measures:

- `sample`: images/s of stage 1 alone and of stage 1 + the stage-2 upscaler;
- `upscale`: a 1000x1000 RGB input (-> 4000x4000): megapixels/s and peak memory;
- `translate`: latency of one 256x256 image (pix2pix unet_256, CycleGAN res-9);
- folders: `upscale` and `translate` over a folder of same-size images, run in groups
  (the default) and one image at a time, interleaved, in this process;
- `sample` of 10,000 images into a folder: peak memory against 1,000;

Each verb is timed twice: the whole command as a user runs it (a fresh process:
start-up, loading weights, reading and writing files; peak RSS from the kernel), and the
steady-state model call inside one process (after a warm-up call).

    python -m bench.inference --json docs/bench/inference.json            # CPU, as here
    python -m bench.inference --device cuda --json inference-gpu.json     # on a GPU
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from bench.common import provenance, timed, write_json
from ganctl.device import resolve
from ganctl.tasks import Generator, Translator, Upscaler

# Runs ganctl as the child of a small process: Linux carries a process's peak RSS across
# fork and exec, so a child forked straight from this (large) benchmark process would
# report this process's peak instead of its own.
LAUNCHER = """
import json, os, sys, time
t0 = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.execv(sys.executable, [sys.executable, "-m", "ganctl", *sys.argv[1:]])
_, status, usage = os.wait4(pid, 0)
print(json.dumps({"code": os.waitstatus_to_exitcode(status), "wall_s": time.perf_counter() - t0,
                  "peak_rss_mb": usage.ru_maxrss / 1024}), file=sys.stderr)
"""


def cli(*args) -> dict:
    """Run `ganctl ARGS` in a fresh process: wall seconds and peak RSS (MB)."""
    proc = subprocess.run([sys.executable, "-c", LAUNCHER, *map(str, args)],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    result = json.loads(proc.stderr.strip().splitlines()[-1])
    if result["code"] != 0:
        raise SystemExit(f"ganctl {' '.join(map(str, args))} failed:\n{proc.stderr}")
    return {"wall_s": round(result["wall_s"], 3), "peak_rss_mb": round(result["peak_rss_mb"], 1)}


def prepare(device: str) -> None:
    """One training step per model, published to the private weights cache."""
    for args in (["sneakers"], ["sneakers", "--stage", "2", "--set", "channels=3"],
                 ["edges2shoes", "--data", "synthetic"],
                 ["horse2zebra", "--data", "synthetic", "--set", "workers=0"]):
        cli("train", *args, "--steps", "1", "--set", "batch_size=2", "--device", device,
            "--runs-dir", Path(os.environ["GANCTL_HOME"]) / "runs")


def bench_sample(device, n: int) -> dict:
    stage1 = Generator.load("sneakers", device=device, stage=1)
    both_stages = Generator.load("sneakers", device=device, stage=2)
    seeds = list(range(n))
    s1 = timed(lambda: stage1.generate(seeds), device, 3)
    both = timed(lambda: both_stages.generate(seeds[:100]), device, 3)
    return {"n": n, "stage1_images_per_s": round(n / s1, 1),
            "stage1+2_images_per_s": round(100 / both, 1),
            "cli_stage1": cli("sample", "sneakers", "--stage", "1", "-n", n, "-o",
                              Path(tempfile.mkdtemp()) / "grid.png", "--device", device),
            "cli_stage1+2_100": cli("sample", "sneakers", "-n", 100, "-o",
                                    f"{tempfile.mkdtemp()}/out/", "--device", device)}


def bench_upscale(device, work: Path, tile: int) -> dict:
    rng = np.random.default_rng(0)
    small = rng.integers(0, 255, (125, 125, 3), dtype=np.uint8)
    big = Image.fromarray(small).resize((1000, 1000), Image.Resampling.BICUBIC)
    src = work / "in-1000.png"
    big.save(src)
    up = Upscaler.load("sneakers", device=device, tile=tile)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    seconds = timed(lambda: up.run([big]), device, 2)
    row = {"input": "1000x1000 RGB", "output": "4000x4000", "tile": tile,
           "seconds": round(seconds, 3), "input_mp_per_s": round(1.0 / seconds, 3),
           "output_mp_per_s": round(16.0 / seconds, 2),
           "cli": cli("upscale", src, "-o", work / "out.png", "--tile", tile, "--device",
                      device)}
    if device.type == "cuda":
        row["peak_cuda_mb"] = round(torch.cuda.max_memory_allocated(device) / 2**20, 1)
    return row


def bench_translate(device, work: Path) -> dict:
    img = Image.fromarray(np.random.default_rng(1).integers(0, 255, (256, 256, 3),
                                                              dtype=np.uint8))
    src = work / "in-256.png"
    img.save(src)
    out = {}
    for name in ("edges2shoes", "horse2zebra"):
        fn = Translator.load(name, device=device)
        seconds = timed(lambda fn=fn: fn.run([img]), device, 5)
        out[name] = {"latency_ms": round(seconds * 1000, 1),
                     "cli": cli("translate", name, src, "-o", work / f"{name}.png",
                                "--device", device)}
    return out


def folder_speed(args: list[str], group: int) -> dict:
    """`ganctl ARGS --json` in this process with groups of up to `group` images (and the
    GPU's pixel limit per group, on any device)."""
    import contextlib
    import io

    from ganctl.cli import batch, main

    before = batch.GROUP_IMAGES, dict(batch.GROUP_PIXELS)
    batch.GROUP_IMAGES = group
    batch.GROUP_PIXELS["cpu"] = batch.GROUP_PIXELS["cuda"]  # the GPU's grouping everywhere
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            try:
                main([*map(str, args), "--json"])
            except SystemExit as e:
                if e.code:
                    raise
    finally:
        batch.GROUP_IMAGES, batch.GROUP_PIXELS = before[0], before[1]
    doc = json.loads(out.getvalue())
    return {k: doc[k] for k in ("images_per_s", "output_megapixels_per_s")}


def bench_folders(device, work: Path, pairs: int = 3) -> dict:
    rng = np.random.default_rng(2)
    cases = {"upscale 64 images 64x64 -> 256x256": (64, 64, ["upscale"]),
             "translate edges2shoes 16 images 256x256": (16, 256, ["translate", "edges2shoes"]),
             "translate horse2zebra 16 images 256x256": (16, 256, ["translate", "horse2zebra"])}
    out = {}
    for label, (n, size, verb) in cases.items():
        src = work / f"folder-{size}"
        if not src.is_dir():
            src.mkdir()
            for i in range(n):
                Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8)).save(
                    src / f"{i}.png")
        args = [*verb, src, "-o", f"{work / 'folder-out'}/", "--device", device]
        runs: dict[str, list] = {"grouped": [], "one_by_one": []}
        for _ in range(pairs):  # interleaved
            runs["grouped"].append(folder_speed(args, 64))
            runs["one_by_one"].append(folder_speed(args, 1))
        row = {}
        for key, rows in runs.items():
            for metric in ("images_per_s", "output_megapixels_per_s"):
                vals = [r[metric] for r in rows]
                row[f"{key}_{metric}"] = {"median": round(statistics.median(vals), 3),
                                          "min": round(min(vals), 3), "max": round(max(vals), 3)}
        row["speedup"] = round(row["grouped_images_per_s"]["median"]
                               / row["one_by_one_images_per_s"]["median"], 2)
        print(label, json.dumps(row), flush=True)
        out[label] = row
    return out


def bench_sample_memory(device, work: Path) -> dict:
    """Peak memory of `sample` into a folder: 10,000 stage-1 images against 1,000, and
    1,000 stage 1+2 (112 px) images against 100."""
    out = {}
    for stage, counts in (("1", (1000, 10000)), ("2", (100, 1000))):
        for n in counts:
            out[f"stage 1-{stage}, {n} images"] = cli(
                "sample", "sneakers", "--stage", stage, "-n", n, "-o",
                f"{work / f'sample-{stage}-{n}'}/", "--device", device)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu")
    ap.add_argument("-n", type=int, default=1000, help="images for the sample benchmark")
    ap.add_argument("--tile", type=int, default=256, help="upscale tile (the default)")
    ap.add_argument("--only", nargs="*", choices=("sample", "upscale", "translate", "folders",
                                                  "sample_memory"))
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    device = resolve(args.device)
    work = Path(tempfile.mkdtemp(prefix="ganctl-bench-"))
    os.environ["GANCTL_HOME"] = str(work / "home")
    prepare(args.device)
    parts = {"sample": lambda: bench_sample(device, args.n),
             "upscale": lambda: bench_upscale(device, work, args.tile),
             "translate": lambda: bench_translate(device, work),
             "folders": lambda: bench_folders(args.device, work),
             "sample_memory": lambda: bench_sample_memory(args.device, work)}
    old = json.loads(args.json.read_text()) if args.only and args.json.is_file() else {}
    doc = {**old, **provenance(device)}  # parts not run this time are kept
    for name, fn in parts.items():
        if not args.only or name in args.only:
            doc[name] = fn()
    shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(doc, indent=2))
    write_json(doc, args.json)


if __name__ == "__main__":
    main()
