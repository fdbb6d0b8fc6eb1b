"""What a plugin hands the training engine: datasets plus a description of them."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
from torch.utils.data import Dataset

from ganctl.data import catalog, synthetic
from ganctl.errors import GanctlError, UsageError


@dataclass
class DataInfo:
    """Recorded in every checkpoint: what the model was trained on."""

    name: str
    channels: int
    size: tuple[int, int]  # (height, width)
    count: int
    fingerprint: str
    synthetic: bool = False
    skipped: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"name": self.name, "channels": self.channels, "size": list(self.size),
                "count": self.count, "fingerprint": self.fingerprint,
                "synthetic": self.synthetic, "skipped": len(self.skipped)}


class ImageTensors(Dataset):
    """Images held in memory as uint8 tensors (N, C, H, W); several aligned tensors allowed.

    Small-image datasets live here whole, so a batch is one index operation.
    """

    def __init__(self, *tensors: torch.Tensor):
        if not tensors or any(len(t) != len(tensors[0]) for t in tensors):
            raise ValueError("ImageTensors needs tensors of equal length")
        self.tensors = tensors

    def __len__(self) -> int:
        return len(self.tensors[0])

    def __getitem__(self, i):
        return tuple(t[i] for t in self.tensors)

    def get_batch(self, index: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return tuple(t[index.to(t.device)] for t in self.tensors)

    def to(self, device: torch.device) -> ImageTensors:
        return ImageTensors(*(t.to(device) for t in self.tensors))

    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in self.tensors)


@dataclass
class TrainData:
    train: Dataset
    info: DataInfo
    val: Dataset | None = None
    extra: dict = field(default_factory=dict)  # plugin-specific splits (e.g. known leaks)


@dataclass
class Source:
    """A resolved `--data` value."""

    kind: str  # "synthetic", "catalog" or "path"
    name: str
    path: Path | None = None


@dataclass(frozen=True)
class FolderPair:
    """Two folders of unpaired images (`--data-a A/ --data-b B/`)."""

    a: Path
    b: Path

    PREFIX: ClassVar[str] = "pair:"

    def __str__(self) -> str:  # how config.json and checkpoints record it
        return f"{self.PREFIX}{self.a}::{self.b}"


def read_spec(spec: str) -> str | FolderPair:
    """A recorded data spec back as what it was given as."""
    if spec.startswith(FolderPair.PREFIX):
        a, _, b = spec[len(FolderPair.PREFIX):].partition("::")
        return FolderPair(Path(a), Path(b))
    return spec


def resolve(spec: str | FolderPair, accepted: tuple[str, ...], plugin: str) -> Source:
    """Turn `--data NAME|PATH|synthetic` into a Source, with a helpful error when missing."""
    if isinstance(spec, FolderPair):
        raise UsageError(f"plugin {plugin!r} does not train on two unpaired folders "
                         "(--data-a/--data-b are for CycleGAN); pass --data")
    if spec == "synthetic":
        return Source("synthetic", "synthetic")
    if spec in catalog.CATALOG:
        if spec not in accepted:
            raise UsageError(f"plugin {plugin!r} does not train on {spec!r}; it takes "
                             f"{', '.join(accepted)} or a folder")
        where = catalog.locate(spec)
        if where is None:
            how = (f"`ganctl download-data {spec} --from PATH`" if catalog.CATALOG[spec].manual
                   else f"`ganctl download-data {spec}`")
            raise GanctlError(f"dataset {spec!r} is not in {catalog.local_dir(spec).parent}; "
                              f"get it with {how} or pass --data PATH")
        return Source("catalog", spec, where)
    path = Path(spec).expanduser()
    if path.exists():
        return Source("path", str(path), path)
    raise UsageError(f"--data {spec!r} is neither a dataset name ({', '.join(accepted)}) "
                     "nor an existing folder")


HOLD_OUT_SEED = 20240607  # held-out images do not depend on the run's seed


def held_out(n: int, n_val: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A fixed split of range(n): (`n_val` held-out indices, the rest), the same in every
    run whatever its seed."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(HOLD_OUT_SEED))
    return order[:n_val], order[n_val:]


def fingerprint_files(files: list[Path], root: Path | None = None) -> str:
    """A cheap content fingerprint: relative names and sizes of the files."""
    h = hashlib.sha256()
    for p in files:
        rel = p.relative_to(root) if root else p.name
        h.update(f"{rel}:{p.stat().st_size}\n".encode("utf-8", "surrogateescape"))
    return h.hexdigest()[:16]


def fingerprint_array(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()[:16]


def synthetic_root(layout: str, **params) -> Path:
    return synthetic.ensure(layout, **params)
