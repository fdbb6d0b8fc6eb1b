"""Quality bench: ganctl's defaults against the plain references of bench/plain.py,
trained side by side (two processes at the same time, one torch thread each, so machine
noise hits both alike), on real data.

- stage1: sneakers stage 1 on Fashion-MNIST sneakers (class 7). Both sides train for
  the longest budget and are snapshotted at every budget of their own training time.
  FD and KID in the features of ganctl's Fashion-MNIST classifier, 1,000 samples vs the
  1,000 test sneakers, with the real-vs-real floor beside them.
- stage2: x4 super-resolution from 28 px on photographs bundled with scikit-image
  (bench/photos.py: 100 training patches of 112 px, 20 test patches of unseen photos),
  and Fashion-MNIST sneakers 7 -> 28 as a second set. ganctl's default (warm-up phase)
  and the plain reference train side by side; then ganctl resumes into its adversarial
  phase while the reference trains on, so both are scored at equal minutes (after the
  warm-up, and at the end). PSNR / SSIM / gradient sharpness, bicubic beside them.
- leaks: the leaks VAE on Fashion-MNIST, sneakers normal, sandals and ankle boots the
  leaks, trained for a fixed budget; ROC AUC.
- references: what classifier-FD values mean (real vs real, the mean image, sandals,
  noise), a few seconds.

`--split val` chooses defaults without the test images: the last 1,000 training sneakers
are held out of every training and scored against (stage 2: the last 200 of them), the
photographs' val set is 20 patches of 2 training photos held out of the other 9, and the
leaks' test folder is built from training images (bench.common.write_fashion_leaks).

    python -m bench.quality --json docs/bench/quality.json --grids docs/img
    python -m bench.quality --split val --json docs/bench/quality-val.json
    python -m bench.quality --only stage2 --sr-minutes 1     # a quick look
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from bench.common import provenance, write_fashion_leaks, write_json
from bench.sides import ganctl_cmd, result, spawn, wait_all
from bench.stats import sr_scores

HERE = Path(__file__).resolve().parent
def plain_net(kind: str, path: Path, **kw) -> torch.nn.Module:
    """A plain reference net (bench/plain.py) with the weights its process saved."""
    from bench import plain

    net = plain.PlainGenerator(plain.dcgan_nets()[0]) if kind == "dcgan" else plain.PlainSR(**kw)
    net.load_state_dict(torch.load(path, weights_only=True))
    return net.eval()


# ---------------------------------------------------------------- references -------

def references(args, tmp: Path) -> dict:
    """What classifier-FD values mean: 1,000 images of each kind vs the test sneakers."""
    from ganctl.data import catalog, layouts
    from ganctl.metrics.classifier import embed, fashion_classifier
    from ganctl.metrics.frechet import fd_from_features

    root = catalog.DEBIAN_FASHION_MNIST
    net, _ = fashion_classifier(root)
    train_x, test_x = sneakers(args.split)
    sandals, _ = layouts.fashion_mnist(root, "test", classes=(5,))
    test_f = embed(net, torch.from_numpy(test_x))
    g = torch.Generator().manual_seed(0)
    pick = torch.randperm(len(train_x), generator=g)[:1000]
    mean = torch.from_numpy(train_x).float().mean(0, keepdim=True).round().to(torch.uint8)
    sets = {"floor: 1,000 real training sneakers": torch.from_numpy(train_x)[pick],
            "the mean training image, repeated": mean.expand(1000, -1, -1, -1),
            "real sandals (a different class)": torch.from_numpy(sandals),
            "uniform noise": torch.randint(0, 256, (1000, 1, 28, 28), dtype=torch.uint8,
                                           generator=g)}
    fd = {k: round(fd_from_features(embed(net, v), test_f), 3) for k, v in sets.items()}
    for k, v in fd.items():
        print(f"reference FD {v:9.2f}  {k}", flush=True)
    return {"fd": fd}


VAL = 1000  # --split val: the last training sneakers, held out of every training


def sneakers(split: str) -> tuple[np.ndarray, np.ndarray]:
    """(the sneakers trained on, the sneakers scored against): every training sneaker and
    the test ones, or (val) the training sneakers but the last VAL, and those VAL."""
    from ganctl.data import catalog, layouts

    root = catalog.DEBIAN_FASHION_MNIST
    train = layouts.fashion_mnist(root, "train", classes=(7,))[0]
    if split == "val":
        return train[:-VAL], train[-VAL:]
    return train, layouts.fashion_mnist(root, "test", classes=(7,))[0]


def sneaker_data(split: str, tmp: Path) -> str:
    """ganctl's --data for the sneakers of `split`: the catalog's, or for val a folder of
    the training part (28-px gray PNGs, which ganctl reads as the catalog's)."""
    if split != "val":
        return "fashion-sneakers"
    folder = tmp / "sneakers-val-train"
    if not folder.exists():
        folder.mkdir(parents=True)
        for i, x in enumerate(sneakers("val")[0][:, 0]):
            Image.fromarray(x).save(folder / f"{i:05d}.png")
    return str(folder)


# ---------------------------------------------------------------- stage 1 ----------

def stage1(args, tmp: Path) -> dict:
    from ganctl.data import catalog
    from ganctl.metrics.classifier import embed, fashion_classifier
    from ganctl.metrics.frechet import fd_from_features, kid
    from ganctl.tasks import Generator
    from ganctl.tensors import grid_image

    net, meta = fashion_classifier(catalog.DEBIAN_FASHION_MNIST)  # cached before timing
    train_x, test_x = sneakers(args.split)
    data = sneaker_data(args.split, tmp)
    test_f = embed(net, torch.from_numpy(test_x))
    pick = torch.randperm(len(train_x), generator=torch.Generator().manual_seed(0))[:1000]
    floor_f = embed(net, torch.from_numpy(train_x)[pick])
    floor = {"fd": fd_from_features(floor_f, test_f), "kid": kid(floor_f, test_f)[0]}

    budgets = sorted(args.budgets)
    runs = tmp / "runs"
    ref_dir = tmp / "ref1"
    procs = {
        "reference": (spawn([sys.executable, "-m", "bench.quality", "_ref1", str(ref_dir),
                             args.split, *map(str, budgets)], tmp / "ref1.log"),
                      tmp / "ref1.log"),
        "ganctl": (spawn([sys.executable, "-m", "bench.quality", "_ganctl1", str(runs), data,
                          *map(str, budgets)], tmp / "ganctl1.log"), tmp / "ganctl1.log")}
    wait_all(procs)

    seeds = list(range(args.samples))
    rows = []
    for b in budgets:
        for side in ("ganctl", "reference"):
            if side == "ganctl":
                path = runs / f"weights-{b:g}.pt"
                fakes = Generator.load("sneakers", str(path), "cpu", stage=1).generate(seeds)
                info = json.loads((runs / f"weights-{b:g}.json").read_text())
            else:
                g = plain_net("dcgan", ref_dir / f"g-{b:g}.pt")
                with torch.no_grad():
                    from ganctl.kit.noise import seed_noise

                    fakes = g(torch.stack([seed_noise(s, 100) for s in seeds])).clamp(-1, 1)
                info = json.loads((ref_dir / f"g-{b:g}.json").read_text())
            feats = embed(net, fakes)
            row = {"budget_s": b, "side": side, "steps": info["steps"],
                   "train_s": round(info["seconds"], 1),
                   "img_per_s": round(info["steps"] * 128 / info["seconds"], 1),
                   "fd": round(fd_from_features(feats, test_f), 3),
                   "kid": round(kid(feats, test_f)[0], 5)}
            print(json.dumps(row), flush=True)
            rows.append(row)
            if args.grids:
                args.grids.mkdir(parents=True, exist_ok=True)
                grid_image(fakes[:64], 8).save(args.grids / f"quality-stage1-{side}-{b:g}s.png")
    by = {(r["budget_s"], r["side"]): r for r in rows}
    summary = [{"budget_s": b, "fd_ganctl": by[b, "ganctl"]["fd"],
                "fd_reference": by[b, "reference"]["fd"],
                "fd_ratio": round(by[b, "ganctl"]["fd"] / by[b, "reference"]["fd"], 3),
                "img_per_s_ratio": round(by[b, "ganctl"]["img_per_s"]
                                         / by[b, "reference"]["img_per_s"], 2)}
               for b in budgets]
    for s in summary:
        print(f"stage 1 at {s['budget_s']:g} s: FD ganctl {s['fd_ganctl']:.2f} vs plain "
              f"{s['fd_reference']:.2f}, ratio {s['fd_ratio']:.3f} (goal <= 0.25); "
              f"img/s ratio {s['img_per_s_ratio']:.2f} (goal >= 1)", flush=True)
    return {"floor": {k: round(v, 4) for k, v in floor.items()},
            "extractor": {"name": "fashion-classifier",
                          **{k: meta[k] for k in ("test_accuracy", "sha256")}},
            "samples": args.samples, "rows": rows, "summary": summary}


def ganctl_stage1(runs: Path, data: str, budgets: list[float]) -> None:
    """Child process: train ganctl's default for the longest budget, publishing weights
    at each one (`--minutes` counts training time only; resume is exact)."""
    for i, b in enumerate(budgets):
        cmd = ["train", "sneakers", "--data", data, "--minutes", str(b / 60),
               "--runs-dir", str(runs), "--no-publish", "--json"]
        cmd += ["--resume", "auto"] if i else ["--set", "epochs=0", "sample_every=100000",
                                               "checkpoint_every=100000"]
        out = subprocess.run(ganctl_cmd(*cmd), capture_output=True, text=True)
        if out.returncode:
            sys.exit(out.stderr)
        res = json.loads(out.stdout)
        run = Path(res["run"])
        stats = [json.loads(x) for x in (run / "stats.jsonl").read_text().splitlines()]
        (runs / f"weights-{b:g}.pt").write_bytes((run / "weights.pt").read_bytes())
        (runs / f"weights-{b:g}.json").write_text(json.dumps(
            {"steps": res["step"], "seconds": stats[-1]["time"]}))


def ref_stage1(out: Path, split: str, budgets: list[float]) -> None:
    from bench import plain

    out.mkdir(parents=True, exist_ok=True)
    train_x = sneakers(split)[0]

    def snapshot(b, g, steps, seconds):
        torch.save(g.state_dict(), out / f"g-{b:g}.pt")
        (out / f"g-{b:g}.json").write_text(json.dumps({"steps": steps, "seconds": seconds}))

    plain.train_dcgan(torch.from_numpy(train_x), budgets, snapshot)


# ---------------------------------------------------------------- stage 2 ----------

def sr_set(name: str, split: str, tmp: Path):
    """(training folder or dataset name, extra --set flags, uint8 HR tensor scored on)."""
    if name == "photos":
        from bench import photos

        train, scored = photos.TRAIN_PHOTOS, photos.TEST_PHOTOS
        if split == "val":
            train, scored = train[:-2], train[-2:]
        folder = photos.write_folder(photos.patches(train, limit=100),
                                     tmp / f"photos-{split}-train")
        test = photos.patches(scored, limit=20)
        hr = torch.from_numpy(np.stack([np.asarray(p) for p in test])).permute(0, 3, 1, 2)
        return str(folder), [], hr
    return (sneaker_data(split, tmp), ["hr_size=28", "channels=1"],
            torch.from_numpy(sneakers(split)[1][:200]))


def stage2(args, tmp: Path) -> dict:
    from ganctl.metrics.sr import bicubic, downscale
    from ganctl.tasks import Upscaler
    from ganctl.tensors import grid_image

    out = {}
    for set_name in args.sr_sets:
        data, sets, test_hr = sr_set(set_name, args.split, tmp)
        hr = test_hr.float().div(127.5).sub(1)
        lr = downscale(hr, 4)
        base = ["train", "sneakers", "--stage", "2", "--data", data, "--no-publish", "--json",
                "--runs-dir", str(tmp / f"sr-{set_name}")]
        total = args.sr_minutes + args.adv_minutes
        ref_dir = tmp / f"ref2-{set_name}"
        logs = {k: tmp / f"{set_name}-{k}.log" for k in ("ganctl", "reference")}
        # The reference trains for the whole budget, snapshotted at the end of ganctl's
        # warm-up and at the end; ganctl's warm-up phase (pixel loss) runs beside it, then
        # ganctl resumes into its adversarial phase, warm-up ended at the step reached.
        # `--minutes` counts training time only, so the seconds between ganctl's two
        # processes, when the reference trains alone, are the reference's gain.
        reference = spawn([sys.executable, "-m", "bench.quality", "_ref2", data,
                           str(ref_dir), f"{args.sr_minutes * 60:g},{total * 60:g}"],
                          logs["reference"])
        warm_cmd = base + ["--minutes", f"{args.sr_minutes:g}", "--set", *sets,
                           f"arch={args.sr_arch}",
                           "epochs=0", "sample_every=100000", "warmup_steps=100000000"]
        wait_all({"ganctl": (spawn(ganctl_cmd(*warm_cmd), logs["ganctl"]), logs["ganctl"])})
        warm = result(logs["ganctl"])
        # the adversarial phase resumes into the same run folder and rewrites weights.pt
        warm_w = tmp / f"{set_name}-warm-up.pt"
        shutil.copyfile(Path(warm["run"]) / "weights.pt", warm_w)
        adv_cmd = base + ["--minutes", f"{total:g}", "--resume", "auto",
                          "--set", f"warmup_steps={warm['step']}"]
        wait_all({"ganctl-adversarial": (spawn(ganctl_cmd(*adv_cmd), logs["ganctl"]),
                                         logs["ganctl"]),
                  "reference": (reference, logs["reference"])})
        adv = result(logs["ganctl"])
        adv_w = Path(adv["run"]) / "weights.pt"

        ref_steps = json.loads((ref_dir / "steps.json").read_text())
        warm_name = f"ganctl warm-up, {args.sr_minutes:g} min"
        adv_name = f"ganctl warm-up + adversarial, {total:g} min"
        nets = {warm_name: (warm_w, warm["step"]), adv_name: (adv_w, adv["step"])}
        rows = {"bicubic": {**sr_scores(bicubic(lr, 4), hr), "steps": 0}}
        outputs = {"bicubic": bicubic(lr, 4)}
        for name, (path, steps) in nets.items():
            net = Upscaler.load("sneakers", str(path), "cpu").net
            with torch.no_grad():
                outputs[name] = net(lr).clamp(-1, 1)
            rows[name] = {**sr_scores(outputs[name], hr), "steps": steps}
        for minutes in (args.sr_minutes, total):
            name = f"plain reference, {minutes:g} min"
            ref_net = plain_net("sr", ref_dir / f"net-{minutes * 60:g}.pt", channels=hr.shape[1])
            with torch.no_grad():
                outputs[name] = ref_net(lr).clamp(-1, 1)
            rows[name] = {**sr_scores(outputs[name], hr), "steps": ref_steps[f"{minutes * 60:g}"]}
        for name, r in rows.items():
            print(f"stage 2 {set_name} {name:34s} PSNR {r['psnr']:6.2f}  SSIM {r['ssim']:.4f}  "
                  f"sharpness {r['sharpness']:.3f}  steps {r['steps']}", flush=True)
        out[set_name] = {"minutes": args.sr_minutes, "adversarial_minutes": args.adv_minutes,
                         "test_images": len(hr), "rows": rows}
        if args.grids:
            args.grids.mkdir(parents=True, exist_ok=True)
            order = ["bicubic", f"plain reference, {total:g} min", warm_name, adv_name]
            picks = torch.stack([torch.cat([outputs[k][i] for k in order] + [hr[i]], -1)
                                 for i in range(min(6, len(hr)))])
            grid_image(picks, 1).save(args.grids / f"quality-stage2-{set_name}.png")
    return out


def ref_stage2(data: str, out: Path, seconds: list[float]) -> None:
    """The reference trains on every image of ganctl's training data, including the 5 %
    ganctl holds out to validate (a small advantage to the reference)."""
    from bench import plain
    from ganctl.data import catalog, layouts
    from ganctl.metrics.sr import downscale

    if data == "fashion-sneakers":
        hr = torch.from_numpy(layouts.fashion_mnist(catalog.DEBIAN_FASHION_MNIST, "train",
                                                    classes=(7,))[0])
    else:  # a folder: photo patches (RGB) or the val split's sneakers (gray)
        arrays = [np.asarray(Image.open(f)) for f in sorted(Path(data).glob("*.png"))]
        hr = torch.from_numpy(np.stack(arrays))
        hr = hr[:, None] if hr.ndim == 3 else hr.permute(0, 3, 1, 2).contiguous()
    out.mkdir(parents=True, exist_ok=True)
    steps = {}

    def snapshot(b, net, n, spent):
        torch.save(net.state_dict(), out / f"net-{b:g}.pt")
        steps[f"{b:g}"] = n
        (out / "steps.json").write_text(json.dumps(steps))

    plain.train_sr(hr, lambda x: downscale(x, 4), seconds, snapshot)


# ---------------------------------------------------------------- leaks ------------

def write_leaks_layout(root: Path, split: str = "test") -> None:
    """Test: the test sneakers (normal), sandals and ankle boots (leaks); val: the held-out
    training sneakers and 1,000 training sandals and ankle boots each."""
    count = 1000 if split == "val" else None
    write_fashion_leaks(root, {7: None, 5: count, 9: count}, split=split)


def leaks(args, tmp: Path) -> dict:
    import ganctl

    root = tmp / "fashion-leaks"
    write_leaks_layout(root, args.split)
    rows = {}
    for score in ("feature", "mse"):
        res = ganctl.train("leaks", str(root), epochs=0, minutes=args.leaks_minutes,
                           device="cpu", runs_dir=tmp / "leaks-runs", publish="never",
                           progress=False, image_size=32, channels=1, score=score,
                           log_every=100, sample_every=100000, checkpoint_every=10**9)
        meta = ganctl.load("leaks", str(res.weights), "cpu").weights.meta
        test = meta["test"]
        rows[score] = {"steps": res.step, "roc_auc": round(test["roc_auc"], 4),
                       "pr_auc": round(test["pr_auc"], 4), "accuracy": round(test["accuracy"], 4),
                       "threshold_rule": meta["rule"], "confusion": test["confusion"]}
        print(f"leaks score={score}: ROC AUC {test['roc_auc']:.4f} (goal >= 0.95), "
              f"{res.step} steps in {args.leaks_minutes:g} min", flush=True)
    return {"minutes": args.leaks_minutes, "threads": torch.get_num_threads(),
            "normal": "sneaker", "leaks": ["sandal", "ankle boot"], "scores": rows}


# ---------------------------------------------------------------- main -------------

def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1].startswith("_"):  # child processes
        cmd, rest = sys.argv[1], sys.argv[2:]
        torch.set_num_threads(1)
        if cmd == "_ref1":
            return ref_stage1(Path(rest[0]), rest[1], [float(b) for b in rest[2:]])
        if cmd == "_ganctl1":
            return ganctl_stage1(Path(rest[0]), rest[1], [float(b) for b in rest[2:]])
        if cmd == "_ref2":
            return ref_stage2(rest[0], Path(rest[1]), [float(x) for x in rest[2].split(",")])
        sys.exit(f"unknown child command {cmd}")
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", nargs="*", choices=("references", "stage1", "stage2", "leaks"))
    ap.add_argument("--budgets", type=float, nargs="+", default=[60, 120, 300],
                    help="stage-1 training budgets in seconds")
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--sr-minutes", type=float, default=6.0)
    ap.add_argument("--adv-minutes", type=float, default=3.0)
    ap.add_argument("--sr-sets", nargs="+", default=["photos", "fashion"])
    ap.add_argument("--sr-arch", default="compact", choices=("compact", "lr", "srresnet"),
                    help="ganctl's stage-2 generator in the side-by-side")
    ap.add_argument("--leaks-minutes", type=float, default=3.0)
    ap.add_argument("--split", choices=("test", "val"), default="test",
                    help="images scored against (val: held out of the training images)")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--grids", type=Path, help="folder for the sample grids")
    args = ap.parse_args()
    torch.set_num_threads(2)
    doc = {**provenance(torch.device("cpu")), "command": " ".join(sys.argv),
           "threads_per_side": 1, "split": args.split}
    old = json.loads(args.json.read_text()) if args.json and args.json.is_file() else {}
    with tempfile.TemporaryDirectory() as tmp:
        for part, fn in (("references", references), ("stage1", stage1), ("stage2", stage2),
                         ("leaks", leaks)):
            if args.only and part not in args.only:
                if part in old:
                    doc[part] = old[part]
                continue
            t0 = time.perf_counter()
            doc[part] = fn(args, Path(tmp))
            doc[part]["bench_seconds"] = round(time.perf_counter() - t0, 1)
            # --only keeps old parts: each says when, where and with which reference Adam
            doc[part]["measured"] = {k: doc[k] for k in ("date", "cpu", "reference_adam")}
            write_json({**old, **doc}, args.json)  # each finished part is kept
    write_json(doc, args.json)


if __name__ == "__main__":
    main()
