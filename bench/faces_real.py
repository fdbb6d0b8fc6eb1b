"""Faces on real CelebA photographs: ganctl's default faces recipe against the seed's plain
64-px DCGAN (bench/plain.py), side by side (two processes at the same time, one torch
thread each) for the same minutes, on ../shared/data/celeba (169 aligned faces, never
committed), split by a fixed shuffle into 109 train, 20 val and 40 test faces. Both sides
see the train faces only, resized to 64 px on the short side and centre-cropped.

ganctl goes through the shipped CLI (`ganctl train faces --minutes M`, `--resume auto` for
each later budget, `ganctl sample faces -n 200`). Scores, with no downloaded weights:
- FD and KID of 200 samples against the split's real faces in the 64-d features of a
  rotation net: a small CNN (bench/domain.py) trained on the train faces only to tell which
  of four rotations an image was given. To answer it must find the eyes, mouth and chin, so
  its features describe a face's layout; it has never seen a generated image. With 20-40
  real faces FD is biased upward: read KID first. The floor is the train faces against
  the split's (a generator that copied its training set would score it).
- a classifier two-sample test: a small CNN trained to tell the split's real faces from as
  many samples, on one half, scored on the other, both ways round; its mean held-out
  accuracy (0.5: it cannot tell them apart; 1.0: it always can).

    python -m bench.faces_real --json docs/bench/faces-real.json --grids docs/img
    python -m bench.faces_real --seeds 0 --minutes 0.2 --feature-steps 50  # smoke
    python -m bench.faces_real --seeds 0 1 --against ema=0.999 --split val  # tuning
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
import torch.nn.functional as F
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
DATA = HERE.parent.parent / "shared" / "data" / "celeba"
SIDE = 64
SAMPLES = 200


def split() -> dict[str, list[Path]]:
    files = sorted(DATA.glob("*.jpg"))
    random.Random(0).shuffle(files)
    return {"test": files[:40], "val": files[40:60], "train": files[60:]}


def read(files: list[Path]) -> torch.Tensor:
    """uint8 (N, 3, 64, 64): short side to 64 px, then the centre square."""
    out = []
    for f in files:
        img = Image.open(f).convert("RGB")
        scale = SIDE / min(img.size)
        w, h = round(img.width * scale), round(img.height * scale)
        img = img.resize((w, h), Image.BICUBIC)
        left, top = (w - SIDE) // 2, (h - SIDE) // 2
        out.append(np.asarray(img.crop((left, top, left + SIDE, top + SIDE))))
    return torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2).contiguous()


def read_folder(folder: Path) -> torch.Tensor:
    return read(sorted(folder.iterdir()))


def rotation_net(faces: torch.Tensor, steps: int, seed: int = 0):
    """A domain.DomainNet taught which of 0/90/180/270 degrees each face was turned by."""
    from bench import domain

    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    x = domain.prepare(faces)
    net = domain.DomainNet(classes=4)
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    for _ in range(steps):
        batch = domain.augment(x[torch.randint(0, len(x), (32,), generator=g)], g)
        k = torch.randint(0, 4, (32,), generator=g)
        batch = torch.stack([torch.rot90(b, int(r), (1, 2)) for b, r in zip(batch, k)])
        loss = F.cross_entropy(net(batch), k)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return net.eval()


@torch.no_grad()
def rotation_accuracy(net, faces: torch.Tensor) -> float:
    from bench import domain

    x = domain.prepare(faces)
    hits = [(net(torch.rot90(x, k, (2, 3))).argmax(1) == k).float().mean() for k in range(4)]
    return float(torch.stack(hits).mean())


def two_sample_accuracy(real: torch.Tensor, fake: torch.Tensor, steps: int = 300) -> float:
    """Mean held-out accuracy of a real-vs-sample classifier over two folds."""
    from bench import domain

    n = min(len(real), len(fake))
    half = n // 2
    folds = ((slice(0, half), slice(half, n)), (slice(half, n), slice(0, half)))
    accs = [domain.accuracy(domain.train(real[fit], fake[fit], steps=steps, seed=i),
                            real[held], fake[held])
            for i, (fit, held) in enumerate(folds)]
    return float(np.mean(accs))


def scores(net, fake: torch.Tensor, real: torch.Tensor) -> dict[str, float]:
    from ganctl.metrics.frechet import fd_from_features, kid

    with torch.no_grad():
        from bench import domain

        f_fake, f_real = (net.features(domain.prepare(x)).double() for x in (fake, real))
    return {"fd": fd_from_features(f_fake, f_real), "kid": kid(f_fake, f_real)[0],
            "two_sample_acc": two_sample_accuracy(real, fake)}


def run_ganctl(root: Path, out: Path, seed: int, budgets: list[float], extra: list[str]):
    def sample(minutes, done):
        subprocess.run(ganctl_cmd("sample", "faces", "-n", str(SAMPLES), "--seed", "1000",
                                  "--weights", done["weights"], "-o",
                                  f"{out / 'samples' / f'{minutes:g}'}/"),
                       check=True, capture_output=True)

    ganctl_budgets("faces", root / "train", out, seed, budgets, extra, sample)


def run_plain(root: Path, out: Path, seed: int, budgets: list[float]):
    from bench import plain

    out.mkdir(parents=True, exist_ok=True)

    def snapshot(budget, g, steps, seconds):
        minutes = budget / 60
        (out / f"steps-{minutes:g}.json").write_text(json.dumps({"step": steps}))
        folder = out / "samples" / f"{minutes:g}"
        folder.mkdir(parents=True)
        with torch.no_grad():
            z = torch.randn(SAMPLES, 100, generator=torch.Generator().manual_seed(1000))
            img = g(z).add(1).mul(127.5).round().clamp(0, 255).byte().permute(0, 2, 3, 1)
        for i, arr in enumerate(img.numpy()):
            Image.fromarray(arr).save(folder / f"{i:04d}.png")

    plain.train_dcgan(read_folder(root / "train"), [m * 60 for m in budgets], snapshot,
                      seed=seed, nets=plain.dcgan64_nets)


def side_by_side(seed: int, budgets: list[float], extra: list[str], against, work: Path,
                 net) -> dict:
    root = work / f"seed{seed}"
    (root / "train").mkdir(parents=True)
    for f in split()["train"]:
        (root / "train" / f.name).symlink_to(f)
    common = [sys.executable, "-m", __spec__.name, "--child", "--root", str(root),
              "--seed", str(seed),
              "--minutes", *map(str, budgets)]
    sides = run_sides(common, root, extra, against)
    parts = {sub: read(files) for sub, files in split().items()}
    rows: dict = {}
    for side in sides:
        rows[side] = {}
        for m in budgets:
            steps = json.loads((root / side / f"steps-{m:g}.json").read_text())["step"]
            fake = read_folder(root / side / "samples" / f"{m:g}")
            rows[side][f"{m:g}"] = {"steps": steps, **{sub: scores(net, fake, parts[sub])
                                                       for sub in ("val", "test")}}
    return rows


def grid(root: Path, minutes: float, path: Path, n: int = 8) -> None:
    """Rows: real test faces, then the reference's and ganctl's first samples."""
    rows = [read(split()["test"][:n])]
    for side in ("reference", "ganctl"):
        rows.append(read_folder(root / side / "samples" / f"{minutes:g}")[:n])
    img = torch.cat([torch.cat(list(r), 2) for r in rows], 1).permute(1, 2, 0).numpy()
    Image.fromarray(img).resize((img.shape[1] * 2, img.shape[0] * 2), Image.NEAREST).save(
        path, optimize=True)


def summarise(runs: dict, sub: str) -> dict:
    out: dict = {}
    first = next(iter(runs.values()))
    for side, budgets in first.items():
        for m, row in budgets.items():
            cell = out.setdefault(side, {}).setdefault(m, {})
            cell["steps"] = spread([r[side][m]["steps"] for r in runs.values()])
            for key in row[sub]:
                cell[key] = spread([r[side][m][sub][key] for r in runs.values()])
    return out


def main() -> None:
    ap = side_by_side_args(__doc__.split("\n\n")[0])
    ap.add_argument("--feature-steps", type=int, default=1500,
                    help="training steps of the rotation net")
    args = ap.parse_args()
    if args.child:  # one thread per side; the scoring between runs uses every core
        torch.set_num_threads(1)
        if args.side == "ganctl":
            run_ganctl(args.root, args.out, args.seed, args.minutes, args.sets_extra)
        else:
            run_plain(args.root, args.out, args.seed, args.minutes)
        return
    if not DATA.is_dir():
        sys.exit(f"no real data at {DATA} (see its README)")
    parts = {sub: read(files) for sub, files in split().items()}
    net = rotation_net(parts["train"], args.feature_steps)
    acc = rotation_accuracy(net, parts["test"])
    print(f"rotation net: test accuracy {acc:.3f}", flush=True)
    floor = {sub: {k: v for k, v in scores(net, parts["train"], parts[sub]).items()}
             for sub in ("val", "test")}
    print(f"real train vs real faces: {json.dumps(floor)}", flush=True)
    doc = {**provenance(torch.device("cpu")), "threads_per_side": 1, "seeds": args.seeds,
           "minutes": args.minutes, "samples": SAMPLES, "ganctl_set": args.sets_extra,
           "against": args.against,
           "rotation_net_test_accuracy": acc, "floor": floor,
           "split_sizes": {k: len(v) for k, v in split().items()}}
    runs = {}
    with tempfile.TemporaryDirectory(prefix="faces-real-") as tmp:
        for seed in args.seeds:
            runs[seed] = side_by_side(seed, args.minutes, args.sets_extra, args.against,
                                      Path(tmp), net)
            print(f"seed {seed}: {json.dumps(runs[seed])}", flush=True)
            if args.grids and seed == args.seeds[0] and not args.against:
                args.grids.mkdir(parents=True, exist_ok=True)
                grid(Path(tmp) / f"seed{seed}", args.minutes[-1],
                     args.grids / "faces-celeba.png")
    doc.update(runs=runs, val=summarise(runs, "val"), test=summarise(runs, "test"))
    print_medians(doc[args.split])
    write_json(doc, args.json)


if __name__ == "__main__":
    main()
