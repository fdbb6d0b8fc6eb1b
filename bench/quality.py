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

    python -m bench.quality --json docs/bench/quality.json --grids docs/img
    python -m bench.quality --only stage2 --sr-minutes 1     # a quick look
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from bench.common import provenance, write_fashion_leaks, write_json
from ganctl import registry

HERE = Path(__file__).resolve().parent
ONE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def spawn(args: list[str], log: Path) -> subprocess.Popen:
    """Run `args` with one torch thread: stderr to `log`, stdout to `log`.out."""
    root = str(Path(__file__).resolve().parent.parent)  # children run `-m bench.NAME`
    path = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
    env = {**os.environ, **ONE_THREAD, "PYTHONUNBUFFERED": "1", "PYTHONPATH": path}
    return subprocess.Popen(args, stdout=log.with_suffix(".out").open("w"),
                            stderr=log.open("w"), env=env)


def result(log: Path) -> dict:
    """The `--json` document a `ganctl train` child printed."""
    return json.loads(log.with_suffix(".out").read_text())


def wait_all(procs: dict[str, tuple[subprocess.Popen, Path]]) -> None:
    for name, (p, log) in procs.items():
        if p.wait() != 0:
            sys.exit(f"{name} failed (exit {p.returncode}):\n{log.read_text()[-3000:]}")


def side_by_side_args(description: str) -> argparse.ArgumentParser:
    """The options of a real-photo bench that trains ganctl and a reference side by side,
    and the hidden ones of its two child processes."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--minutes", nargs="+", type=float, default=[2, 5, 10])
    ap.add_argument("--split", default="test", choices=["val", "test"])
    ap.add_argument("--set", nargs="*", default=[], dest="sets_extra",
                    help="extra ganctl --set key=value pairs (tuning)")
    add_against(ap)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--grids", type=Path)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--side", help=argparse.SUPPRESS)
    ap.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--seed", type=int, help=argparse.SUPPRESS)
    return ap


def add_against(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--against", nargs="+", metavar="KEY=VALUE",
                    help="tuning: the second side is ganctl with these --set pairs (named "
                    "'variant') instead of the reference")


def run_sides(common: list[str], root: Path, extra: list[str],
              against: list[str] | None) -> list[str]:
    """Run a side-by-side pair of child processes to the end and return the side names
    (each side's output in root/NAME): ganctl with `extra`, and the reference, or with
    `against` ganctl with those settings as the 'variant' side."""
    second = ("variant", "ganctl", against) if against else ("reference", "reference", [])
    procs = {}
    for name, kind, sets in (("ganctl", "ganctl", extra), second):
        log = root / f"{name}.log"
        cmd = [*common, "--side", kind, "--out", str(root / name),
               *(["--set", *sets] if sets else [])]
        procs[name] = (spawn(cmd, log), log)
    wait_all(procs)
    return list(procs)


def print_medians(summary: dict) -> None:
    """One line per side and budget: the median of every score over the seeds."""
    for side, budgets in summary.items():
        for m, cell in budgets.items():
            print(side, m, "  ".join(f"{k} {v['median']:.3g}" for k, v in cell.items()))


def ganctl_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "ganctl", *args]


def ganctl_budgets(plugin: str, data: Path, out: Path, seed: int, budgets: list[float],
                   sets: list[str], after) -> None:
    """Train `plugin` through the CLI to each budget in turn (minutes of training time;
    `--resume auto` after the first, so the minutes add up across sessions as a
    reference's own clock does), calling `after(minutes, the --json summary)` at each."""
    runs = out / "runs"
    out.mkdir(parents=True, exist_ok=True)
    for i, minutes in enumerate(budgets):
        resume = ["--resume", "auto"] if i else []
        train = ganctl_cmd("train", plugin, "--data", str(data), "--runs-dir", str(runs),
                           "--minutes", f"{minutes:g}", "--seed", str(seed), *resume, "--json",
                           "--no-publish", "--set", " ".join(["sample_every=100000",
                                                              "checkpoint_every=100000", *sets]))
        done = json.loads(subprocess.run(train, check=True, capture_output=True, text=True).stdout)
        (out / f"steps-{minutes:g}.json").write_text(json.dumps(done))
        after(minutes, done)


def plain_net(kind: str, path: Path, **kw) -> torch.nn.Module:
    """A plain reference net (bench/plain.py) with the weights its process saved."""
    from bench import plain

    net = plain.PlainGenerator(plain.dcgan_nets()[0]) if kind == "dcgan" else plain.PlainSR(**kw)
    net.load_state_dict(torch.load(path, weights_only=True))
    return net.eval()


def load_weights(path: Path):
    from ganctl import checkpoint, weights

    return weights.inference_payload(checkpoint.load(path, kind="weights"))


# ---------------------------------------------------------------- references -------

def references(args, tmp: Path) -> dict:
    """What classifier-FD values mean: 1,000 images of each kind vs the test sneakers."""
    from ganctl.data import catalog, layouts
    from ganctl.metrics.classifier import embed, fashion_classifier
    from ganctl.metrics.frechet import fd_from_features

    root = catalog.DEBIAN_FASHION_MNIST
    net, _ = fashion_classifier(root)
    train_x, _ = layouts.fashion_mnist(root, "train", classes=(7,))
    test_x, _ = layouts.fashion_mnist(root, "test", classes=(7,))
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


# ---------------------------------------------------------------- stage 1 ----------

def stage1(args, tmp: Path) -> dict:
    from ganctl.data import catalog, layouts
    from ganctl.metrics.classifier import embed, fashion_classifier
    from ganctl.metrics.frechet import fd_from_features, kid
    from ganctl.plugins.sneakers import plugin
    from ganctl.tensors import grid_image

    root = catalog.DEBIAN_FASHION_MNIST
    net, meta = fashion_classifier(root)  # trained once and cached before timing starts
    train_x, _ = layouts.fashion_mnist(root, "train", classes=(7,))
    test_x, _ = layouts.fashion_mnist(root, "test", classes=(7,))
    test_f = embed(net, torch.from_numpy(test_x))
    pick = torch.randperm(len(train_x), generator=torch.Generator().manual_seed(0))[:1000]
    floor_f = embed(net, torch.from_numpy(train_x)[pick])
    floor = {"fd": fd_from_features(floor_f, test_f), "kid": kid(floor_f, test_f)[0]}

    budgets = sorted(args.budgets)
    runs = tmp / "runs"
    ref_dir = tmp / "ref1"
    procs = {
        "reference": (spawn([sys.executable, "-m", "bench.quality", "_ref1", str(ref_dir),
                             *map(str, budgets)], tmp / "ref1.log"), tmp / "ref1.log"),
        "ganctl": (spawn([sys.executable, "-m", "bench.quality", "_ganctl1", str(runs),
                          *map(str, budgets)], tmp / "ganctl1.log"), tmp / "ganctl1.log")}
    wait_all(procs)

    seeds = list(range(args.samples))
    rows = []
    for b in budgets:
        for side in ("ganctl", "reference"):
            if side == "ganctl":
                w = load_weights(runs / f"weights-{b:g}.pt")
                fakes = plugin.generate(w, seeds, torch.device("cpu"))
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


def ganctl_stage1(runs: Path, budgets: list[float]) -> None:
    """Child process: train ganctl's default for the longest budget, publishing weights
    at each one (`--minutes` counts training time only; resume is exact)."""
    for i, b in enumerate(budgets):
        cmd = ["train", "sneakers", "--data", "fashion-sneakers", "--minutes", str(b / 60),
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


def ref_stage1(out: Path, budgets: list[float]) -> None:
    from bench import plain
    from ganctl.data import catalog, layouts

    out.mkdir(parents=True, exist_ok=True)
    train_x, _ = layouts.fashion_mnist(catalog.DEBIAN_FASHION_MNIST, "train", classes=(7,))

    def snapshot(b, g, steps, seconds):
        torch.save(g.state_dict(), out / f"g-{b:g}.pt")
        (out / f"g-{b:g}.json").write_text(json.dumps({"steps": steps, "seconds": seconds}))

    plain.train_dcgan(torch.from_numpy(train_x), budgets, snapshot)


# ---------------------------------------------------------------- stage 2 ----------

def sharpness(x: torch.Tensor) -> torch.Tensor:
    """Mean absolute horizontal + vertical difference per image (in [0, 1] units)."""
    return (x[..., 1:, :] - x[..., :-1, :]).abs().mean((1, 2, 3)) + \
        (x[..., :, 1:] - x[..., :, :-1]).abs().mean((1, 2, 3))


def sr_scores(sr: torch.Tensor, hr: torch.Tensor) -> dict:
    from ganctl.metrics.image import psnr, ssim

    a, b = (sr.clamp(-1, 1) + 1) / 2, (hr + 1) / 2
    return {"psnr": round(float(psnr(a, b).mean()), 3), "ssim": round(float(ssim(a, b).mean()), 4),
            "sharpness": round(float((sharpness(a) / sharpness(b)).mean()), 4)}


def sr_set(name: str, tmp: Path):
    """(training folder or dataset name, extra --set flags, uint8 test HR tensor)."""
    if name == "photos":
        from bench import photos

        folder = photos.write_folder(photos.patches(photos.TRAIN_PHOTOS, limit=100),
                                     tmp / "photos-train")
        test = photos.patches(photos.TEST_PHOTOS, limit=20)
        hr = torch.from_numpy(np.stack([np.asarray(p) for p in test])).permute(0, 3, 1, 2)
        return str(folder), [], hr
    from ganctl.data import catalog, layouts

    test_x, _ = layouts.fashion_mnist(catalog.DEBIAN_FASHION_MNIST, "test", classes=(7,))
    return "fashion-sneakers", ["hr_size=28", "channels=1"], torch.from_numpy(test_x[:200])


def stage2(args, tmp: Path) -> dict:
    from ganctl.plugins.sneakers import plugin
    from ganctl.plugins.sneakers.stage2 import bicubic_up, downscale
    from ganctl.tensors import grid_image

    out = {}
    for set_name in args.sr_sets:
        data, sets, test_hr = sr_set(set_name, tmp)
        hr = test_hr.float().div(127.5).sub(1)
        lr = downscale(hr)
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
                           str(ref_dir), f"{args.sr_minutes * 60:g},{total * 60:g}", *sets],
                          logs["reference"])
        warm_cmd = base + ["--minutes", f"{args.sr_minutes:g}", "--set", *sets,
                           f"arch={args.sr_arch}",
                           "epochs=0", "sample_every=100000", "warmup_steps=100000000"]
        wait_all({"ganctl": (spawn(ganctl_cmd(*warm_cmd), logs["ganctl"]), logs["ganctl"])})
        warm = result(logs["ganctl"])
        warm_w = load_weights(Path(warm["run"]) / "weights.pt")
        adv_cmd = base + ["--minutes", f"{total:g}", "--resume", "auto",
                          "--set", f"warmup_steps={warm['step']}"]
        wait_all({"ganctl-adversarial": (spawn(ganctl_cmd(*adv_cmd), logs["ganctl"]),
                                         logs["ganctl"]),
                  "reference": (reference, logs["reference"])})
        adv = result(logs["ganctl"])
        adv_w = load_weights(Path(adv["run"]) / "weights.pt")

        ref_steps = json.loads((ref_dir / "steps.json").read_text())
        warm_name = f"ganctl warm-up, {args.sr_minutes:g} min"
        adv_name = f"ganctl warm-up + adversarial, {total:g} min"
        nets = {warm_name: (warm_w, warm["step"]), adv_name: (adv_w, adv["step"])}
        rows = {"bicubic": {**sr_scores(bicubic_up(lr), hr), "steps": 0}}
        outputs = {"bicubic": bicubic_up(lr)}
        for name, (w, steps) in nets.items():
            net = plugin.upscaler(w, torch.device("cpu"))[0]
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


def ref_stage2(data: str, out: Path, seconds: list[float], sets: list[str]) -> None:
    from bench import plain
    from ganctl import config
    from ganctl.plugins.sneakers import plugin
    from ganctl.plugins.sneakers.stage2 import Stage2Config, downscale

    cfg = config.build(Stage2Config, dict(s.split("=") for s in sets))
    hr = plugin.load_data(cfg, data, 2).train.tensors[0]  # the very images ganctl trains on
    out.mkdir(parents=True, exist_ok=True)
    steps = {}

    def snapshot(b, net, n, spent):
        torch.save(net.state_dict(), out / f"net-{b:g}.pt")
        steps[f"{b:g}"] = n
        (out / "steps.json").write_text(json.dumps(steps))

    plain.train_sr(hr, downscale, seconds, snapshot)


# ---------------------------------------------------------------- leaks ------------

def write_leaks_layout(root: Path) -> None:
    """Test: the test sneakers (normal), sandals and ankle boots (leaks)."""
    write_fashion_leaks(root, {7: None, 5: None, 9: None})


def leaks(args, tmp: Path) -> dict:
    from ganctl import checkpoint
    from ganctl.training import engine

    root = tmp / "fashion-leaks"
    write_leaks_layout(root)
    rows = {}
    for score in ("feature", "mse"):
        sets = {"image_size": 32, "channels": 1, "epochs": 0, "minutes": args.leaks_minutes,
                "score": score, "log_every": 100, "sample_every": 100000,
                "checkpoint_every": 10**9}
        res = engine.train(engine.TrainRequest(registry.get("leaks"),
                                               overrides=sets, data=str(root),
                                               device="cpu", runs_dir=tmp / "leaks-runs",
                                               publish=False))
        meta = checkpoint.load(res.run / "weights.pt", kind="weights")["recipe_meta"]
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
            return ref_stage1(Path(rest[0]), [float(b) for b in rest[1:]])
        if cmd == "_ganctl1":
            return ganctl_stage1(Path(rest[0]), [float(b) for b in rest[1:]])
        if cmd == "_ref2":
            return ref_stage2(rest[0], Path(rest[1]), [float(x) for x in rest[2].split(",")],
                              rest[3:])
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
    ap.add_argument("--json", type=Path)
    ap.add_argument("--grids", type=Path, help="folder for the sample grids")
    args = ap.parse_args()
    torch.set_num_threads(2)
    doc = {**provenance(torch.device("cpu")), "command": " ".join(sys.argv),
           "threads_per_side": 1}
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
            doc[part]["measured"] = {k: doc[k] for k in ("date", "cpu")}  # --only keeps old parts
            write_json({**old, **doc}, args.json)  # each finished part is kept
    write_json(doc, args.json)


if __name__ == "__main__":
    main()
