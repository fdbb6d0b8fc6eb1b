"""`--device auto|cpu|cuda|cuda:N|mps` resolved honestly: asking for what is absent is an error."""

from __future__ import annotations

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
