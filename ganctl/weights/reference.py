"""Generators from the reference pix2pix/CycleGAN implementation: published weights
downloaded on first use, and bare `.pth` state_dicts imported into ganctl's format.

The reference saves bare state_dicts whose keys follow its module nesting; ganctl's U-Net
and ResNet generator use the same nesting, so a checkpoint loads with the exact key set.
Old (PyTorch < 0.4 era) CycleGAN checkpoints carry InstanceNorm running statistics that
current InstanceNorm layers do not have; like the reference's loader, those are dropped.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import torch

from ganctl import checkpoint, nets, paths
from ganctl.errors import GanctlError

LOCK = "pretrained.lock.json"


def infer_arch(sd: dict[str, torch.Tensor]) -> dict:
    """The ganctl arch record of a reference generator state_dict, from its keys alone."""
    if "model.model.0.weight" in sd:
        # unet_N has log2(N) levels: the outermost, model.model.1, then one `model.3` per
        # deeper level; the innermost level's up-conv adds one more `model.3` to its key
        levels = max(k.count("model.3") for k in sd if k.startswith("model.model.1")) + 1
        size = 2**levels
        w = sd["model.model.0.weight"]
        norm = "batch" if any(k.endswith("running_mean") for k in sd if "model.model.1" in k) \
            else "instance"
        return nets.arch("unet", in_channels=w.shape[1], out_channels=_unet_out(sd),
                         size=size, ngf=w.shape[0], norm=norm, dropout=True)
    blocks = {int(m.group(1)) for k in sd if (m := re.match(r"model\.(\d+)\.conv_block", k))}
    if blocks:
        first = sd["model.1.weight"]
        last = max(int(k.split(".")[1]) for k in sd if re.match(r"model\.\d+\.weight$", k))
        # with dropout the second conv moves from conv_block.5 to conv_block.6
        dropout = any(k.endswith("conv_block.6.weight") and v.dim() == 4 for k, v in sd.items())
        # batch-norm nets have conv biases off; instance-norm ones (even legacy ones that
        # kept running stats) have them on
        norm = "batch" if "model.1.bias" not in sd else "instance"
        return nets.arch("resnet_generator", in_channels=first.shape[1],
                         out_channels=sd[f"model.{last}.weight"].shape[0], ngf=first.shape[0],
                         n_blocks=len(blocks), norm=norm, dropout=dropout)
    raise GanctlError("not a reference pix2pix/CycleGAN generator: its keys match neither "
                      "the U-Net (model.model.0...) nor the ResNet (model.N.conv_block...) "
                      "layout")


def _unet_out(sd) -> int:
    return sd["model.model.3.weight"].shape[1]


def patch_instance_norm(sd: dict, net: torch.nn.Module) -> dict:
    """Drop InstanceNorm running stats the live net does not keep (the reference's fix
    for checkpoints saved before PyTorch 0.4)."""
    out = dict(sd)
    for key in list(out):
        *path, leaf = key.split(".")
        module = net
        try:
            for part in path:
                module = getattr(module, part)
        except AttributeError:
            continue
        if type(module).__name__.startswith("InstanceNorm"):
            if leaf == "num_batches_tracked" or (leaf in ("running_mean", "running_var")
                                                 and getattr(module, leaf, None) is None):
                del out[key]
    return out


def load_reference(path: Path) -> tuple[torch.nn.Module, dict]:
    """Build the net a reference .pth describes and load it strictly (exact key set)."""
    try:
        sd = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001
        raise GanctlError(f"cannot load {path} safely as a state_dict: "
                          f"{checkpoint.unsafe_reason(str(e), Path(path))}") from None
    if isinstance(sd, dict) and "state_dict" in sd and isinstance(sd["state_dict"], dict):
        sd = sd["state_dict"]
    if not isinstance(sd, dict) or not all(isinstance(v, torch.Tensor) for v in sd.values()):
        raise GanctlError(f"{path} is not a state_dict of tensors")
    sd = {k.removeprefix("module."): v for k, v in sd.items()}
    arch = infer_arch(sd)
    net = nets.from_arch(arch)
    sd = patch_instance_norm(sd, net)
    missing, unexpected = set(net.state_dict()) - set(sd), set(sd) - set(net.state_dict())
    if missing or unexpected:
        raise GanctlError(f"{path}: key set differs from {arch['name']} "
                          f"({len(missing)} missing, e.g. {sorted(missing)[:2]}; "
                          f"{len(unexpected)} unexpected, e.g. {sorted(unexpected)[:2]})")
    try:
        net.load_state_dict(sd, strict=True)
    except RuntimeError as e:
        raise GanctlError(f"{path}: shapes differ from {arch['name']}: "
                          f"{str(e).splitlines()[-1][:200]}") from None
    return net, arch


def to_payload(path: Path, plugin: str, direction: str = "AtoB", source: str | None = None,
               size: int | None = None) -> dict:
    """A ganctl weights payload for a reference generator .pth (checked, exact keys)."""
    net, arch = load_reference(Path(path))
    channels = arch["kwargs"]["in_channels"]
    payload = {"kind": "weights", "plugin": plugin, "stage": 1, "arch": {"g": arch},
               "preprocess": {"size": [size or 256, size or 256], "channels": channels,
                              "range": [-1.0, 1.0], "direction": direction,
                              "batch_stats": arch["kwargs"]["norm"] == "batch"},
               "config": {}, "dataset": {"name": source or str(path), "synthetic": False},
               "step": 0, "versions": checkpoint.versions(), "imported_from": str(path),
               "created": time.strftime("%Y-%m-%dT%H:%M:%S"), "nets": {"g": net.state_dict()}}
    return payload


def check_direction(weights, wanted: str, name: str) -> None:
    """A one-way generator maps the direction recorded with it, and no other."""
    from ganctl.errors import UsageError

    have = weights.preprocess.direction
    if have != wanted:
        arrow = {"AtoB": "A -> B", "BtoA": "B -> A"}
        raise UsageError(f"{weights.path or 'these weights'} maps {arrow[have]} only, "
                         f"and {name} needs {arrow[wanted]}: import a generator for that "
                         f"way with `ganctl models import FILE --as {name} --direction "
                         f"{wanted}`")


def pretrained_path(record) -> Path:
    """Where the published generator `record` lives once downloaded and imported."""
    return paths.weights_dir() / record.name / f"pretrained-{record.model}.pt"


def pretrained(record, train_name: str) -> Path:
    """The published generator `record` (a `published.Published`), downloaded once into
    the weights cache, pinned by SHA-256 at first download (none are published upstream),
    imported to ganctl's format. The raw download and its resumable `.part` stay in the
    cache dir, so the weights cache never holds a half-written file."""
    dest = pretrained_path(record)
    if dest.is_file():
        return dest
    get_it = (f"run `ganctl models import {record.filename} --as {record.name}`, pass "
              f"--weights PATH, or train your own with `ganctl train {train_name}`")
    raw, got = fetch_pinned(record.url, record.filename, record.sha256,
                            f"the published {record.name} generator {record.filename}",
                            record.size_mb, get_it, record.name)
    try:
        payload = to_payload(raw, record.name, direction=record.direction, source=record.url)
    except GanctlError:
        raw.unlink(missing_ok=True)
        raise
    remember_pin(record.url, got)
    checkpoint.save(payload, dest)
    raw.unlink(missing_ok=True)
    return dest


def fetch_pinned(url: str, filename: str, sha256: str | None, what: str, size_mb: float,
                 get_it: str, name: str):
    """(the downloaded file, the fetch record) of a published file: checked against its
    published SHA-256, else against the one pinned at its first download, if any."""
    from ganctl.data.download import DownloadError, fetch

    raw = paths.cache_dir() / "downloads" / filename
    pin = _lock().get(url, {})
    try:
        got = fetch([url], raw, sha256=sha256 or pin.get("sha256"), size=pin.get("size"),
                    fallback=get_it, what=what, approx_size=int(size_mb * 10**6))
    except DownloadError as e:  # the mismatch message has no way out in it yet
        text = str(e) if get_it in str(e) else f"{e}; {get_it}"
        raise DownloadError(f"{name}: {text}") from None
    return raw, got


def remember_pin(url: str, got) -> None:
    """Pin a first download's SHA-256 and size (once its content checked out)."""
    lock = _lock()
    if url in lock:
        return
    lock[url] = {"sha256": got.sha256, "size": got.size, "date": time.strftime("%Y-%m-%d")}
    checkpoint.atomic_write(paths.weights_dir() / LOCK,
                            lambda f: f.write(json.dumps(lock, indent=2).encode()))


def _lock() -> dict:
    try:
        return json.loads((paths.weights_dir() / LOCK).read_text())
    except (OSError, ValueError):
        return {}


def is_reference_file(path: Path) -> bool:
    """A bare state_dict (what the reference repositories publish), not a ganctl file."""
    if not checkpoint.is_torch_file(path):  # e.g. safetensors, which newer torch also reads
        return False
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 - unreadable: let the normal loader report it
        return False
    return isinstance(payload, dict) and "format" not in payload and all(
        isinstance(v, torch.Tensor) for v in payload.values())
