"""Training progress on stderr: a Rich bar on a terminal, plain lines otherwise."""

from __future__ import annotations

import time

from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from ganctl.console import err, info


def format_row(row: dict) -> str:
    keys = [k for k in row if k.startswith(("loss", "d_", "val_"))]
    return "  ".join(f"{k} {row[k]:.4g}" for k in keys[:8] if isinstance(row[k], (int, float)))


class Reporter:
    def __init__(self, total: int | None, start_step: int, title: str, enabled: bool = True):
        self.total = total
        self.enabled = enabled
        self.tty = enabled and err().is_terminal
        self.progress = None
        if self.tty:
            self.progress = Progress(
                TextColumn("[bold]{task.description}"), BarColumn(),
                TextColumn("{task.completed}/{task.total} steps"), TextColumn("{task.fields[ep]}"),
                TimeElapsedColumn(), TimeRemainingColumn(), TextColumn("{task.fields[losses]}"),
                console=err(), transient=False)
            self.task = self.progress.add_task(title, total=total, completed=start_step,
                                               ep="", losses="")
            self.progress.start()
        self.last_line = time.monotonic()

    def step(self, step: int, epoch: float) -> None:
        if self.progress is not None:
            self.progress.update(self.task, completed=step, ep=f"epoch {epoch:.2f}")

    def logged(self, row: dict) -> None:
        if not self.enabled:
            return
        text = format_row(row)
        if self.progress is not None:
            self.progress.update(self.task, losses=text)
        else:
            total = f"/{self.total}" if self.total else ""
            speed = f"{row['imgs_per_s']:.0f} img/s  " if "imgs_per_s" in row else ""
            info(f"step {row['step']}{total}  epoch {row['epoch']:.2f}  {speed}{text}")

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()
