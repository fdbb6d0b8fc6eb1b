"""Start-up: wall time of `ganctl --help` and of every `ganctl VERB --help`, in fresh
processes (interpreter start-up included), the commands interleaved round by round so
machine noise hits all alike; median and range of `--repeats` rounds.

    python -m bench.help_time [--repeats 10] [--json docs/bench/help.json]

Run it alone: a training process beside it doubles every number on a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

VERBS = ["train", "sample", "upscale", "translate", "detect-leaks", "evaluate",
         "download-data", "plot-losses", "demo", "models", "models list", "models export"]


def wall(args: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "ganctl", *args], check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    from bench.common import cpu_model

    cases = {"ganctl --help": ["--help"]}
    cases.update({f"ganctl {v} --help": [*v.split(), "--help"] for v in VERBS})
    walls: dict[str, list[float]] = {k: [] for k in cases}
    wall(["--help"])  # warm the file cache and the .pyc files first
    for _ in range(args.repeats):
        for name, argv in cases.items():
            walls[name].append(wall(argv))
    rows = {k: {"median_s": round(statistics.median(v), 3), "min_s": round(min(v), 3),
                "max_s": round(max(v), 3)} for k, v in walls.items()}
    for k, r in rows.items():
        print(f"{k:32s} median {r['median_s'] * 1000:4.0f} ms  "
              f"({r['min_s'] * 1000:.0f}-{r['max_s'] * 1000:.0f})")
    doc = {"date": time.strftime("%Y-%m-%d"), "cpu": cpu_model(), "repeats": args.repeats,
           "python": sys.version.split()[0], "rows": rows}
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(doc, indent=2) + "\n")


if __name__ == "__main__":
    main()
