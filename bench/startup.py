"""What a fresh command pays before its work: the peak memory of `import torch` alone, and
the time `--compile` adds to a short training run with a cold and with a warm compile
cache. Cases run interleaved (eager, cold, warm, eager, ...) so machine noise hits all.

    python -m bench.startup [--repeats 3] [--json docs/bench/startup.json]
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

import torch

from bench.common import provenance, write_json

# A small parent that forks the measured process: Linux carries the peak RSS across fork
# and exec, so it must be a fresh, small process whose own peak is below the child's.
PEAK = """
import json, os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.executable, [sys.executable, *sys.argv[1:]])
_, status, usage = os.wait4(pid, 0)
print(json.dumps({"code": os.waitstatus_to_exitcode(status),
                  "peak_rss_mb": usage.ru_maxrss / 1024}))
"""
TRAIN = ["-m", "ganctl", "train", "sneakers", "--data", "synthetic", "--steps", "3",
         "--no-publish", "--set", "batch_size=128", "sample_every=1000"]


def import_peak_mb() -> float:
    out = subprocess.run([sys.executable, "-c", PEAK, "-c", "import torch"],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)["peak_rss_mb"]


def train_seconds(compile_nets: bool, cache: str, home: str) -> float:
    env = {**os.environ, "TORCHINDUCTOR_CACHE_DIR": cache, "GANCTL_HOME": home}
    t0 = time.perf_counter()
    subprocess.run([sys.executable, *TRAIN, *(["--compile"] if compile_nets else [])],
                   cwd=home, env=env, check=True, capture_output=True)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    peaks, eager, cold, warm = [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeats):
            peaks.append(import_peak_mb())
            cache = f"{tmp}/inductor-{r}"  # empty: a cold compile
            eager.append(train_seconds(False, cache, tmp))
            cold.append(train_seconds(True, cache, tmp))
            warm.append(train_seconds(True, cache, tmp))  # the cache just filled
            print(f"repeat {r + 1}: import torch {peaks[-1]:.0f} MB; train 3 steps eager "
                  f"{eager[-1]:.1f} s, --compile cold {cold[-1]:.1f} s, warm {warm[-1]:.1f} s",
                  file=sys.stderr)
    med = statistics.median
    doc = {**provenance(torch.device("cpu")), "repeats": args.repeats,
           "import_torch_peak_rss_mb": {"median": round(med(peaks)), "min": round(min(peaks)),
                                        "max": round(max(peaks))},
           "train_3_steps_s": {k: {"median": round(med(v), 1), "min": round(min(v), 1),
                                   "max": round(max(v), 1)}
                               for k, v in (("eager", eager), ("compile_cold", cold),
                                            ("compile_warm", warm))},
           "compile_overhead_s": {"cold": round(med(c - e for c, e in zip(cold, eager)), 1),
                                  "warm": round(med(w - e for w, e in zip(warm, eager)), 1)}}
    print(json.dumps(doc, indent=2))
    write_json(doc, args.json)


if __name__ == "__main__":
    main()
