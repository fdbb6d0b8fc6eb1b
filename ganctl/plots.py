"""Loss curves from stats.jsonl (or wandb CSV exports): PNG, terminal, HTML report."""

from __future__ import annotations

import base64
import csv
import fnmatch
import math
import shutil
from dataclasses import dataclass
from pathlib import Path

from ganctl.console import warn
from ganctl.errors import GanctlError, UsageError
from ganctl.training.stats import read

AXES = {"step": "step", "epoch": "epoch", "time": "time"}
X_LABELS = {"step": "training step", "epoch": "epoch", "time": "training time (minutes)"}
NOT_CURVES = {"step", "epoch", "time", "_step", "_runtime", "_timestamp"}
# (panel title, key globs, y-axis label): one panel per group so scales don't collide.
GROUPS = [("losses", ("loss*",), "loss"),
          ("discriminator outputs", ("d_*",), "mean D output"),
          ("validation PSNR", ("*psnr*",), "PSNR (dB)"),
          ("validation SSIM", ("*ssim*",), "SSIM"),
          ("validation", ("val_*",), "value"),
          ("learning rates", ("lr_*",), "learning rate"),
          ("throughput", ("imgs_per_s",), "images / s")]
DEFAULT_KEYS = ("loss*", "d_*", "val_*")


@dataclass
class Run:
    label: str
    rows: list[dict]
    folder: Path | None


def load(target: str) -> Run:
    """A run folder, a stats.jsonl file, or a CSV exported from wandb."""
    path = Path(target).expanduser()
    if path.is_dir():
        stats = path / "stats.jsonl"
        if not stats.is_file():
            raise GanctlError(f"{path}: no stats.jsonl (is this a run folder?)")
        return Run(path.name, read(stats, warn=warn), path)
    if not path.is_file():
        raise UsageError(f"{target}: no such run folder or file")
    if path.suffix.lower() == ".csv":
        return Run(path.stem, read_wandb_csv(path), None)
    return Run(path.parent.name if path.name == "stats.jsonl" else path.stem,
               read(path, warn=warn), path.parent)


def read_wandb_csv(path: Path) -> list[dict]:
    """wandb's 'export CSV': a Step column and '<run> - <key>' columns (with __MIN/__MAX
    companions, ignored); plain 'step,key,...' CSVs work too."""
    rows = []
    with open(path, newline="", encoding="utf-8") as f:
        for raw in csv.DictReader(f):
            row = {}
            for col, value in raw.items():
                if col is None or col.endswith(("__MIN", "__MAX")) or value in ("", None):
                    continue
                key = col.split(" - ", 1)[-1].strip()
                key = "step" if key.lower() in ("step", "_step") else key
                try:
                    row[key] = float(value)
                except ValueError:
                    continue
            if "step" in row:
                rows.append(row)
    if not rows:
        raise GanctlError(f"{path}: no numeric rows with a Step column")
    return rows


def select_keys(runs: list[Run], patterns: list[str] | None) -> list[str]:
    keys = []
    for r in runs:
        for row in r.rows:
            for k, v in row.items():
                if k not in keys and k not in NOT_CURVES and isinstance(v, (int, float)):
                    keys.append(k)
    pats = patterns or list(DEFAULT_KEYS)
    chosen = [k for k in keys if any(fnmatch.fnmatch(k, p) for p in pats)]
    if not chosen:
        raise UsageError(f"no keys match {', '.join(pats)}; available: {', '.join(keys)}")
    return chosen


def group_of(key: str) -> str:
    for name, pats, _ in GROUPS:
        if any(fnmatch.fnmatch(key, p) for p in pats):
            return name
    return "other"


def y_label(group: str) -> str:
    return next((label for name, _, label in GROUPS if name == group), "value")


def series(run: Run, key: str, x: str) -> tuple[list[float], list[float]]:
    xs, ys = [], []
    for row in run.rows:
        v, xv = row.get(key), row.get(AXES[x])
        if isinstance(v, (int, float)) and isinstance(xv, (int, float)) and math.isfinite(v):
            xs.append(xv / 60 if x == "time" else xv)
            ys.append(float(v))
    return xs, ys


def ema(ys: list[float], weight: float) -> list[float]:
    out, acc = [], None
    for y in ys:
        acc = y if acc is None else weight * acc + (1 - weight) * y
        out.append(acc)
    return out


def plot_png(runs: list[Run], keys: list[str], out, x: str = "step",
             smooth: float = 0.0, log_y: bool = False):
    """Write the curves as PNG to `out` (a path or a binary file object)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups: dict[str, list[str]] = {}
    for k in keys:
        groups.setdefault(group_of(k), []).append(k)
    fig, axes = plt.subplots(len(groups), 1, figsize=(9, 3.2 * len(groups)), squeeze=False,
                             sharex=True)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, (gname, gkeys) in zip(axes[:, 0], groups.items()):
        i = 0
        for run in runs:
            for k in gkeys:
                xs, ys = series(run, k, x)
                if not xs:
                    continue
                c = colors[i % len(colors)]
                i += 1
                label = f"{run.label}: {k}" if len(runs) > 1 else k
                marker = "o" if len(xs) == 1 else None  # a lone point still shows
                if smooth > 0:
                    ax.plot(xs, ys, color=c, alpha=0.25, linewidth=1)
                    ax.plot(xs, ema(ys, smooth), color=c, linewidth=1.8, label=label,
                            marker=marker)
                else:
                    ax.plot(xs, ys, color=c, linewidth=1.5, label=label, marker=marker)
        ax.set_title(gname, loc="left", fontsize=11)
        ax.set_ylabel(y_label(gname))
        if log_y:
            ax.set_yscale("log")
        ax.grid(True, alpha=0.3)
        if i:
            ax.legend(fontsize=8, loc="best", ncol=2 if i > 4 else 1)
    axes[-1, 0].set_xlabel(X_LABELS[x])
    title = runs[0].label if len(runs) == 1 else f"{len(runs)} runs"
    fig.suptitle(f"training curves: {title}" + (f" (EMA {smooth:g}, raw faint)" if smooth else
                                                 ""), fontsize=12)
    fig.tight_layout()
    if isinstance(out, Path):
        out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120, format="png")
    plt.close(fig)
    return out


MARKS = "*+ox#@%&"


def plot_terminal(runs: list[Run], keys: list[str], x: str = "step", smooth: float = 0.0,
                  width: int | None = None, height: int | None = None) -> str:
    """Character plots, one panel per key group, sized to the terminal."""
    size = shutil.get_terminal_size((100, 30))
    total = max(42, width or size.columns)
    width = total - 12  # the plot area; 12 columns go to the y labels
    groups: dict[str, list[str]] = {}
    for k in keys:
        groups.setdefault(group_of(k), []).append(k)
    height = height or max(6, (size.lines - 4 * len(groups)) // len(groups))
    out = []
    for gname, gkeys in groups.items():
        lines = []
        curves = []
        for run in runs:
            for k in gkeys:
                xs, ys = series(run, k, x)
                if xs:
                    curves.append((f"{run.label}: {k}" if len(runs) > 1 else k, xs,
                                   ema(ys, smooth) if smooth else ys))
        if not curves:
            continue
        x0 = min(min(c[1]) for c in curves)
        x1 = max(max(c[1]) for c in curves)
        y0 = min(min(c[2]) for c in curves)
        y1 = max(max(c[2]) for c in curves)
        y1 = y1 if y1 > y0 else y0 + 1
        x1 = x1 if x1 > x0 else x0 + 1
        grid = [[" "] * width for _ in range(height)]
        def cell(xv, yv, x0=x0, x1=x1, y0=y0, y1=y1):
            return (height - 1 - round((yv - y0) / (y1 - y0) * (height - 1)),
                    round((xv - x0) / (x1 - x0) * (width - 1)))

        for n, (_, xs, ys) in enumerate(curves):
            pts = [cell(a, b) for a, b in zip(xs, ys)]
            for (r0, c0), (r1, c1) in zip(pts, pts[1:] or pts):
                for c in range(c0, max(c0, c1) + 1):  # join consecutive points
                    t = (c - c0) / (c1 - c0) if c1 != c0 else 1.0
                    grid[round(r0 + t * (r1 - r0))][c] = MARKS[n % len(MARKS)]
        lines.append(f"{gname}")
        for r, cells in enumerate(grid):
            label = f"{y1:>10.4g}" if r == 0 else f"{y0:>10.4g}" if r == height - 1 else " " * 10
            lines.append(f"{label} |{''.join(cells)}")
        lines.append(" " * 11 + "+" + "-" * width)
        lo, hi = f"{x0:.4g}", f"{x1:.4g}"
        lines.append(" " * 12 + lo + hi.rjust(width - len(lo)))
        lines.append(f"({X_LABELS[x]})".center(total).rstrip())
        legend = ""
        for n, c in enumerate(curves):  # wrap the legend to the terminal width
            entry = f"{MARKS[n % len(MARKS)]} {c[0]}"
            if legend and len(legend) + 2 + len(entry) > total:
                lines.append(legend)
                legend = ""
            legend = f"{legend}  {entry}" if legend else entry
        lines.append(legend)
        out.append("\n".join(lines))
    return "\n\n".join(out) + "\n"


def html_report(runs: list[Run], png: Path, out: Path, max_grids: int = 12) -> Path:
    """One self-contained page: the curves and each run's sample grids over time."""
    def img_tag(path: Path, caption: str) -> str:
        data = base64.b64encode(path.read_bytes()).decode()
        return (f'<figure><img src="data:image/png;base64,{data}" alt="{caption}">'
                f"<figcaption>{caption}</figcaption></figure>")

    parts = ["<!doctype html><meta charset='utf-8'><title>ganctl report</title>",
             "<style>body{font-family:sans-serif;margin:2em;max-width:1100px}"
             "figure{display:inline-block;margin:6px;text-align:center}"
             "img{image-rendering:pixelated;max-width:100%}"
             "figure img{width:200px}</style>",
             f"<h1>Training report: {', '.join(r.label for r in runs)}</h1>",
             f'<img src="data:image/png;base64,{base64.b64encode(png.read_bytes()).decode()}"'
             ' alt="training curves" style="width:100%">']
    for run in runs:
        grids = sorted((run.folder / "samples").glob("*.png")) if run.folder else []
        if not grids:
            continue
        step = max(1, math.ceil(len(grids) / max_grids))
        chosen = grids[::step]
        if grids[-1] not in chosen:
            chosen.append(grids[-1])
        parts.append(f"<h2>{run.label}: samples over time</h2>")
        parts += [img_tag(g, f"step {int(''.join(c for c in g.stem if c.isdigit()) or 0)}")
                  for g in chosen]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(parts) + "\n", encoding="utf-8")
    return out
