"""Benchmark: ganctl's shipping defaults against the plain loop a competent user writes.

For each plugin stage both sides train the same nets (built by the plugin's recipe, so
the same architecture, losses, optimisers and batch size):

- plain loop: fp32, default memory format, the recipe's step called in a bare loop;
  losses read with .item() only every 50 steps. Its data takes the same path as
  ganctl's: where ganctl holds the decoded images in memory (Fashion-MNIST, and the
  folders of stage 2, faces and leaks, which it decodes once into its cache), the plain
  loop decodes every file once with PIL before the clock starts and indexes an
  in-memory uint8 tensor by a random permutation; where ganctl decodes per item
  (pix2pix, CycleGAN: random jitter from full-size files), the plain loop does too, in a
  DataLoader whose workers persist and number the usable cores;
- ganctl: `ganctl.training.engine.train`, the code `ganctl train` runs, with the plugin's
  shipping defaults (precision, memory format, EMA, its own data path and logging).

Each side runs `--pairs` times, interleaved (plain, ganctl, plain, ganctl, ...), each
run a fresh start whose warm-up steps are dropped and whose timed steps take at least
20 s here (the seconds are recorded); throughput is the median over the
runs, with the ratio's median and range over the pairs. `--flip-channels-last` adds a
third run to each round: ganctl with its channels-last default turned the other way.
Timing windows start and end after the device finished its work on both sides (ganctl's
log rows wait for the loss).

Beside the speed: one step's FLOPs (torch.utils.flop_counter) and what share of the
measured peak each side reaches, the peak being the rate of the nets' own conv/linear
layers timed alone in that side's precision and memory format (bench/flops.py).

    python -m bench.vs_reference --flip-channels-last --json docs/bench/vs-reference.json
    python -m bench.vs_reference --device cuda --json vs-reference-gpu.json   # a GPU
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import random
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image, ImageOps
from torch.utils.data import DataLoader, Dataset
from torchvision.transforms.functional import pil_to_tensor

from bench.common import provenance, sync, write_json
from bench.flops import layer_ceiling, matmul_peak, record_layers, step_flops
from bench.stats import spread
from ganctl import config, registry
from ganctl.data import catalog, layouts, sources
from ganctl.data.batches import BatchStream
from ganctl.data.sources import ImageTensors
from ganctl.device import resolve, usable_cores
from ganctl.training import engine

PLAIN = {"precision": "fp32", "channels_last": False, "compile": False, "ema": 0.0}


# --- the plain loop's datasets: PIL per item, as torchvision's ImageFolder does ------

class Files(Dataset):
    def __init__(self, files, load):
        self.files, self.load = files, load

    def __len__(self):
        return len(self.files)

    def __getitem__(self, i):
        return self.load(self.files[i])


def padded(size: int):
    def load(p):
        return pil_to_tensor(ImageOps.pad(Image.open(p).convert("RGB"), (size, size),
                                          color=(255, 255, 255)))
    return load


def cropped(size: int):
    return lambda p: pil_to_tensor(ImageOps.fit(Image.open(p).convert("RGB"), (size, size)))


def leak_item(size: int):
    def load(p):
        img = Image.open(p).convert("RGB")
        w, h = img.size  # the leaks plugin's condition: log aspect ratio, log scale
        cond = torch.tensor([math.log(w / h), math.log(math.sqrt(w * h) / size)])
        return pil_to_tensor(ImageOps.pad(img, (size, size), color=(255, 255, 255))), cond
    return load


def jitter(images, load: int, crop: int):
    """Resize to `load`, one random crop of `crop` and one flip for all `images`."""
    images = [im.resize((load, load), Image.Resampling.BICUBIC) for im in images]
    y, x = random.randint(0, load - crop), random.randint(0, load - crop)
    flip = random.random() < 0.5
    return [pil_to_tensor(ImageOps.mirror(im.crop((x, y, x + crop, y + crop))) if flip
                          else im.crop((x, y, x + crop, y + crop))) for im in images]


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

@dataclass
class Case:
    label: str
    plugin: str
    stage: int
    sets: dict
    data: str  # what ganctl trains on: a catalog name or a folder
    dataset: Dataset | None  # the plain loop's files; None: Fashion-MNIST in memory
    warm: int
    timed: int
    conv: bool = True  # a convolutional stage (the issue's >= 1.5x goal applies)


def cases() -> list[Case]:
    synth = sources.synthetic_root
    fashion = "fashion-sneakers" if catalog.DEBIAN_FASHION_MNIST.is_dir() else "synthetic"
    named = "Fashion-MNIST" if fashion == "fashion-sneakers" else "synthetic"
    s2 = synth("sneakers", n=512, size=112, seed=0)
    e2s = synth("edges2shoes", n_train=64, n_val=8, size=256)
    h2z = synth("unpaired", n_train=64, n_test=8, size=128)
    faces = synth("celeba", n=512)
    leaks = synth("leaks", n_train=256, n_proliv=16, n_test=64)
    unp = layouts.unpaired_folders(h2z)
    return [
        Case(f"sneakers stage 1 DCGAN, 28 px gray, batch 128, {named} sneakers",
             "sneakers", 1, {"batch_size": 128, "channels": 1}, fashion, None, 5, 300),
        Case("sneakers stage 1 MLP baseline, same data", "sneakers", 1,
             {"batch_size": 128, "channels": 1, "arch": "mlp"}, fashion, None, 20, 2400,
             conv=False),
        # whole 112-px images on both sides: the default 64-px crops would time less work
        Case("sneakers stage 2 SRGAN, 28 -> 112 px, batch 16", "sneakers", 2,
             {"batch_size": 16, "channels": 3, "content": "pixel", "crop": 0}, str(s2),
             Files(layouts.image_folder(s2), padded(112)), 2, 620),
        # the paper's recipes: on a CPU `recipe=auto` would pick smaller nets
        Case("pix2pix unet_256, 256 px, batch 1", "pix2pix", 1,
             {"batch_size": 1, "recipe": "paper"},
             str(e2s), Files(layouts.paired_folder(e2s).train, paired(286, 256)), 2, 56),
        Case("CycleGAN res-6, 128 px, batch 1", "cyclegan", 1,
             {"batch_size": 1, "image_size": 128, "recipe": "paper"}, str(h2z),
             Unpaired(unp.train_a, unp.train_b, 143, 128), 1, 44),
        Case("faces DCGAN, 64 px, batch 128", "faces", 1, {"batch_size": 128}, str(faces),
             Files(layouts.celeba(faces), cropped(64)), 2, 50),
        Case("leaks VAE, 64 px, batch 64", "leaks", 1, {"batch_size": 64}, str(leaks),
             Files(layouts.leaks_folder(leaks).train, leak_item(64)), 5, 140),
    ]


def configured(case: Case, device, sets: dict | None = None):
    """The config `ganctl train` builds for the case on `device` (device defaults too)."""
    cls = registry.get(case.plugin).config_class(case.stage)
    given = {**case.sets, **(sets or {})}
    return config.build(cls, given, cls.device_defaults(device.type, given))


def build(case: Case, device, sets: dict):
    plugin = registry.get(case.plugin)
    cfg = configured(case, device, sets)
    data = plugin.load_data(cfg, case.data, case.stage)
    return cfg, data, plugin.setup(cfg, data, case.stage, device)


def memory_batches(tensors: tuple[torch.Tensor, ...], batch: int, device):
    """Random batches of images held on the device as uint8."""
    tensors = tuple(t.to(device) for t in tensors)
    while True:
        order = torch.randperm(len(tensors[0]), device=device)
        for i in range(len(order) // batch):
            yield tuple(t[order[i * batch:(i + 1) * batch]] for t in tensors)


def plain_data(case: Case, data) -> str:
    """How the plain loop reads its images: the way ganctl does (see the module's doc)."""
    if case.dataset is None:
        return "in memory"
    return "decoded once" if isinstance(data.train, ImageTensors) else "DataLoader workers"


def decoded(case: Case) -> tuple[torch.Tensor, ...]:
    """The training images decoded once: the 6,000 Fashion-MNIST sneakers read from their
    IDX files, or every file of the plain loop's dataset through its PIL loader."""
    if case.dataset is None:
        if case.data != "fashion-sneakers":  # no Debian Fashion-MNIST: the synthetic set
            return build(case, torch.device("cpu"), PLAIN)[1].train.tensors
        return (torch.from_numpy(layouts.fashion_mnist(catalog.DEBIAN_FASHION_MNIST,
                                                       "train", classes=(7,))[0]),)
    items = [case.dataset[i] for i in range(len(case.dataset))]
    items = [it if isinstance(it, tuple) else (it,) for it in items]
    return tuple(torch.stack(parts) for parts in zip(*items))


def folder_batches(dataset: Dataset, batch: int, device):
    workers = usable_cores()
    loader = DataLoader(dataset, batch_size=batch, shuffle=True, drop_last=True,
                        num_workers=workers, persistent_workers=True,
                        pin_memory=device.type == "cuda")
    while True:
        for b in loader:
            b = b if isinstance(b, (list, tuple)) else (b,)
            yield tuple(t.to(device, non_blocking=True) for t in b)


def plain_run(case: Case, device, seed: int) -> tuple[float, float]:
    """(images per second, seconds) of the plain loop over its timed steps."""
    torch.manual_seed(seed)
    random.seed(seed)
    torch.backends.cudnn.benchmark = device.type == "cuda"  # as ganctl sets it
    cfg, data, recipe = build(case, device, PLAIN)
    batches = (folder_batches(case.dataset, cfg.batch_size, device)
               if plain_data(case, data) == "DataLoader workers"
               else memory_batches(decoded(case), cfg.batch_size, device))
    for step in range(case.warm + case.timed):
        if step == case.warm:
            sync(device)
            t0 = time.perf_counter()
        out = recipe.step(next(batches))
        if (step + 1) % 50 == 0:
            print(f"  plain step {step + 1}: "
                  f"{ {k: round(v.item(), 4) for k, v in out.items()} }", flush=True)
    sync(device)
    seconds = time.perf_counter() - t0
    return case.timed * cfg.batch_size / seconds, seconds


def ganctl_run(case: Case, device, runs: Path, seed: int) -> tuple[float, float, float]:
    """(images per second, seconds) over the timed steps and the data wait share of
    `engine.train`."""
    overrides = {**case.sets, "seed": seed, "steps": case.warm + case.timed,
                 "log_every": case.warm, "sample_every": 10**9, "checkpoint_every": 10**9}
    if case.timed % case.warm:
        raise ValueError("timed steps must be a multiple of the warm-up steps")
    res = engine.train(engine.TrainRequest(registry.get(case.plugin), case.stage, overrides,
                                           case.data, str(device), runs, publish=False))
    rows = [json.loads(x) for x in (res.run / "stats.jsonl").read_text().splitlines()]
    rows = [r for r in rows if "imgs_per_s" in r]
    start = next(r for r in rows if r["step"] == case.warm)
    cfg = configured(case, device)
    waits = [r["data_wait_frac"] for r in rows if r["step"] > case.warm]
    seconds = rows[-1]["time"] - start["time"]
    return case.timed * cfg.batch_size / seconds, seconds, sum(waits) / len(waits)


def ganctl_defaults(case: Case, device) -> dict:
    cfg = configured(case, device)
    return {k: getattr(cfg, k) for k in ("precision", "channels_last", "compile", "ema")}


def compute(case: Case, device, defaults: dict) -> dict:
    """One step's FLOPs and each side's isolated-layer peak."""
    from ganctl.training import accel

    torch.manual_seed(0)
    cfg, data, recipe = build(case, device, PLAIN)
    batch = next(iter(BatchStream(data.train, cfg.batch_size, 0, device)))
    flops = step_flops(recipe, batch)
    layers = record_layers(recipe, batch)
    precision = accel.resolve_precision(defaults["precision"], device)
    plain = layer_ceiling(layers, device, "fp32", False)
    ours = layer_ceiling(layers, device, precision, defaults["channels_last"])
    return {"gflop_per_step": round(flops / 1e9, 3), "ganctl_precision": precision,
            "plain_peak_gflop_per_s": round(plain["flop_per_s"] / 1e9, 1),
            "ganctl_peak_gflop_per_s": round(ours["flop_per_s"] / 1e9, 1),
            "slowest_layers_ganctl": ours["slowest"]}


def measure(case: Case, device, pairs: int, runs: Path, flip: bool) -> dict:
    defaults = ganctl_defaults(case, device)
    row = {"case": case.label, "timed_steps": case.timed, "warm_steps": case.warm,
           "plain_data": plain_data(case, build(case, torch.device("cpu"), PLAIN)[1]),
           "ganctl_defaults": defaults, **compute(case, device, defaults)}
    plain, ours, flipped, waits, seconds = [], [], [], [], []
    other = dataclasses.replace(case, sets={**case.sets,
                                            "channels_last": not defaults["channels_last"]})
    for i in range(pairs):
        speed, plain_s = plain_run(case, device, seed=i)
        plain.append(speed)
        speed, ours_s, wait = ganctl_run(case, device, runs, seed=i)
        ours.append(speed)
        waits.append(wait)
        seconds += [plain_s, ours_s]
        if flip:
            flipped.append(ganctl_run(other, device, runs, seed=i)[0])
        print(f"  round {i + 1}: plain {plain[-1]:.1f} img/s, ganctl {ours[-1]:.1f} img/s"
              + (f", channels_last={not defaults['channels_last']} {flipped[-1]:.1f}"
                 if flip else ""), flush=True)
    if flip:
        row["ganctl_channels_last_flipped"] = {
            "channels_last": not defaults["channels_last"], "img_per_s": spread(flipped, 2),
            "vs_default": spread([f / o for f, o in zip(flipped, ours)], 2)}
    batch = configured(case, device).batch_size
    achieved = {side: statistics.median(v) / batch * row["gflop_per_step"]
                for side, v in (("plain", plain), ("ganctl", ours))}
    row.update({
        "plain_img_per_s": spread(plain, 2), "ganctl_img_per_s": spread(ours, 2),
        "ratio": spread([o / p for o, p in zip(ours, plain)], 2),
        "ganctl_data_wait": round(statistics.median(waits), 4),
        "shortest_window_s": round(min(seconds), 1),
        "plain_gflop_per_s": round(achieved["plain"], 1),
        "ganctl_gflop_per_s": round(achieved["ganctl"], 1),
        "plain_share_of_peak": round(achieved["plain"] / row["plain_peak_gflop_per_s"], 3),
        "ganctl_share_of_peak": round(achieved["ganctl"] / row["ganctl_peak_gflop_per_s"], 3),
        "conv": case.conv})
    return row


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--pairs", type=int, default=5, help="interleaved plain/ganctl runs")
    ap.add_argument("--only", nargs="+", help="run the cases whose label contains one of "
                    "these texts")
    ap.add_argument("--flip-channels-last", action="store_true",
                    help="also time ganctl with channels_last the other way, in each round")
    ap.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                    help="config values for ganctl's side (e.g. precision=fp32)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    chosen = dict(config.parse_sets(args.set))
    device = resolve(args.device)
    work = Path(tempfile.mkdtemp(prefix="ganctl-bench-"))
    os.environ["GANCTL_HOME"] = str(work / "home")  # the user's caches stay untouched
    peaks = {p: round(matmul_peak(device, p) / 1e9, 1) for p in ("fp32", "bf16")}
    print(f"2048^3 matmul: {peaks} GFLOP/s", flush=True)
    rows = []
    for case in cases():
        if args.only and not any(text in case.label for text in args.only):
            continue
        print(case.label, flush=True)
        case.sets = {**case.sets, **chosen} if chosen else case.sets
        row = measure(case, device, args.pairs, work / "runs", args.flip_channels_last)
        print(json.dumps(row), flush=True)
        rows.append(row)
    doc = {**provenance(device), "pairs": args.pairs, "ganctl_set": chosen,
           "plain_workers": usable_cores(), "matmul_peak_gflop_per_s": peaks, "results": rows}
    write_json(doc, args.json)


if __name__ == "__main__":
    main()
