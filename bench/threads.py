"""Benchmark: one `ganctl train` alone against two at once on the same machine.

Each arrangement trains sneakers stage 1 (the shipping defaults, Fashion-MNIST
sneakers) for a fixed number of steps; throughput counts the steps after the first log
interval. Arrangements run in turn, `--repeats` rounds (alone, two with the default
threads, two with --threads of cores / 2, ...); medians and ranges are reported.

    python -m bench.threads --json docs/bench/threads.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import write_json
from ganctl.device import thread_count, usable_cores


def start(runs: Path, steps: int, threads: int | None) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "ganctl", "train", "sneakers", "--data", "fashion-sneakers",
           "--steps", str(steps), "--runs-dir", str(runs), "--no-publish", "--json",
           "--set", "log_every=10", "sample_every=100000", "checkpoint_every=100000"]
    cmd += ["--threads", str(threads)] if threads else []
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
                            text=True)


def speed(proc: subprocess.Popen) -> float:
    out, _ = proc.communicate()
    if proc.returncode:
        sys.exit(f"ganctl train failed (exit {proc.returncode})")
    run = Path(json.loads(out)["run"])
    rows = [json.loads(x) for x in (run / "stats.jsonl").read_text().splitlines()]
    rows = [r for r in rows if "imgs_per_s" in r]
    return (rows[-1]["step"] - rows[0]["step"]) * 128 / (rows[-1]["time"] - rows[0]["time"])


def arrangement(work: Path, steps: int, copies: int, threads: int | None) -> list[float]:
    procs = [start(work / f"runs-{i}", steps, threads) for i in range(copies)]
    return [speed(p) for p in procs]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ganctl-threads-"))
    os.environ["GANCTL_HOME"] = str(work / "home")
    cores = usable_cores()
    half = max(1, cores // 2)
    plans = {"one run alone (default threads)": (1, None),
             "two runs at once (default threads)": (2, None),
             f"two runs at once (--threads {half})": (2, half)}
    results: dict[str, list[list[float]]] = {k: [] for k in plans}
    arrangement(work, 11, 1, None)  # decode and cache the data once
    for r in range(args.repeats):
        for label, (copies, threads) in plans.items():
            results[label].append(arrangement(work, args.steps, copies, threads))
            print(f"round {r + 1}: {label}: {results[label][-1]}", flush=True)
    rows = []
    for label, rounds in results.items():
        totals = [sum(x) for x in rounds]
        rows.append({"arrangement": label, "threads_each": plans[label][1] or
                     thread_count(None, {}, cores)[0],
                     "total_img_per_s": {"median": round(statistics.median(totals), 1),
                                         "min": round(min(totals), 1),
                                         "max": round(max(totals), 1)},
                     "per_run_img_per_s": [[round(v, 1) for v in x] for x in rounds]})
    alone = rows[0]["total_img_per_s"]["median"]
    for row in rows:
        row["total_vs_alone"] = round(row["total_img_per_s"]["median"] / alone, 2)
        print(json.dumps(row), flush=True)
    write_json({"date": time.strftime("%Y-%m-%d"), "usable_cores": cores,
                "steps": args.steps, "repeats": args.repeats, "results": rows}, args.json)


if __name__ == "__main__":
    main()
