"""`--device auto|cpu|cuda|cuda:N|mps` resolved honestly (asking for what is absent is an
error), and how many CPU threads torch may use (`--threads`)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import torch

from ganctl.errors import UsageError


def resolve(spec: str = "auto") -> torch.device:
    spec = (spec or "auto").strip().lower()
    if spec == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(spec)
    except RuntimeError:
        raise UsageError(f"bad --device {spec!r}; use auto, cpu, cuda, cuda:N or mps") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise UsageError("--device cuda asked for, but PyTorch sees no CUDA GPU here")
        index = dev.index or 0
        if index >= torch.cuda.device_count():
            raise UsageError(f"--device {spec}: only {torch.cuda.device_count()} CUDA device(s)")
        torch.cuda.set_device(index)
        return torch.device("cuda", index)
    if dev.type == "mps" and not (torch.backends.mps.is_available()):
        raise UsageError("--device mps asked for, but MPS is not available here")
    if dev.type not in ("cpu", "cuda", "mps"):
        raise UsageError(f"unsupported --device {spec!r}")
    return dev


def describe(dev: torch.device) -> str:
    if dev.type == "cuda":
        return f"{dev} ({torch.cuda.get_device_name(dev)})"
    return str(dev)


def cgroup_cpu_quota(root: Path = Path("/sys/fs/cgroup")) -> float | None:
    """The CPU quota of this process's container in cores (cgroup v2 `cpu.max`, or v1
    `cpu.cfs_quota_us` / `cpu.cfs_period_us`); None when there is none or it is unknown."""
    try:
        quota, period = (root / "cpu.max").read_text().split()[:2]
    except (OSError, ValueError):
        try:
            quota = (root / "cpu" / "cpu.cfs_quota_us").read_text().strip()
            period = (root / "cpu" / "cpu.cfs_period_us").read_text().strip()
        except OSError:
            return None
    try:
        q, p = float(quota), float(period)
    except ValueError:  # "max": no limit
        return None
    return q / p if q > 0 and p > 0 else None


def usable_cores(root: Path = Path("/sys/fs/cgroup")) -> int:
    """The cores this process may run on: its CPU affinity, capped by a container quota
    (rounded down: 1.5 cores of quota get one thread, which is never throttled)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        cores = os.cpu_count() or 1
    quota = cgroup_cpu_quota(root)
    return max(1, min(cores, int(quota))) if quota else max(1, cores)


def thread_count(requested: int | None = None, env: Mapping[str, str] = os.environ,
                 cores: int | None = None) -> tuple[int, str]:
    """(intra-op threads, why): `--threads`, else OMP_NUM_THREADS, else the usable cores
    shared by the processes torchrun starts on this machine (LOCAL_WORLD_SIZE). torchrun
    sets OMP_NUM_THREADS=1 for several local processes when it is unset; that placeholder
    gives way to cores / local processes (pass --threads 1 to really run one thread)."""
    if requested is not None:
        if requested < 1:
            raise UsageError(f"--threads must be at least 1, got {requested}")
        return requested, "--threads"
    try:
        local = max(1, int(env.get("LOCAL_WORLD_SIZE", "1")))
    except ValueError:
        local = 1
    omp = env.get("OMP_NUM_THREADS", "").split(",")[0].strip()
    if omp.isdigit() and int(omp) > 0 and not (local > 1 and omp == "1"):
        return int(omp), "OMP_NUM_THREADS"
    cores = usable_cores() if cores is None else cores
    return max(1, cores // local), f"{cores} usable cores / {local} local process(es)"


def set_threads(requested: int | None = None) -> int:
    """Apply `thread_count` to torch's intra-op pool (DataLoader workers run one thread
    each: PyTorch sets that in every worker). Returns the thread count."""
    n, _why = thread_count(requested)
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n


def busy_cpus_warning(requested: int | None, env: Mapping[str, str] = os.environ) -> str | None:
    """A hint when the CPUs already look busy (a 1-minute load average of at least the
    usable cores) and the threads were not chosen: two runs with all cores each share
    them badly (docs/performance.md measured half the total throughput of one thread
    each)."""
    if requested is not None or "OMP_NUM_THREADS" in env or "LOCAL_WORLD_SIZE" in env:
        return None
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # Windows
        return None
    cores = usable_cores()
    if cores > 1 and load >= cores:
        return (f"the CPUs are busy (load {load:.1f} on {cores} usable cores); if another "
                f"training runs here, give each run part of them, e.g. --threads "
                f"{max(1, cores // 2)}")
    return None
