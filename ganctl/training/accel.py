"""Speed options of a training run: mixed precision, channels-last memory, torch.compile.

They apply to every plugin, because recipes do their forward passes inside `autocast()`
(the engine wraps `Recipe.step`) and their updates through `Recipe.update`.
`--precision auto` picks bf16 where the hardware computes it natively and fp32 elsewhere.
"""

from __future__ import annotations

import contextlib
import functools
from pathlib import Path

import torch
from torch import nn

from ganctl.console import warn
from ganctl.errors import UsageError

DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


@functools.cache
def cpu_has_native_bf16(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """x86 CPUs with AVX512-BF16 or AMX-BF16 (Linux's CPU flags; False where unknown).
    oneDNN emulates bf16 on other AVX-512 CPUs, which is slower than fp32."""
    try:
        flags = next((line for line in cpuinfo.read_text().splitlines()
                      if line.startswith("flags")), "").split()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_precision(precision: str, device: torch.device) -> str:
    """The precision a run uses: `auto` becomes bf16 on CPUs with native bf16 and CUDA
    devices of compute capability 8.0 or newer, fp32 everywhere else."""
    if precision != "auto":
        return precision
    if device.type == "cuda":
        return "bf16" if torch.cuda.get_device_capability(device)[0] >= 8 else "fp32"
    if device.type == "cpu":
        return "bf16" if cpu_has_native_bf16() else "fp32"
    return "fp32"


def check_precision(precision: str, device: torch.device) -> None:
    """Refuse combinations that would be slow or wrong rather than quietly degrade."""
    if precision == "fp32":
        return
    if device.type == "mps":
        raise UsageError("--precision on MPS is not supported; use fp32")
    if precision == "fp16" and device.type != "cuda":
        raise UsageError("--precision fp16 needs a CUDA GPU (CPU fp16 is slow and has no "
                         "loss scaling); use bf16 or fp32")
    if precision == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise UsageError(f"{torch.cuda.get_device_name(device)} has no bf16 support; "
                         "use fp16 or fp32")


def autocast(device: torch.device, precision: str):
    """The context a training step's forward passes run in."""
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=DTYPES[precision])


def grad_scalers(precision: str, names) -> dict[str, torch.amp.GradScaler]:
    """One loss scaler per optimiser for fp16 (none otherwise): G and D losses live on
    different scales, and each update skips on its own overflow."""
    if precision != "fp16":
        return {}
    return {n: torch.amp.GradScaler("cuda") for n in names}


def channels_last(nets) -> None:
    for net in nets:
        net.to(memory_format=torch.channels_last)


def to_channels_last(batch: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
    return tuple(t.contiguous(memory_format=torch.channels_last) if t.dim() == 4 else t
                 for t in batch)


def compile_problem(device: torch.device) -> str | None:
    """Why torch.compile cannot run on `device` here (None if it can): compiles a tiny
    function, which fails fast when e.g. no C++ compiler or Triton is installed."""
    try:
        fn = torch.compile(lambda x: x * 2 + 1)
        fn(torch.ones(8, device=device))
    except Exception as e:  # noqa: BLE001 - any failure means: no compile here
        text = str(e).strip().splitlines()
        return f"{type(e).__name__}: {text[0] if text else ''}"[:200]
    return None


def compile_nets(nets: dict[str, nn.Module], device: torch.device) -> bool:
    """Compile the nets in place (state dict keys unchanged); warn and run eager when
    torch.compile is unavailable. Returns whether the nets were compiled."""
    problem = compile_problem(device)
    if problem:
        warn(f"--compile: torch.compile does not work here ({problem}); training without it")
        return False
    for net in nets.values():
        net.compile()
    return True
