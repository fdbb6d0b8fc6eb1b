"""Wall time of the test suite, full and fast tier, as the README states them.

    python -m bench.suite_time --json docs/bench/suite.json

Run it alone: the suite's own timing-sensitive tests and its numbers both suffer when
another job shares the CPUs.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TIERS = {"full": ["-n", "2", "--dist", "loadscope"], "fast": ["-m", "not slow"]}


def run(extra: list[str]) -> dict:
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           *extra], cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    lines = done.stdout.strip().splitlines()
    tail = lines[-1] if lines else ""
    for line in lines:
        if line.startswith(("FAILED", "ERROR")):
            print(line, flush=True)
    counts = {k: int(n) for n, k in re.findall(r"(\d+) (passed|failed|skipped|deselected)",
                                               tail)}
    return {"wall_s": round(wall, 1), "exit_code": done.returncode, **counts, "summary": tail}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    from bench.common import cpu_model

    doc = {"date": time.strftime("%Y-%m-%d"), "cpu": cpu_model(),
           "python": sys.version.split()[0]}
    for tier, extra in TIERS.items():
        doc[tier] = run(extra)
        print(f"{tier}: {doc[tier]['summary']} (wall {doc[tier]['wall_s']} s)", flush=True)
    if args.json:
        args.json.write_text(json.dumps(doc, indent=2) + "\n")


if __name__ == "__main__":
    main()
