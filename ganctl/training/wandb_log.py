"""Mirror stats.jsonl, config, sample grids and the final weights to Weights & Biases.

wandb is imported only when asked for. If an online run cannot start (no login, no
network), ganctl warns once and logs offline; if wandb cannot run at all, training goes
on with stats.jsonl alone. Resumed runs continue the same wandb run id.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ganctl.console import warn

MODES = ("online", "offline", "disabled")


@dataclass
class WandbOptions:
    mode: str = "online"
    project: str = "ganctl"
    entity: str | None = None


class WandbLogger:
    def __init__(self, wb_run, wandb_module):
        self.run = wb_run
        self.wandb = wandb_module

    @property
    def id(self) -> str:
        return self.run.id

    @classmethod
    def start(cls, opts: WandbOptions, run_dir: Path, name: str, config: dict,
              resume_id: str | None) -> WandbLogger | None:
        if opts.mode == "disabled":
            return None
        try:
            import wandb
        except ImportError:
            warn("wandb is not installed; logging to stats.jsonl only")
            return None
        kwargs = dict(project=opts.project, entity=opts.entity, name=name, config=config,
                      dir=str(run_dir), id=resume_id, resume="allow" if resume_id else None,
                      settings=wandb.Settings(init_timeout=30, silent=True))
        try:
            return cls(wandb.init(mode=opts.mode, **kwargs), wandb)
        except Exception as e:  # noqa: BLE001 - login/network problems come in many types
            if opts.mode != "online":
                warn(f"wandb could not start ({type(e).__name__}: {str(e)[:100]}); "
                     "logging to stats.jsonl only")
                return None
            warn(f"wandb online failed ({type(e).__name__}: {str(e)[:100]}); logging "
                 "offline instead (sync later with `wandb sync`)")
            try:
                return cls(wandb.init(mode="offline", **kwargs), wandb)
            except Exception as e2:  # noqa: BLE001
                warn(f"wandb offline failed too ({type(e2).__name__}); stats.jsonl only")
                return None

    def log(self, row: dict) -> None:
        self.run.log({k: v for k, v in row.items() if k != "step"}, step=int(row["step"]))

    def image(self, path: Path, step: int) -> None:
        self.run.log({"samples": self.wandb.Image(str(path))}, step=step)

    def artifact(self, path: Path, name: str, metadata: dict) -> None:
        art = self.wandb.Artifact(name, type="model", metadata=metadata)
        art.add_file(str(path))
        self.run.log_artifact(art)

    def finish(self) -> None:
        self.run.finish()
