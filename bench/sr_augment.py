"""Stage-2 augmentation side by side: ganctl's stage 2 (warm-up phase, its other defaults)
trained with `augment=flip` and `augment=dihedral` at the same time, one torch thread
each, on the two sets of bench/quality.py (photographs, Fashion-MNIST sneakers 7 -> 28),
then scored on their unseen test images. This is the measurement behind `augment=auto`
(flips for the built-in sneaker sets, all 8 symmetries for folders).

    python -m bench.sr_augment --json docs/bench/sr-augment.json
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

from bench.common import provenance, write_json
from bench.quality import ganctl_cmd, load_weights, result, spawn, sr_scores, sr_set, wait_all

CHOICES = ("flip", "dihedral")


def one_set(set_name: str, minutes: float, tmp: Path) -> dict:
    from ganctl.plugins.sneakers import plugin
    from ganctl.plugins.sneakers.stage2 import bicubic_up, downscale

    data, sets, test_hr = sr_set(set_name, tmp)
    hr = test_hr.float().div(127.5).sub(1)
    lr = downscale(hr)
    procs, logs = {}, {}
    for aug in CHOICES:
        logs[aug] = tmp / f"{set_name}-{aug}.log"
        cmd = ganctl_cmd("train", "sneakers", "--stage", "2", "--data", data, "--no-publish",
                         "--json", "--runs-dir", str(tmp / f"{set_name}-{aug}"), "--minutes",
                         f"{minutes:g}", "--set", *sets, f"augment={aug}", "epochs=0",
                         "warmup_steps=100000000", "sample_every=100000")
        procs[aug] = (spawn(cmd, logs[aug]), logs[aug])
    wait_all(procs)
    rows = {"bicubic": {**sr_scores(bicubic_up(lr), hr), "steps": 0}}
    for aug in CHOICES:
        res = result(logs[aug])
        net = plugin.upscaler(load_weights(Path(res["run"]) / "weights.pt"),
                              torch.device("cpu"))[0]
        with torch.no_grad():
            rows[f"augment={aug}"] = {**sr_scores(net(lr).clamp(-1, 1), hr), "steps": res["step"]}
    for name, r in rows.items():
        gain = r["psnr"] - rows["bicubic"]["psnr"]
        print(f"{set_name:8s} {name:18s} PSNR {r['psnr']:6.2f} ({gain:+.2f} dB over bicubic)  "
              f"SSIM {r['ssim']:.4f}  steps {r['steps']}", flush=True)
    return {"minutes": minutes, "test_images": len(hr), "rows": rows}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=4.0)
    ap.add_argument("--sets", nargs="+", default=["photos", "fashion"])
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    doc = {**provenance(torch.device("cpu")), "command": " ".join(sys.argv),
           "threads_per_side": 1, "sets": {}}
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.sets:
            doc["sets"][name] = one_set(name, args.minutes, Path(tmp))
    doc["bench_seconds"] = round(time.perf_counter() - t0, 1)
    write_json(doc, args.json)


if __name__ == "__main__":
    main()
