"""pix2pix on real photographs: ganctl's defaults against the paper's reference loop
(bench/plain.py: U-Net 256, 70x70 PatchGAN, batch 1, data in memory), trained side by side
(two processes at the same time, one torch thread each) for the same minutes, on the real
pairs in ../shared/data (never committed):

- edges2shoes: 20 pairs, edges -> shoe photo; a seeded split of 12 train, 3 val, 5 test;
- facades: labels -> photo (the dataset's BtoA); its 80 train pairs split 70 train /
  10 val, and its 15 val pairs are the test split.

Defaults were chosen on the val split (`--split val`); the report is on the test split.
The ganctl side goes through the shipped CLI: `ganctl train ... --minutes M` and, for each
later budget, `--resume auto --minutes M` (minutes count training time across resumes,
as the reference's clock does), then `ganctl translate` on the split's input images. The
reference translates each 256-px input at 256 px with its own statistics, dropout off.
Scores against the true photos at 256 px: L1 (0-255 scale, lower is better), PSNR, SSIM.

    python -m bench.pix2pix_real --json docs/bench/pix2pix-real.json --grids docs/img
    python -m bench.pix2pix_real --sets facades --seeds 0 --minutes 2 5 --split val \\
        --set lr=4e-4        # try a ganctl setting on the val split
    python -m bench.pix2pix_real --sets facades --seeds 0 1 --split val \\
        --against lambda_l1=200      # ... against another one, side by side
    python -m bench.pix2pix_real --sets facades --update --json docs/bench/pix2pix-real.json \\
        --grids docs/img             # rerun one set, keep the other's rows
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from bench.common import provenance, write_json
from bench.sides import add_against, ganctl_budgets, ganctl_cmd, run_sides
from bench.stats import spread

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared" / "data"
SIDE = 256  # the datasets' pair halves, and the size both sides are scored at
# Test L1 (0-255) at or under which edges2shoes outputs read as shoes: chosen by looking
# at both sides' seed-0 test outputs over the budgets (docs/img/pix2pix-edges2shoes-
# minutes.png): at 45.7 the paper's loop gave red blobs inside the outline, at 37.6 shoes.


def split(name: str) -> dict[str, list[Path]]:
    """Train/val/test files of a set, and its direction (which half is the input)."""
    if name == "edges2shoes":
        files = sorted((SHARED / "edges2shoes" / "train").glob("*.jpg"))
        random.Random(0).shuffle(files)
        return {"train": files[:12], "val": files[12:15], "test": files[15:]}
    files = sorted((SHARED / "facades" / "train").glob("*.jpg"))
    random.Random(0).shuffle(files)
    return {"train": files[10:], "val": files[:10],
            "test": sorted((SHARED / "facades" / "val").glob("*.jpg"))}


DIRECTION = {"edges2shoes": "AtoB", "facades": "BtoA"}


def halves(path: Path, direction: str) -> tuple[np.ndarray, np.ndarray]:
    """(input, target) uint8 HxWx3 halves of an A|B pair at SIDE px."""
    img = np.asarray(Image.open(path).convert("RGB").resize((2 * SIDE, SIDE), Image.BICUBIC))
    a, b = img[:, :SIDE], img[:, SIDE:]
    return (a, b) if direction == "AtoB" else (b, a)


def lay_out(name: str, root: Path) -> None:
    """root/data/{train,val}: the pairs as ganctl reads them (symlinks); root/inputs/
    {val,test}/N.png: the input halves both sides translate."""
    parts = split(name)
    for sub in ("train", "val"):
        (root / "data" / sub).mkdir(parents=True)
        for i, f in enumerate(parts[sub]):
            (root / "data" / sub / f"{i:03d}_{f.name}").symlink_to(f)
    for sub in ("val", "test"):
        (root / "inputs" / sub).mkdir(parents=True)
        for i, f in enumerate(parts[sub]):
            inp = halves(f, DIRECTION[name])[0]
            Image.fromarray(inp).save(root / "inputs" / sub / f"{i:03d}.png")


def run_ganctl(root: Path, out: Path, seed: int, budgets: list[float], extra: list[str],
               name: str) -> None:
    """The ganctl side: the shipped CLI (the set's own plugin, so its defaults), one budget
    after another by resuming."""
    def translate(minutes, done):
        for sub in ("val", "test"):
            subprocess.run(ganctl_cmd("translate", name, str(root / "inputs" / sub), "-o",
                                      f"{out / sub / f'{minutes:g}'}/", "--weights",
                                      done["weights"]), check=True, capture_output=True)

    ganctl_budgets(name, root / "data", out, seed, budgets,
                   [f"direction={DIRECTION[name]}", *extra], translate)


def run_plain(root: Path, out: Path, seed: int, budgets: list[float], direction: str) -> None:
    """The reference side: bench/plain.py's loop, translating both splits at each budget."""
    from bench import plain

    pairs = [halves(f, direction) for f in sorted((root / "data" / "train").iterdir())]
    a = torch.from_numpy(np.stack([p[0] for p in pairs])).permute(0, 3, 1, 2)
    b = torch.from_numpy(np.stack([p[1] for p in pairs])).permute(0, 3, 1, 2)

    out.mkdir(parents=True, exist_ok=True)

    def snapshot(budget, g, steps, seconds):
        (out / f"steps-{budget / 60:g}.json").write_text(json.dumps({"step": steps,
                                                                     "seconds": seconds}))
        for sub in ("val", "test"):
            folder = out / sub / f"{budget / 60:g}"
            folder.mkdir(parents=True)
            for f in sorted((root / "inputs" / sub).iterdir()):
                x = torch.from_numpy(np.asarray(Image.open(f))).permute(2, 0, 1)[None]
                with torch.no_grad():
                    y = g(x.float().div(127.5).sub(1))
                img = y[0].add(1).mul(127.5).round().clamp(0, 255).byte().permute(1, 2, 0)
                Image.fromarray(img.numpy()).save(folder / f.name)

    plain.train_pix2pix(a, b, [m * 60 for m in budgets], snapshot, seed=seed)


def scores(outputs: Path, truths: list[np.ndarray]) -> dict[str, float]:
    from ganctl.metrics.image import psnr, ssim

    fake = np.stack([np.asarray(Image.open(f).convert("RGB")) for f in sorted(outputs.iterdir())])
    true = np.stack(truths)
    x = torch.from_numpy(fake).permute(0, 3, 1, 2).float() / 255
    y = torch.from_numpy(true).permute(0, 3, 1, 2).float() / 255
    return {"l1": float((x - y).abs().mean() * 255), "psnr": float(psnr(x, y).mean()),
            "ssim": float(ssim(x, y).mean())}


def side_by_side(name: str, seed: int, budgets: list[float], extra: list[str], against,
                 work: Path):
    """Both sides trained at the same time; per budget and split: scores and steps."""
    root = work / f"{name}-{seed}"
    lay_out(name, root)
    direction = DIRECTION[name]
    common = [sys.executable, "-m", __spec__.name, "--child", "--root", str(root),
              "--seed", str(seed),
              "--name", name, "--minutes", *map(str, budgets)]
    sides = run_sides(common, root, extra, against)
    parts = split(name)
    rows = {}
    for side in sides:
        rows[side] = {}
        for m in budgets:
            row = {"steps": json.loads((root / side / f"steps-{m:g}.json").read_text())["step"]}
            for sub in ("val", "test"):
                truths = [halves(f, direction)[1] for f in parts[sub]]
                row[sub] = scores(root / side / sub / f"{m:g}", truths)
            rows[side][f"{m:g}"] = row
    return rows


def grid(name: str, root: Path, minutes: float, path: Path, rows: int = 3, px: int = 112):
    """input | reference | ganctl | truth for the first `rows` test images, `px` a tile
    (small enough for the picture to stay under 300 KB)."""
    parts = split(name)
    tiles = []
    for i in range(min(rows, len(parts["test"]))):
        inp, truth = halves(parts["test"][i], DIRECTION[name])
        ref, ours = (Image.open(sorted((root / side / "test" / f"{minutes:g}").iterdir())[i])
                     for side in ("reference", "ganctl"))
        row = [Image.fromarray(inp), ref.convert("RGB"), ours.convert("RGB"),
               Image.fromarray(truth)]
        tiles.append(np.concatenate([np.asarray(t.resize((px, px), Image.LANCZOS))
                                     for t in row], 1))
    Image.fromarray(np.concatenate(tiles, 0)).save(path, optimize=True)


def budget_grid(name: str, root: Path, budgets: list[float], path: Path, px: int = 64):
    """input | the paper's loop at each budget | ganctl at each budget | truth, one row
    per test image."""
    parts, rows = split(name), []
    for i, f in enumerate(parts["test"]):
        inp, truth = halves(f, DIRECTION[name])
        cells = [Image.fromarray(inp)]
        for side in ("reference", "ganctl"):
            cells += [Image.open(sorted((root / side / "test" / f"{m:g}").iterdir())[i])
                      .convert("RGB") for m in budgets]
        cells.append(Image.fromarray(truth))
        rows.append(np.concatenate([np.asarray(c.resize((px, px), Image.LANCZOS))
                                    for c in cells], 1))
    Image.fromarray(np.concatenate(rows, 0)).save(path, optimize=True)


def summarise(runs: dict[int, dict], split_name: str) -> dict:
    """Median and range over seeds of each side's scores at each budget."""
    out: dict = {}
    first = next(iter(runs.values()))
    for side, budgets in first.items():
        out[side] = {}
        for m in budgets:
            cell = {}
            for key in ("l1", "psnr", "ssim", "steps"):
                vals = [r[side][m]["steps"] if key == "steps" else r[side][m][split_name][key]
                        for r in runs.values()]
                cell[key] = spread(vals)
            out[side][m] = cell
    return out


def recognisable_l1(runs: dict[int, dict]) -> float:
    """The bar, a rule fixed before any output is looked at (no number picked from
    pictures): the paper loop's median test L1 after its longest budget."""
    last = max(next(iter(runs.values()))["reference"], key=float)
    return statistics.median(r["reference"][last]["test"]["l1"] for r in runs.values())


def minutes_to_recognisable(runs: dict[int, dict], side: str, bar: float) -> list[float | None]:
    """Per seed: the first budget whose test L1 is at most `bar` (None: none)."""
    found = []
    for r in runs.values():
        hit = [float(m) for m, row in r[side].items() if row["test"]["l1"] <= bar]
        found.append(min(hit) if hit else None)
    return found


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sets", nargs="+", default=["edges2shoes", "facades"],
                    choices=["edges2shoes", "facades"])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--minutes", nargs="+", type=float, default=[1, 2, 5, 10])
    ap.add_argument("--split", default="test", choices=["val", "test"],
                    help="which split the printed table scores (tune on val)")
    ap.add_argument("--set", nargs="*", default=[], dest="sets_extra",
                    help="extra ganctl --set key=value pairs (tuning)")
    add_against(ap)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--grids", type=Path, help="folder for the side-by-side pictures")
    ap.add_argument("--update", action="store_true",
                    help="keep the sets of an existing --json that this run does not measure")
    ap.add_argument("--rescore", action="store_true",
                    help="recompute the derived fields of --json from its runs (no training)")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--side", help=argparse.SUPPRESS)
    ap.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--seed", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--name", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        torch.set_num_threads(1)
        if args.side == "ganctl":
            run_ganctl(args.root, args.out, args.seed, args.minutes, args.sets_extra,
                       args.name)
        else:
            run_plain(args.root, args.out, args.seed, args.minutes, DIRECTION[args.name])
        return
    if args.rescore:
        doc = json.loads(args.json.read_text())
        derive(doc)
        write_json(doc, args.json)
        return
    if not SHARED.is_dir():
        sys.exit(f"no real data at {SHARED} (see its README)")
    doc = {**provenance(torch.device("cpu")), "threads_per_side": 1, "seeds": args.seeds,
           "minutes": args.minutes, "ganctl_set": args.sets_extra, "against": args.against,
           "sets": {}}
    if args.update and args.json and args.json.exists():
        doc["sets"] = json.loads(args.json.read_text())["sets"]
    with tempfile.TemporaryDirectory(prefix="pix2pix-real-") as tmp:
        for name in args.sets:
            runs = {}
            for seed in args.seeds:
                runs[seed] = side_by_side(name, seed, args.minutes, args.sets_extra,
                                          args.against, Path(tmp))
                print(f"{name} seed {seed}: " + json.dumps(runs[seed]), flush=True)
                if args.grids and seed == args.seeds[0] and not args.against:
                    args.grids.mkdir(parents=True, exist_ok=True)
                    grid(name, Path(tmp) / f"{name}-{seed}", args.minutes[-1],
                         args.grids / f"pix2pix-{name}.png")
                    budget_grid(name, Path(tmp) / f"{name}-{seed}", args.minutes,
                                args.grids / f"pix2pix-{name}-minutes.png")
            doc["sets"][name] = {"split_sizes": {k: len(v) for k, v in split(name).items()},
                                 "direction": DIRECTION[name], "date": doc["date"],
                                 "ganctl_set": args.sets_extra, "runs": runs}
            derive(doc)
            table(name, doc["sets"][name][args.split], args.split)
    write_json(doc, args.json)


def derive(doc: dict) -> None:
    """Medians, ranges and minutes to a recognisable shoe, from the runs of each set."""
    for name, s in doc["sets"].items():
        runs = s["runs"]
        s.update(val=summarise(runs, "val"), test=summarise(runs, "test"))
        if name == "edges2shoes" and "reference" in next(iter(runs.values())):
            bar = doc["recognisable_l1"] = round(recognisable_l1(runs), 2)
            s["minutes_to_recognisable"] = {side: minutes_to_recognisable(runs, side, bar)
                                            for side in ("ganctl", "reference")}


def table(name: str, summary: dict, split_name: str) -> None:
    print(f"\n{name} ({split_name} split): median [min, max] over seeds")
    for side, budgets in summary.items():
        for m, cell in budgets.items():
            text = "  ".join(f"{k} {v['median']:.3f} [{v['min']:.3f}, {v['max']:.3f}]"
                             for k, v in cell.items())
            print(f"  {side:9s} {m:>4s} min  {text}")


if __name__ == "__main__":
    main()
