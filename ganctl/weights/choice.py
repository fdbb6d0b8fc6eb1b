"""Which weights a name uses with no `--weights`, and when a run becomes that default.

The rule, in the words the README and `--help` use: a finished run becomes the default
for its name only when nothing ships for that name or it passes its plugin's check against
its baseline (stage 2: above bicubic on its validation images); otherwise it stays in its
run folder, for `--weights RUN` or `ganctl models use NAME RUN`. `--publish always|never`
overrides, and `ganctl models reset NAME` goes back to what ships.

Every verb and `models list` ask `default()` here, so what the listing says is what the
verbs load.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ganctl import paths
from ganctl.weights import bundled

POLICIES = ("if-better", "always", "never")


@dataclass(frozen=True)
class Default:
    """What a plugin stage resolves to without `--weights`."""

    kind: str  # "yours" (trained, imported or chosen: the cache), "bundled", "published", "none"
    path: Path | None  # the file (published: where it lives once downloaded)
    name: str = ""  # yours: the cache name that owns it; bundled: its name; published: model
    owner: str = ""  # the plugin name the file is cached under (zebra2horse -> horse2zebra)

    def text(self) -> str:
        """Short, for `models list`."""
        if self.kind == "bundled":
            return f"bundled {self.name}"
        if self.kind == "published":
            here = self.path is not None and self.path.is_file()
            when = "downloaded" if here else "downloads on first use"
            return f"published {self.name}.pth ({when})"
        if self.kind == "yours":
            return f"yours: {self.path}"
        return "none (train it)"


def cache_path(plugin: str, stage: int) -> Path:
    return paths.weights_dir() / plugin / f"stage{stage}.pt"


def shipped(plugin, stage: int) -> Default | None:
    """What ships for this name and stage: bundled weights, else the authors' published
    generator (stage 1 of a translation name), else None."""
    from ganctl.weights import published, reference

    name = plugin.bundled.get(stage)
    if name and bundled.path(name):
        return Default("bundled", bundled.path(name), name, plugin.name)
    record = published.get(plugin.name) if stage == 1 else None
    if record is not None:
        return Default("published", reference.pretrained_path(record), record.model, plugin.name)
    return None


def default(plugin, stage: int) -> Default:
    """The weights `plugin` stage `stage` uses with no `--weights`: the cache (a run that
    became the default, an import, `models use`) of this name, then of the run that owns
    a two-way name's weights, else what ships, else none."""
    for owner in dict.fromkeys((plugin.name, plugin.weights_name or plugin.name)):
        path = cache_path(owner, stage)
        if path.is_file():
            return Default("yours", path, owner, owner)
    return shipped(plugin, stage) or Default("none", None, "", plugin.name)


def publish_decision(plugin, stage: int, weights, policy: str) -> tuple[bool, str]:
    """(whether a finished run's `weights` become the default for its name, why)."""
    if policy == "always":
        return True, "--publish always"
    if policy == "never":
        return False, "--publish never"
    check = plugin.baseline_check(weights)
    if check is not None and not check[0]:
        return False, f"it did not pass its check ({check[1]})"
    ships = shipped(plugin, stage)
    if check is None and ships is not None:
        what = f"bundled {ships.name}" if ships.kind == "bundled" else \
            f"the published {ships.name}.pth"
        return False, f"{what} ships for {plugin.name} and this run has no check against it"
    return True, check[1] if check else f"nothing ships for {plugin.name}"


def train_hint(plugin, stage: int) -> str:
    """The `ganctl train` command that works here for `plugin` stage `stage`: its default
    data when present, else `--data synthetic` (a quick try) or a folder."""
    from ganctl.data import catalog

    flag = f" --stage {stage}" if stage != 1 else ""
    data = plugin.default_data.get(stage, "synthetic")
    if data in catalog.CATALOG and catalog.locate(data) is None:
        return (f"`ganctl train {plugin.name}{flag} --data synthetic` (a quick try) or "
                f"`--data FOLDER` ({data} is not installed here)")
    return f"`ganctl train {plugin.name}{flag}`"
