"""Upscaler files the community publishes (`.pth`/`.safetensors` of ESRGAN, Real-ESRGAN,
SwinIR, HAT, OmniSR, SPAN, ...), as `ganctl upscale --weights FILE` takes them.

Files are read as tensors only (`torch.load(weights_only=True)` or safetensors), never
executed. ESRGAN/Real-ESRGAN layouts (RRDBNet, SRVGGNetCompact) load into ganctl's own nets;
every other layout goes to spandrel (`pip install 'ganctl[models]'`), which recognises the
architecture from the keys and takes the scale from the file.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ganctl import checkpoint, nets
from ganctl.errors import GanctlError
from ganctl.weights import formats
from ganctl.weights.upscalers import unwrap

DEFAULT_CONTEXT = 32  # tile padding for nets whose reach is too wide to pad exactly


def is_community_file(explicit: str | None) -> bool:
    """A weights file that is not ganctl's: a torch file without ganctl's format key, or a
    safetensors file without ganctl's metadata."""
    if not explicit:
        return False
    path = Path(explicit).expanduser()
    if not path.is_file():
        return False
    if formats.is_safetensors(path):
        from safetensors import safe_open

        try:
            with safe_open(str(path), framework="pt") as f:
                return "ganctl" not in (f.metadata() or {})
        except Exception:  # noqa: BLE001 - unreadable: the normal loader reports it
            return False
    if not checkpoint.is_torch_file(path):
        return False
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001
        return False
    return isinstance(obj, dict) and "format" not in obj


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    try:
        if formats.is_safetensors(path):
            from safetensors.torch import load_file

            return unwrap(load_file(str(path)))
        return unwrap(torch.load(path, map_location="cpu", weights_only=True))
    except GanctlError as e:
        raise GanctlError(f"{path}: {e}") from None
    except Exception as e:  # noqa: BLE001
        raise GanctlError(f"cannot load {path} safely as a state_dict: "
                          f"{checkpoint.unsafe_reason(str(e), Path(path))}") from None


def identify(sd: dict[str, torch.Tensor]) -> dict | None:
    """The ganctl arch record of an ESRGAN-family state_dict in BasicSR's layout, or None."""
    if "conv_first.weight" in sd and "body.0.rdb1.conv1.weight" in sd:
        blocks = 1 + max(int(m.group(1)) for k in sd if (m := re.match(r"body\.(\d+)\.", k)))
        first = sd["conv_first.weight"]
        fold = {3: 1, 12: 2, 48: 4}.get(first.shape[1])
        if fold is None:
            return None
        return nets.arch("rrdb_g", num_in_ch=3, num_out_ch=sd["conv_last.weight"].shape[0],
                         scale=4 // fold, num_feat=first.shape[0], num_block=blocks,
                         num_grow_ch=sd["body.0.rdb1.conv1.weight"].shape[0])
    if "body.0.weight" in sd and "body.1.weight" in sd and sd["body.1.weight"].dim() == 1:
        convs = sorted(int(k.split(".")[1]) for k in sd if re.match(r"body\.\d+\.weight$", k)
                       and sd[k].dim() == 4)
        first, last = sd["body.0.weight"], sd[f"body.{convs[-1]}.weight"]
        out_ch = 3
        scale = round((last.shape[0] / out_ch) ** 0.5)
        if scale * scale * out_ch != last.shape[0]:
            return None
        return nets.arch("srvgg_g", num_in_ch=first.shape[1], num_out_ch=out_ch,
                         num_feat=first.shape[0], num_conv=len(convs) - 2, upscale=scale,
                         act_type="prelu")
    return None


class UnitRange(nn.Module):
    """A net on [0, 1] images (spandrel's) behind ganctl's [-1, 1] interface."""

    local_range = False

    def __init__(self, descriptor):
        super().__init__()
        self.descriptor = descriptor
        self.model = descriptor.model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.descriptor((x + 1) / 2) * 2 - 1


@dataclass
class Community:
    net: nn.Module
    scale: int
    channels: int
    context: int
    record: dict[str, Any]

    @property
    def line(self) -> str:
        r = self.record
        return (f"weights: {r['path']} ({r['arch']} x{r['scale']}, loaded by {r['loader']}; "
                "--weights)")


def load(path: Path, device) -> Community:
    """The upscaler in a community file, on `device`, in eval mode."""
    path = Path(path).expanduser()
    sd = read_state_dict(path)
    arch = identify(sd)
    if arch is not None:
        net = nets.from_arch(arch)
        try:
            net.load_state_dict(sd, strict=True)
        except RuntimeError as e:
            raise GanctlError(f"{path}: looks like {arch['name']} but does not load: "
                              f"{str(e).splitlines()[1].strip()[:160]}") from None
        name, loader = ("RRDBNet (ESRGAN)" if arch["name"] == "rrdb_g"
                        else "SRVGGNetCompact (Real-ESRGAN)"), "ganctl"
        scale, channels = net.scale, arch["kwargs"]["num_in_ch"]
        context = min(net.receptive_radius, DEFAULT_CONTEXT)
    else:
        net, scale, channels, name = _spandrel(path, sd)
        loader, context = "spandrel", DEFAULT_CONTEXT
    record = {"kind": "file", "path": str(path), "name": path.stem, "arch": name,
              "scale": scale, "loader": loader, "sha256": checkpoint.sha256_of(path)}
    return Community(net.to(device).eval(), scale, channels, context, record)


def _spandrel(path: Path, sd: dict) -> tuple[nn.Module, int, int, str]:
    keys = ", ".join(list(sd)[:3])
    try:
        from spandrel import ImageModelDescriptor, ModelLoader, UnsupportedModelError
    except ImportError:
        raise GanctlError(f"{path} is not an ESRGAN/Real-ESRGAN file (keys: {keys}, ...); "
                          "other architectures need `pip install 'ganctl[models]'`") from None
    try:
        with warnings.catch_warnings():  # deprecation notes from inside the arch code
            warnings.simplefilter("ignore", UserWarning)
            desc = ModelLoader().load_from_state_dict(sd)
    except UnsupportedModelError:
        raise GanctlError(f"{path}: unknown upscaler layout (keys: {keys}, ...; {len(sd)} "
                          "tensors): not an architecture spandrel knows") from None
    except Exception as e:  # noqa: BLE001 - a known layout with odd shapes
        raise GanctlError(f"{path}: cannot build its net: {type(e).__name__}: "
                          f"{str(e).splitlines()[0][:160]}") from None
    if not isinstance(desc, ImageModelDescriptor) or desc.purpose not in ("SR", "Restoration"):
        raise GanctlError(f"{path} holds a {desc.architecture.name} model for "
                          f"{desc.purpose}, not an upscaler")
    if desc.input_channels != desc.output_channels:
        raise GanctlError(f"{path}: {desc.input_channels} channels in, "
                          f"{desc.output_channels} out: not an image upscaler")
    return UnitRange(desc), desc.scale, desc.input_channels, desc.architecture.name
