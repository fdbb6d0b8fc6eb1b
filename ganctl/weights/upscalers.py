"""Upscalers by name, as `ganctl upscale --model NAME` takes them (like Real-ESRGAN's `-n`):
the bundled photo-x4 and the published ESRGAN-family files, downloaded once on first use.

Each published file is a BasicSR checkpoint (`{"params_ema": state_dict}` or `{"params":
...}`) of a net `ganctl.nets.esrgan` builds with the same parameter names. On first use it
is fetched through the one download path (size announced, offline rule, SHA-256 pinned at
the first download: Real-ESRGAN publishes none), loaded with `weights_only=True`, checked
key by key against the net, and stored in ganctl's format in the weights cache.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ganctl import checkpoint, nets, paths
from ganctl.errors import GanctlError

RELEASES = "https://github.com/xinntao/Real-ESRGAN/releases/download/"
LICENCE = "BSD-3-Clause (Real-ESRGAN, Tencent ARC)"
PAPER = "Wang et al., Real-ESRGAN: Training Real-World Blind Super-Resolution with Pure " \
        "Synthetic Data, ICCVW 2021"
BUNDLED = "photo-x4"
# The keys BasicSR-style files keep their state_dict under, the EMA weights first.
WRAPPERS = ("params_ema", "params-ema", "params", "state_dict", "model", "net")


@dataclass(frozen=True)
class Upscaler:
    """A published upscaler: what it is, where it lives, and the net it loads into."""

    name: str
    url: str
    size_mb: float  # approximate download size
    scale: int
    net: str  # a ganctl.nets name
    kwargs: dict = field(default_factory=dict)
    about: str = ""
    licence: str = LICENCE
    paper: str = PAPER
    sha256: str | None = None

    @property
    def filename(self) -> str:
        return self.url.rsplit("/", 1)[-1]


def _rrdb(blocks: int, scale: int = 4) -> dict:
    return {"num_in_ch": 3, "num_out_ch": 3, "scale": scale, "num_feat": 64,
            "num_block": blocks, "num_grow_ch": 32}


def _compact(convs: int) -> dict:
    return {"num_in_ch": 3, "num_out_ch": 3, "num_feat": 64, "num_conv": convs, "upscale": 4,
            "act_type": "prelu"}


UPSCALERS: dict[str, Upscaler] = {u.name: u for u in (
    Upscaler("realesrgan-x4plus", RELEASES + "v0.1.0/RealESRGAN_x4plus.pth", 64, 4, "rrdb_g",
             _rrdb(23), "ESRGAN's 23-block RRDB net trained on real-world degradations "
             "(noise, blur, JPEG): sharp, denoising"),
    Upscaler("realesrnet-x4plus", RELEASES + "v0.1.1/RealESRNet_x4plus.pth", 64, 4, "rrdb_g",
             _rrdb(23), "the same net before its GAN phase (L1 only): faithful, softer"),
    Upscaler("realesrgan-x2plus", RELEASES + "v0.2.1/RealESRGAN_x2plus.pth", 64, 2, "rrdb_g",
             _rrdb(23, 2), "x2 version of realesrgan-x4plus"),
    Upscaler("realesrgan-x4plus-anime", RELEASES + "v0.2.2.4/RealESRGAN_x4plus_anime_6B.pth",
             18, 4, "rrdb_g", _rrdb(6), "6-block RRDB net for anime and illustrations"),
    Upscaler("realesr-general-x4v3", RELEASES + "v0.2.5.0/realesr-general-x4v3.pth", 4.9, 4,
             "srvgg_g", _compact(32), "small general-purpose net (SRVGGNetCompact, 32 "
             "convs): about 14x fewer multiply-adds than realesrgan-x4plus"),
    Upscaler("realesr-animevideov3", RELEASES + "v0.2.5.0/realesr-animevideov3.pth", 2.4, 4,
             "srvgg_g", _compact(16), "extra-small net for anime video frames"),
)}


def names() -> list[str]:
    return [BUNDLED, *UPSCALERS]


def path(record: Upscaler) -> Path:
    """Where `record` lives once downloaded and converted."""
    return paths.weights_dir() / "upscalers" / f"{record.name}.pt"


def unwrap(obj) -> dict[str, torch.Tensor]:
    """The state_dict inside a checkpoint as the community saves them (nested under
    params_ema/params/state_dict/..., or bare), `module.` prefixes dropped."""
    for key in WRAPPERS:
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
            break
    if not isinstance(obj, dict) or not obj or \
            not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise GanctlError("not a state_dict of tensors (nor one under "
                          f"{', '.join(WRAPPERS)})")
    return {k.removeprefix("module."): v for k, v in obj.items()}


def to_payload(raw: Path, record: Upscaler) -> dict:
    """A ganctl weights payload (sneakers stage 2, the upscaling stage) for a downloaded
    published file, its keys and shapes checked against the net."""
    try:
        sd = unwrap(torch.load(raw, map_location="cpu", weights_only=True))
    except GanctlError as e:
        raise GanctlError(f"{record.name}: {raw.name}: {e}") from None
    except Exception as e:  # noqa: BLE001
        raise GanctlError(f"cannot load {raw} safely as a state_dict: "
                          f"{checkpoint.unsafe_reason(str(e), raw)}") from None
    arch = nets.arch(record.net, **record.kwargs)
    net = nets.from_arch(arch)
    try:
        net.load_state_dict(sd, strict=True)
    except RuntimeError as e:
        raise GanctlError(f"{record.name}: {raw.name} does not fit {record.net} "
                          f"{record.kwargs}: {str(e).splitlines()[1].strip()[:200]}") from None
    return {"kind": "weights", "plugin": "sneakers", "stage": 2, "arch": {"g": arch},
            "preprocess": {"channels": 3, "range": [-1.0, 1.0], "size": [64, 64]},
            "config": {}, "recipe_meta": {"scale": record.scale, "licence": record.licence,
                                          "paper": record.paper},
            "dataset": {"name": record.url, "synthetic": False}, "step": 0,
            "versions": checkpoint.versions(), "imported_from": record.url,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "nets": {"g": {k: v.float() for k, v in net.state_dict().items()}}}


def fetch(record: Upscaler) -> Path:
    """The converted file of `record`, downloaded and converted on first use."""
    from ganctl.weights.reference import fetch_pinned, remember_pin

    dest = path(record)
    if dest.is_file():
        return dest
    get_it = (f"fetch {record.url} elsewhere and pass it with --weights FILE (it needs "
              "`pip install 'ganctl[models]'`), or use the bundled upscaler (--model "
              f"{BUNDLED})")
    raw, got = fetch_pinned(record.url, record.filename, record.sha256,
                            f"the published upscaler {record.name} ({record.filename})",
                            record.size_mb, get_it, record.name)
    try:
        payload = to_payload(raw, record)
    except GanctlError:
        raw.unlink(missing_ok=True)
        raise
    remember_pin(record.url, got)
    dest.parent.mkdir(parents=True, exist_ok=True)
    checkpoint.save(payload, dest)
    raw.unlink(missing_ok=True)
    return dest
