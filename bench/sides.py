"""The side-by-side runner of the benches: child processes with one torch thread each,
started together so machine noise hits both alike; ganctl trained through its CLI to each
budget in turn; the `--against` tuning side; the options every real-photo bench shares."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

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
