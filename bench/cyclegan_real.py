"""CycleGAN on real horse2zebra photographs: ganctl's defaults against the paper's
reference loop (bench/plain.py), side by side (two processes at the same time, one torch
thread each) for the same minutes, on ../shared/data/horse2zebra (never committed):
120 + 120 training images, split by a fixed shuffle into 110 + 110 train and 10 + 10 val;
the 20 + 20 test images are the test split.

ganctl goes through the shipped CLI (`ganctl train horse2zebra --minutes M`, `--resume
auto` for each later budget, `ganctl translate horse2zebra` both ways and back). The
reference translates each 256-px input at 256 px. Scores per direction, against the real
images of the target domain of the same split (bench/domain.py, a classifier trained on the
train split only): the share classified as the target domain, FD and KID in its features,
and the cycle reconstruction PSNR (A -> B -> A against A); and what the classifier does not
see (bench/artefacts.py): the checkerboard of the translations (real images' beside them)
and the change of their background (the median pixel) from the input, and its colour cast.

    python -m bench.cyclegan_real --json docs/bench/cyclegan-real.json --grids docs/img
    python -m bench.cyclegan_real --size 256 --minutes 10 --json docs/bench/cyclegan-real-256.json
    python -m bench.cyclegan_real --seeds 0 --minutes 0.1 --size 64 --domain-steps 50  # smoke
    python -m bench.cyclegan_real --seeds 0 1 --against lambda_identity=0 --split val  # tuning
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from bench.common import provenance, write_json
from bench.sides import (
    ganctl_budgets,
    ganctl_cmd,
    print_medians,
    run_sides,
    side_by_side_args,
)
from bench.stats import spread

HERE = Path(__file__).resolve().parent
DATA = HERE.parent.parent / "shared" / "data" / "horse2zebra"
SIDE = 256
WAYS = {"AtoB": ("A", "B"), "BtoA": ("B", "A")}


def split() -> dict[str, dict[str, list[Path]]]:
    out: dict[str, dict[str, list[Path]]] = {"train": {}, "val": {}, "test": {}}
    for dom in ("A", "B"):
        files = sorted((DATA / f"train{dom}").glob("*.jpg"))
        random.Random(0).shuffle(files)
        out["train"][dom], out["val"][dom] = files[10:], files[:10]
        out["test"][dom] = sorted((DATA / f"test{dom}").glob("*.jpg"))
    return out


def read(files: list[Path]) -> torch.Tensor:
    arr = np.stack([np.asarray(Image.open(f).convert("RGB").resize((SIDE, SIDE), Image.BICUBIC))
                    for f in files])
    return torch.from_numpy(arr).permute(0, 3, 1, 2)


def read_folder(folder: Path) -> torch.Tensor:
    return read(sorted(folder.iterdir()))


def read_outputs(folder: Path, inputs: list[Path]) -> torch.Tensor:
    """The outputs made from `inputs`, in their order (ganctl names them STEM-NAME.png,
    the reference STEM.png; a translated-back image has both suffixes)."""
    files = list(folder.iterdir())
    return read([next(p for p in files if p.stem == f.stem or p.stem.startswith(f.stem + "-"))
                 for f in inputs])


def lay_out(root: Path) -> None:
    """root/data: trainA/ trainB/ (the train split) and testA/ testB/ (val, for ganctl's
    sample grids); root/inputs/{val,test}{A,B}: the images both sides translate."""
    parts = split()
    for dom in ("A", "B"):
        for sub, files, where in (("train", parts["train"][dom], "data"),
                                  ("test", parts["val"][dom], "data")):
            (root / where / f"{sub}{dom}").mkdir(parents=True)
            for f in files:
                (root / where / f"{sub}{dom}" / f.name).symlink_to(f)
        for sub in ("val", "test"):
            (root / "inputs" / f"{sub}{dom}").mkdir(parents=True)
            for f in parts[sub][dom]:
                (root / "inputs" / f"{sub}{dom}" / f.name).symlink_to(f)


def run_ganctl(root: Path, out: Path, seed: int, budgets: list[float], extra: list[str]):
    """The ganctl side: the shipped CLI, one budget after another by resuming; each
    split translated both ways, and each translation translated back."""
    def translate(minutes, done):
        for sub in ("val", "test"):
            for way, (src, _) in WAYS.items():
                there = out / sub / f"{minutes:g}" / way
                back = out / sub / f"{minutes:g}" / f"{way}-back"
                for inp, dst, direction in ((root / "inputs" / f"{sub}{src}", there, way),
                                            (there, back, "BtoA" if way == "AtoB" else "AtoB")):
                    subprocess.run(ganctl_cmd("translate", "horse2zebra", str(inp), "-o",
                                              f"{dst}/", "--direction", direction, "--weights",
                                              done["weights"]), check=True, capture_output=True)

    ganctl_budgets("horse2zebra", root / "data", out, seed, budgets, extra, translate)


def run_plain(root: Path, out: Path, seed: int, budgets: list[float], size: int):
    from bench import plain

    out.mkdir(parents=True, exist_ok=True)
    a, b = (read_folder(root / "data" / f"train{d}") for d in ("A", "B"))

    def snapshot(budget, nets, steps, seconds):
        (out / f"steps-{budget / 60:g}.json").write_text(json.dumps({"step": steps}))
        g = {"AtoB": nets[0], "BtoA": nets[1]}
        for sub in ("val", "test"):
            for way, (src, _) in WAYS.items():
                folder = out / sub / f"{budget / 60:g}"
                for name in (way, f"{way}-back"):
                    (folder / name).mkdir(parents=True)
                files = sorted((root / "inputs" / f"{sub}{src}").iterdir())
                with torch.no_grad():
                    x = read(files).float().div(127.5).sub(1)
                    y = torch.cat([g[way](x[i:i + 1]) for i in range(len(x))])
                    other = g["BtoA" if way == "AtoB" else "AtoB"]
                    z = torch.cat([other(y[i:i + 1]) for i in range(len(y))])
                for t, name in ((y, way), (z, f"{way}-back")):
                    img = t.add(1).mul(127.5).round().clamp(0, 255).byte().permute(0, 2, 3, 1)
                    for f, arr in zip(files, img.numpy()):
                        Image.fromarray(arr).save(folder / name / f"{f.stem}.png")

    plain.train_cyclegan(a, b, [m * 60 for m in budgets], snapshot, seed=seed, crop=size)


def score_side(side_dir: Path, minutes: float, sub: str, net, parts) -> dict:
    from bench import artefacts, domain
    from ganctl.metrics.image import psnr

    row = {}
    for way, (src, dst) in WAYS.items():
        folder = side_dir / sub / f"{minutes:g}"
        fake, back = (read_outputs(folder / name, parts[sub][src]) for name in (way, f"{way}-back"))
        real_src, real_dst = read(parts[sub][src]), read(parts[sub][dst])
        cell = domain.scores(net, fake, real_dst, target=1 if dst == "B" else 0)
        cell["cycle_psnr"] = float(psnr(back.float() / 255, real_src.float() / 255).mean())
        cell["checkerboard"] = artefacts.checkerboard(fake)
        cell.update(artefacts.background(real_src, fake))
        row[way] = cell
    return row


def side_by_side(seed: int, budgets: list[float], size: int, extra: list[str], against,
                 work: Path, net) -> dict:
    root = work / f"seed{seed}"
    lay_out(root)
    common = [sys.executable, "-m", __spec__.name, "--child", "--root", str(root),
              "--seed", str(seed),
              "--size", str(size), "--minutes", *map(str, budgets)]
    size_set = [f"image_size={size}"]
    sides = run_sides(common, root, [*size_set, *extra],
                         against and [*size_set, *against])
    parts = split()
    rows: dict = {}
    for side in sides:
        rows[side] = {}
        for m in budgets:
            steps = json.loads((root / side / f"steps-{m:g}.json").read_text())["step"]
            rows[side][f"{m:g}"] = {"steps": steps, **{sub: score_side(root / side, m, sub, net,
                                                                        parts)
                                                       for sub in ("val", "test")}}
    return rows


def grid(root: Path, minutes: float, path: Path, sides: list[str], sub: str = "test",
         rows: int = 3, px: int = 128) -> None:
    """Per direction: input | each side (reference or variant, ganctl) for the first
    `rows` images of the split `sub` (a tuning run looks at val images only)."""
    parts, tiles = split(), []
    for way, (src, _) in WAYS.items():
        for i in range(rows):
            cells = [Image.open(parts[sub][src][i]).convert("RGB")]
            for side in sides:
                out = read_outputs(root / side / sub / f"{minutes:g}" / way,
                                   [parts[sub][src][i]])
                cells.append(Image.fromarray(out[0].permute(1, 2, 0).numpy()))
            tiles.append(np.concatenate([np.asarray(c.resize((px, px), Image.LANCZOS))
                                         for c in cells], 1))
    Image.fromarray(np.concatenate(tiles, 0)).save(path, quality=88, optimize=True)


def summarise(runs: dict, sub: str) -> dict:
    """Median and range over seeds of every score, per side, budget and direction."""
    out: dict = {}
    first = next(iter(runs.values()))
    for side, budgets in first.items():
        for m, row in budgets.items():
            cell = out.setdefault(side, {}).setdefault(m, {})
            steps = [r[side][m]["steps"] for r in runs.values()]
            cell["steps"] = spread(steps)
            for way in WAYS:
                for key in row[sub][way]:
                    vals = [r[side][m][sub][way][key] for r in runs.values()]
                    cell[f"{way} {key}"] = spread(vals)
    return out


def domain_net(parts: dict, steps: int, cache: Path | None):
    """The domain classifier of the train split (minutes of CPU), reused from `cache`
    when that holds one trained on the same images for as many steps."""
    from bench import domain

    key = {"steps": steps, "train": {d: [f.name for f in parts["train"][d]] for d in "AB"}}
    if cache and cache.is_file():
        saved = torch.load(cache, weights_only=True)
        if saved["key"] == key:
            net = domain.DomainNet()
            net.load_state_dict(saved["state"])
            return net.eval()
    net = domain.train(read(parts["train"]["A"]), read(parts["train"]["B"]), steps=steps)
    if cache:
        torch.save({"key": key, "state": net.state_dict()}, cache)
    return net


def main() -> None:
    ap = side_by_side_args(__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=128, help="training crop side, both sides")
    ap.add_argument("--domain-steps", type=int, default=2400,
                    help="training steps of the domain classifier")
    ap.add_argument("--domain-cache", type=Path,
                    help="a file to keep the domain classifier in between runs")
    args = ap.parse_args()
    if args.child:  # one thread per side; the scoring between runs uses every core
        torch.set_num_threads(1)
        if args.side == "ganctl":
            run_ganctl(args.root, args.out, args.seed, args.minutes, args.sets_extra)
        else:
            run_plain(args.root, args.out, args.seed, args.minutes, args.size)
        return
    if not DATA.is_dir():
        sys.exit(f"no real data at {DATA} (see its README)")
    from bench import artefacts, domain

    parts = split()
    net = domain_net(parts, args.domain_steps, args.domain_cache)
    acc = domain.robust_accuracy(net, read(parts["test"]["A"]), read(parts["test"]["B"]))
    print(f"domain classifier: test accuracy {acc}", flush=True)
    real_checkerboard = {sub: {d: artefacts.checkerboard(read(parts[sub][d])) for d in "AB"}
                         for sub in ("val", "test")}
    doc = {**provenance(torch.device("cpu")), "threads_per_side": 1, "seeds": args.seeds,
           "minutes": args.minutes, "size": args.size, "ganctl_set": args.sets_extra,
           "against": args.against,
           "domain_classifier_test_accuracy": acc, "real_checkerboard": real_checkerboard,
           "split_sizes": {k: {d: len(v) for d, v in p.items()} for k, p in parts.items()}}
    runs = {}
    with tempfile.TemporaryDirectory(prefix="cyclegan-real-") as tmp:
        for seed in args.seeds:
            runs[seed] = side_by_side(seed, args.minutes, args.size, args.sets_extra,
                                      args.against, Path(tmp), net)
            print(f"seed {seed}: {json.dumps(runs[seed])}", flush=True)
            if args.grids and seed == args.seeds[0]:
                args.grids.mkdir(parents=True, exist_ok=True)
                other = "variant" if args.against else "reference"
                name = "-variant" if args.against else ""
                grid(Path(tmp) / f"seed{seed}", args.minutes[-1],
                     args.grids / f"cyclegan-horse2zebra-{args.size}{name}.jpg",
                     [other, "ganctl"], args.split)
    doc.update(runs=runs, val=summarise(runs, "val"), test=summarise(runs, "test"))
    print_medians(doc[args.split])
    write_json(doc, args.json)


if __name__ == "__main__":
    main()
