"""Helpers the benchmark scripts share (run them as `python -m bench.NAME`)."""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path

import torch


def sync(device: torch.device) -> None:
    """Wait for queued GPU work, so wall-clock timings are honest."""
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(fn, device: torch.device, repeats: int) -> float:
    """Median seconds of `fn()` after one warm-up call, the device synchronised."""
    import statistics

    fn()
    times = []
    for _ in range(repeats):
        sync(device)
        t0 = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def cpu_model() -> str:
    """The CPU's model name as the kernel reports it (machines here differ in speed)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def provenance(device: torch.device) -> dict:
    """Date, device, machine and torch version of a result file."""
    from bench.plain import ADAM

    return {"date": time.strftime("%Y-%m-%d"), "device": str(device), "reference_adam": ADAM,
            "machine": f"{platform.machine()}, {torch.get_num_threads()} torch threads",
            "cpu": cpu_model(), "torch": torch.__version__}


def write_json(doc: dict, path: Path | None) -> None:
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(doc, indent=2) + "\n")


def write_fashion_leaks(root: Path, test_classes: dict[int, int | None],
                        split: str = "test",
                        proliv_classes: tuple[int, ...] | None = None) -> dict[str, int]:
    """A leaks dataset from Debian's Fashion-MNIST: train/ the training sneakers (normal),
    proliv/ 150 training images of other classes (known leaks; of `proliv_classes` only,
    when given), test/ the test images of
    `test_classes` (class -> how many, drawn at random; None: all) with annotations
    (sneakers 0, the rest 1). Returns each test file's class.

    split="val" takes test/ from the training images instead, for choosing defaults
    without the test split: the last 1,000 training sneakers (then not in train/) and
    training images of the other classes that are not in proliv/."""
    import numpy as np
    from PIL import Image

    from ganctl.data import catalog, layouts

    fm = catalog.DEBIAN_FASHION_MNIST
    tx, ty = layouts.fashion_mnist(fm, "train")
    rng = np.random.default_rng(0)
    for sub in ("train", "proliv", "test/imgs"):
        (root / sub).mkdir(parents=True)
    sneakers = np.nonzero(ty == 7)[0]
    pool = np.nonzero(ty != 7 if proliv_classes is None else np.isin(ty, proliv_classes))[0]
    proliv = rng.choice(pool, 150, replace=False)
    if split == "val":
        sneakers = sneakers[:-1000]  # the last 1,000 become the normals of test/
        keep = np.setdiff1d(np.arange(len(ty)), np.r_[proliv, sneakers])
        vx, vy = tx[keep], ty[keep]
    else:
        vx, vy = layouts.fashion_mnist(fm, "test")
    for i in sneakers:
        Image.fromarray(tx[i, 0]).save(root / "train" / f"{i}.png")
    for i in proliv:
        Image.fromarray(tx[i, 0]).save(root / "proliv" / f"{i}.png")
    kinds, lines = {}, []
    for c, count in test_classes.items():
        idx = np.nonzero(vy == c)[0]
        idx = idx if count is None or (c == 7 and split == "val") else \
            rng.choice(idx, count, replace=False)
        for i in idx:
            name = f"{i}.png"
            Image.fromarray(vx[i, 0]).save(root / "test" / "imgs" / name)
            kinds[name] = c
            lines.append(f"{name} {int(c != 7)}")
    (root / "test" / "test_annotation.txt").write_text("\n".join(lines) + "\n")
    return kinds
