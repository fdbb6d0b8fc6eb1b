"""What loaded inference weights are: the frozen `Weights` record (each net's `Arch`, the
`Preprocess` of how its inputs and outputs are scaled, provenance, scores), converted
from and to the file's plain dict only at the file boundary."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ganctl.weights import bundled

META_KEYS = ("plugin", "stage", "arch", "preprocess", "dataset", "step", "epoch", "created",
             "versions", "run", "ema_nets", "recipe_meta", "source")


@dataclass(frozen=True)
class Preprocess:
    """How a net's inputs and outputs are scaled, as its recipe recorded it."""

    size: tuple[int, int]
    channels: int
    range: tuple[float, float] = (-1.0, 1.0)
    fit: str = "resize"  # leaks: "pad" (letter-box) or "resize" to `size`
    direction: str = "AtoB"  # a one-way translator's way, in its dataset's A/B terms
    batch_stats: bool = False  # pix2pix trained at batch 1: each image's own BN statistics

    @property
    def side(self) -> int:
        return self.size[0]

    @classmethod
    def of(cls, record: dict[str, Any]) -> Preprocess:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in record.items()
                      if k in known})


@dataclass(frozen=True)
class Arch:
    """How to rebuild one net: its registered name and constructor arguments."""

    name: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, record: Mapping[str, Any] | Arch) -> Arch:
        if isinstance(record, Arch):
            return record
        return cls(record["name"], dict(record.get("kwargs") or {}))

    def record(self) -> dict[str, Any]:
        """The plain dict a file stores: {"name": ..., "kwargs": {...}}."""
        return {"name": self.name, "kwargs": dict(self.kwargs)}


# Fields of `Weights` that a file stores under another key.
FILE_KEYS = {"meta": "recipe_meta", "preprocess_record": "preprocess"}
# Fields that describe how the weights were loaded: never written to a file.
LOADED = ("path", "origin")


@dataclass(frozen=True)
class Weights:
    """Inference weights as loaded: a frozen record, converted from the file's plain dict
    by `Weights.of` and back by `saved()` (the file boundary); change one with
    `dataclasses.replace` or `with_`."""

    plugin: str = ""
    stage: int = 1
    #: {net name: state_dict}
    nets: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    #: {net name: Arch}
    arch: Mapping[str, Arch] = field(default_factory=dict)
    preprocess_record: Mapping[str, Any] = field(default_factory=dict)
    #: What the recipe recorded (thresholds, validation scores, ...).
    meta: Mapping[str, Any] = field(default_factory=dict)
    #: Where they came from when not trained here (bundled:NAME, a Hub address, a
    #: download record), else None.
    source: Any = None
    #: The file they were read from ("" for weights made in memory).
    path: str = ""
    #: How the verb came by them: "yours" (the name's default from the cache),
    #: "bundled", "published", "file" (`--weights`), "hub" or "memory".
    origin: str = "memory"
    run: str | None = None
    step: int | None = None
    epoch: float | None = None
    created: str | None = None
    versions: Mapping[str, str] = field(default_factory=dict)
    dataset: Any = None
    ema_nets: tuple[str, ...] = ()
    #: The rest of the file's record (its config, format tags, ...), kept for `saved()`.
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, payload: Mapping[str, Any]) -> Weights:
        """The record of a file's plain dict (the one place dicts become `Weights`)."""
        keys = {FILE_KEYS.get(f.name, f.name): f.name for f in dataclasses.fields(cls)
                if f.name != "extra"}
        known = {keys[k]: v for k, v in payload.items() if k in keys and v is not None}
        known["arch"] = {k: Arch.of(a) for k, a in known.get("arch", {}).items()}
        if "ema_nets" in known:
            known["ema_nets"] = tuple(known["ema_nets"])
        return cls(**known, extra={k: v for k, v in payload.items() if k not in keys})

    def with_(self, **changes: Any) -> Weights:
        return dataclasses.replace(self, **changes)

    @property
    def preprocess(self) -> Preprocess:
        return Preprocess.of(self.preprocess_record)

    @property
    def is_bundled(self) -> bool:
        """Shipped with the package (ganctl/weights/bundled/), not trained or imported."""
        return str(self.source or "").startswith(bundled.PREFIX)

    def saved(self) -> dict[str, Any]:
        """The plain dict to write to a weights file (without where it was read from)."""
        out: dict[str, Any] = {**self.extra}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name in LOADED or f.name == "extra" or value is None:
                continue
            if f.name == "arch":
                value = {k: a.record() for k, a in value.items()}
            elif isinstance(value, tuple):
                value = list(value)
            elif isinstance(value, Mapping):
                value = dict(value)
            out[FILE_KEYS.get(f.name, f.name)] = value
        return out

    def build(self, name: str, device):
        """Net `name`, rebuilt from its arch record, its weights loaded, in eval mode."""
        from ganctl import nets

        net = nets.from_arch(self.arch[name])
        net.load_state_dict(self.nets[name])
        return net.to(device).eval()


def inference_payload(payload: dict[str, Any]) -> Weights:
    """Weights from a file of either kind: EMA nets replace raw ones where present."""
    if payload.get("kind") == "weights":
        return Weights.of(payload)
    nets = dict(payload.get("nets", {}))
    nets.update(payload.get("ema") or {})
    out = {k: v for k, v in payload.items() if k in META_KEYS or k == "config"}
    return Weights.of({**out, "kind": "weights", "nets": nets})
