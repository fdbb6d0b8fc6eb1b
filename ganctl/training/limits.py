"""Stopping rules: `--epochs`, `--steps`, `--minutes`; the first one reached ends a run.

Rules the user names replace the ones they do not name (a plugin's default epochs, or a
resumed run's saved rules), so `--steps 200` means 200 steps.
"""

from __future__ import annotations

import math
from typing import Any

STOP_RULES = ("epochs", "steps", "minutes")


def named_rules_win(overrides: dict[str, Any]) -> dict[str, Any]:
    named = {k.replace("-", "_") for k in overrides} & set(STOP_RULES)
    if not named:
        return overrides
    return {**{k: 0 for k in STOP_RULES if k not in named}, **overrides}


class Limits:
    def __init__(self, cfg, batches_per_epoch: int):
        self.cfg = cfg
        by_steps = [(cfg.steps, "steps")] if cfg.steps else []
        if cfg.epochs:
            by_steps.append((math.ceil(cfg.epochs * batches_per_epoch), "epochs"))
        self.max_steps, self.step_rule = min(by_steps) if by_steps else (None, None)
        self.seconds = cfg.minutes * 60
        # A short run logs more often than every `log_every` steps (unless asked): about
        # 20 rows, so its loss plot has a shape and a log shows it moving.
        default = type(cfg).__dataclass_fields__["log_every"].default
        self.log_every = cfg.log_every
        if cfg.log_every == default and self.max_steps:
            self.log_every = max(1, min(cfg.log_every, self.max_steps // 20))

    def steps_done(self, step: int) -> bool:
        return self.max_steps is not None and step >= self.max_steps

    def time_done(self, elapsed: float) -> bool:
        return bool(self.seconds) and elapsed >= self.seconds

    def reached(self, step: int, elapsed: float) -> str | None:
        """The rule `step` and `elapsed` seconds have reached, if any."""
        if self.steps_done(step):
            return self.step_rule
        return "minutes" if self.time_done(elapsed) else None

    def unbounded(self) -> bool:
        return self.max_steps is None and not self.seconds

    def text(self, rule: str) -> str:
        """A rule as the flag that sets it: "--steps 200"."""
        return f"--{rule} {getattr(self.cfg, rule):g}"

    def spent_message(self, rule: str, step: int, elapsed: float, command: str) -> str:
        more = {"steps": f"--steps {2 * step}", "epochs": f"--epochs {2 * self.cfg.epochs:g}",
                "minutes": f"--minutes {2 * self.cfg.minutes:g}"}[rule]
        return (f"this run already reached {self.text(rule)} (step {step}, "
                f"{elapsed / 60:.1f} min trained); nothing left to train. Give a larger "
                f"total to go on, e.g. `{command} --resume auto {more}`")
