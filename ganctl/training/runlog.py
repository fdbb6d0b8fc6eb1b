"""Where a run's numbers go: stats.jsonl, the progress display and (optionally) wandb.
Only rank 0 writes; the other ranks of a distributed run only train."""

from __future__ import annotations

from ganctl import console
from ganctl.progress import Reporter
from ganctl.training.limits import Limits
from ganctl.training.session import Session
from ganctl.training.stats import StatsWriter
from ganctl.training.wandb_log import WandbLogger


class RunLog:
    def __init__(self, s: Session, limits: Limits, resumed: bool, wandb_opts):
        main = s.ddp.main
        self.stats = StatsWriter(s.run / "stats.jsonl", resume_step=s.step if resumed
                                 else None) if main else None
        self.reporter = Reporter(limits.max_steps, limits.seconds, s.step, s.elapsed_before,
                                 s.plugin.name, main and not console.QUIET)
        self.wb = WandbLogger.start(wandb_opts, s.run, s.run.name, s.config_doc, s.wandb_id) \
            if wandb_opts and main else None
        self.wandb_id = self.wb.id if self.wb else s.wandb_id

    def row(self, row: dict) -> None:
        if self.stats:
            self.stats.write(row)
        self.reporter.logged(row)
        if self.wb:
            self.wb.log(row)

    def step(self, step: int, epoch: float, seconds: float) -> None:
        self.reporter.step(step, epoch, seconds)

    def image(self, path, step: int) -> None:
        if self.wb:
            self.wb.image(path, step)

    def artifact(self, path, name: str, metadata: dict) -> None:
        if self.wb:
            self.wb.artifact(path, name, metadata)

    def close(self) -> None:
        """The display and stats.jsonl (wandb stays open for the final artifact)."""
        self.reporter.close()
        if self.stats:
            self.stats.close()

    def finish(self) -> None:
        if self.wb:
            self.wb.finish()
            self.wb = None
