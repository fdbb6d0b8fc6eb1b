"""Progress on stderr (training runs, a feature classifier trained on first use): a Rich bar
on a terminal, plain lines otherwise."""

from __future__ import annotations

import time

from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from ganctl.console import err, info


def format_row(row: dict) -> str:
    keys = [k for k in row if k.startswith(("loss", "d_", "val_"))]
    return "  ".join(f"{k} {row[k]:.4g}" for k in keys[:8] if isinstance(row[k], (int, float)))


def rate(value: float) -> str:
    """Images per second, readable from 0.05 (a 256-px translation net on a CPU) to thousands."""
    return f"{value:.0f}" if value >= 10 else f"{value:.2g}"


class Reporter:
    """The bar's fraction is the larger of steps done / step limit and time spent / time
    limit, so its total and ETA hold under --steps, --epochs and --minutes alike."""

    UNITS = 1000  # the bar counts thousandths of the run
    PLAIN_EVERY_S = 10.0  # no terminal: a progress line at least this often

    def __init__(self, total_steps: int | None, total_s: float, start_step: int,
                 start_s: float, title: str, enabled: bool = True):
        self.total_steps = total_steps
        self.total_s = total_s
        self.enabled = enabled
        self.tty = enabled and err().is_terminal
        self.progress = None
        self.last_line = time.monotonic()
        if self.tty:
            bounded = bool(total_steps or total_s)
            self.progress = Progress(
                TextColumn("[bold]{task.description}"), BarColumn(),
                TextColumn("{task.fields[steps]}"), TextColumn("{task.fields[ep]}"),
                TimeElapsedColumn(), TimeRemainingColumn(), TextColumn("{task.fields[losses]}"),
                console=err(), transient=False)
            self.task = self.progress.add_task(
                title, total=self.UNITS if bounded else None,
                completed=self.fraction(start_step, start_s) * self.UNITS,
                steps=self.steps_text(start_step), ep="", losses="")
            self.progress.start()

    def fraction(self, step: int, seconds: float) -> float:
        parts = [step / self.total_steps] if self.total_steps else []
        if self.total_s:
            parts.append(seconds / self.total_s)
        return min(max(parts, default=0.0), 1.0)

    def steps_text(self, step: int) -> str:
        return f"{step}/{self.total_steps} steps" if self.total_steps else f"{step} steps"

    def step(self, step: int, epoch: float, seconds: float) -> None:
        if self.progress is not None:
            self.progress.update(self.task, completed=self.fraction(step, seconds) * self.UNITS,
                                 steps=self.steps_text(step), ep=f"epoch {epoch:.2f}")
        elif self.enabled and time.monotonic() - self.last_line >= self.PLAIN_EVERY_S:
            self.last_line = time.monotonic()
            left = self.fraction(step, seconds)
            eta = f"  about {seconds * (1 - left) / left:.0f} s left" if 0 < left < 1 else ""
            info(f"{self.steps_text(step)}  epoch {epoch:.2f}  {seconds:.0f} s{eta}")

    def logged(self, row: dict) -> None:
        if not self.enabled:
            return
        self.last_line = time.monotonic()
        text = format_row(row)
        if self.progress is not None:
            self.progress.update(self.task, losses=text)
        else:
            total = f"/{self.total_steps}" if self.total_steps else ""
            speed = f"{rate(row['imgs_per_s'])} img/s  " if "imgs_per_s" in row else ""
            clock = (f"{row['time']:.0f}/{self.total_s:.0f} s  "
                     if self.total_s and "time" in row else "")
            info(f"step {row['step']}{total}  epoch {row['epoch']:.2f}  {clock}{speed}{text}")

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()
