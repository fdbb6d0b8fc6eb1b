"""Inference weights as safetensors: tensors in the file, ganctl's record as JSON in its
header. Reading one never unpickles anything (the format has no code path for it).

Tensor names are ``<net>/<state_dict key>`` (``g/blocks.0.weight``); the header's
``__metadata__`` holds one entry, ``{"ganctl": "<JSON of everything but the tensors>"}``
(one key, so the file's bytes do not depend on a hash map's order), the same record a
Hub folder keeps in ``config.json``.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

from ganctl import checkpoint
from ganctl.errors import GanctlError

SUFFIX = ".safetensors"


def record(doc: dict[str, Any]) -> dict[str, Any]:
    """Everything of an inference weights record except its tensors, as plain JSON values."""
    out = {k: v for k, v in doc.items() if k not in ("nets", "path")}
    out.update(format=checkpoint.FORMAT, format_version=checkpoint.FORMAT_VERSION,
               kind="weights")
    return json.loads(json.dumps(out))  # tuples -> lists, and a non-JSON value fails here


def is_safetensors(path: Path) -> bool:
    """Whether the file starts like safetensors: a little-endian u64 header length, then a
    JSON object."""
    try:
        with open(path, "rb") as f:
            head = f.read(9)
    except OSError:
        return False
    if len(head) < 9 or head[8:9] != b"{":
        return False
    (n,) = struct.unpack("<Q", head[:8])
    return 2 <= n < 100_000_000


def write(doc: dict[str, Any], path: Path) -> Path:
    """Write inference weights (kind "weights") atomically as one safetensors file."""
    from safetensors.torch import save

    tensors = {f"{net}/{key}": t.detach().cpu().contiguous().clone()
               for net, sd in doc["nets"].items() for key, t in sd.items()}
    meta = {"ganctl": json.dumps(record(doc), sort_keys=True)}
    data = save(tensors, metadata=meta)
    try:
        checkpoint.atomic_write(Path(path), lambda f: f.write(data))
    except OSError as e:
        raise GanctlError(f"cannot write {path}: {e.strerror or e}") from None
    return Path(path)


def read(path: Path, device="cpu") -> dict[str, Any]:
    """Inference weights from a ganctl safetensors file (nets rebuilt as state dicts)."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt", device=str(device)) as f:
            meta = f.metadata() or {}
            if "ganctl" not in meta:
                raise GanctlError(f"{path} is a safetensors file without ganctl's metadata "
                                  "(plugin, architecture); export it with `ganctl models "
                                  "export`")
            nets: dict[str, dict] = {}
            for name in f.keys():
                net, _, key = name.partition("/")
                nets.setdefault(net, {})[key] = f.get_tensor(name)
    except (SafetensorError, OSError, ValueError) as e:
        raise GanctlError(f"cannot read safetensors file {path}: "
                          f"{str(e).splitlines()[0][:160] if str(e) else type(e).__name__}"
                          ) from None
    try:
        doc = json.loads(meta["ganctl"])
    except ValueError:
        raise GanctlError(f"{path}: its ganctl metadata is not valid JSON") from None
    doc["nets"] = nets
    return checkpoint.check(doc, path, kind="weights")
