"""What loaded inference weights are: a `Weights` record over the file's plain dict, and
the `Preprocess` record of how its nets' inputs and outputs are scaled."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from ganctl import bundled

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


class Weights(dict):
    """Inference weights as loaded. The file's own plain dict underneath (so what is
    saved stays tensors and values); read and set it through these properties only."""

    @property
    def path(self) -> str:
        """The file they were read from ("" for weights made in memory)."""
        return self.get("path", "")

    @path.setter
    def path(self, value: str) -> None:
        self["path"] = value

    @property
    def source(self) -> Any:
        """Where they came from when not trained here (bundled:NAME, a Hub address, a
        download record), else None."""
        return self.get("source")

    @source.setter
    def source(self, value: Any) -> None:
        self["source"] = value

    @property
    def origin(self) -> str:
        """How the verb came by them: "yours" (the name's default from the cache),
        "bundled", "published", "file" (`--weights`), "hub" or "memory"."""
        return self.get("origin", "memory")

    @origin.setter
    def origin(self, value: str) -> None:
        self["origin"] = value

    @property
    def plugin(self) -> str:
        return self["plugin"]

    @property
    def nets(self) -> dict[str, dict[str, Any]]:
        """{net name: state_dict}"""
        return self["nets"]

    @property
    def stage(self) -> int:
        return self.get("stage", 1)

    @property
    def arch(self) -> dict[str, dict[str, Any]]:
        """{net name: {"name": registered net name, "kwargs": {...}}}"""
        return self["arch"]

    @property
    def preprocess(self) -> Preprocess:
        return Preprocess.of(self["preprocess"])

    @property
    def is_bundled(self) -> bool:
        """Shipped with the package (ganctl/bundled/), not trained or imported."""
        return str(self.get("source", "")).startswith(bundled.PREFIX)

    @property
    def meta(self) -> dict[str, Any]:
        """What the recipe recorded (thresholds, validation scores, ...)."""
        return self.get("recipe_meta") or {}

    def saved(self) -> dict[str, Any]:
        """The plain dict to write to a weights file (without where it was read from)."""
        return {k: v for k, v in self.items() if k not in ("path", "origin")}

    def build(self, name: str, device):
        """Net `name`, rebuilt from its arch record, its weights loaded, in eval mode."""
        from ganctl import nets

        net = nets.from_arch(self.arch[name])
        net.load_state_dict(self.nets[name])
        return net.to(device).eval()


def inference_payload(payload: dict[str, Any]) -> Weights:
    """Weights from a file of either kind: EMA nets replace raw ones where present."""
    if payload.get("kind") == "weights":
        return Weights(payload)
    nets = dict(payload.get("nets", {}))
    nets.update(payload.get("ema") or {})
    out = {k: v for k, v in payload.items() if k in META_KEYS or k == "config"}
    return Weights({**out, "kind": "weights", "nets": nets})
