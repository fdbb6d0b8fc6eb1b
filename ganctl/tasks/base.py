"""What every task object carries: its plugin, device and the weights it runs with."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Used:
    """Which weights a task runs with: `record` is the `weights` object of the CLI's
    --json (kind, path or name, step, sha256), `line` what the CLI prints on stderr."""

    record: dict[str, Any]
    line: str
    warning: str | None = None
    others: list[Used] = field(default_factory=list)  # a second stage's weights

    def lines(self) -> list[str]:
        return [self.line, *(o.line for o in self.others)]

    def records(self) -> list[dict[str, Any]]:
        return [self.record, *(o.record for o in self.others)]


def used(w, plugin, warning: str | None = None) -> Used:
    from ganctl.weights import provenance

    return Used(provenance.record(w, plugin), provenance.line(w, plugin), warning)


def device_of(device):
    """A torch.device from "auto", "cpu", "cuda:1", ... or a torch.device."""
    from ganctl.device import resolve

    return resolve(device or "auto") if device is None or isinstance(device, str) else device


def plugin_for(task: str, name: str):
    """The plugin `name`, refused in one line when it does not do `task`."""
    from ganctl import registry
    from ganctl.errors import UsageError

    found = registry.get(name)
    if not found.does(task):
        raise UsageError(f"plugin {name!r} does not {task}; plugins that do: "
                         f"{', '.join(registry.for_task(task)) or 'none'}")
    return found


def apply(fn, imgs: list, device) -> list:
    """`fn` over a list of images as the CLI applies it: one image per call on a CPU (where
    grouping did not pay, and each output is exactly the CLI's), the whole list on CUDA."""
    if getattr(device, "type", "cpu") == "cuda":
        return fn(imgs)
    return [out for img in imgs for out in fn([img])]
