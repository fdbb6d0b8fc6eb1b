"""Weights of torchvision's own models (VGG, Inception) used by losses and metrics."""

from __future__ import annotations

from pathlib import Path


def torchvision_file(record, also: tuple[Path, ...] = (), download: bool = True,
                     timeout: float = 10.0) -> Path | None:
    """The file of a torchvision weights record (e.g. `VGG19_Weights.IMAGENET1K_V1`): from
    the torch hub cache or one of `also`, else downloaded into the hub cache by
    torchvision itself (hash-checked against the file name). None when it cannot be had."""
    import contextlib
    import socket
    import sys

    import torch

    name = Path(record.url).name
    hub = Path(torch.hub.get_dir()) / "checkpoints" / name
    for path in (hub, *(Path(p) / name for p in also)):
        if path.is_file():
            return path
    if not download:
        return None
    before = socket.getdefaulttimeout()
    socket.setdefaulttimeout(timeout)  # offline or a black-holed network: give up soon
    try:
        with contextlib.redirect_stdout(sys.stderr):  # torch.hub announces on stdout
            record.get_state_dict(progress=False, check_hash=True)
    except Exception:  # noqa: BLE001 - no network, a proxy page, a bad hash ...
        hub.unlink(missing_ok=True)
        return None
    finally:
        socket.setdefaulttimeout(before)
    return hub if hub.is_file() else None
