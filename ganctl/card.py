"""A Hugging Face Hub folder for one set of weights: model.safetensors, config.json, a
model card (README.md with YAML front matter) and a sample image."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from ganctl import checkpoint
from ganctl.weights import Weights

PIPELINE_TAG = {"generate": "unconditional-image-generation", "upscale": "image-to-image",
                "translate": "image-to-image", "detect": "image-classification"}
SAMPLE_SEEDS = list(range(16))


def task_of(plugin, weights: Weights) -> str:
    """What these weights do: a refining stage upscales, other stages do the plugin's task."""
    if plugin.does("upscale") and weights.stage == plugin.refine_stage:
        return "upscale"
    return plugin.task


def usage(plugin, weights: Weights, repo: str) -> str:
    hf = f"hf://{repo}"
    return {"generate": f"ganctl sample {plugin.name} --weights {hf} --seeds 0-15 -o grid.png",
            "upscale": f"ganctl upscale photo.png --weights {hf} -o photo_x4.png",
            "translate": f"ganctl translate {plugin.name} input.jpg --weights {hf} -o out.png",
            "detect": f"ganctl detect-leaks photos/ --weights {hf} --json"}[
        task_of(plugin, weights)]


def run_folder(weights: Weights) -> Path | None:
    """The run these weights came from: the folder of <run>/weights.pt or
    <run>/checkpoints/ckpt-N.pt, else the recorded run path when it is reachable."""
    here = Path(weights.path)
    for folder in (here.parent, here.parent.parent):
        if (folder / "stats.jsonl").is_file():
            return folder
    recorded = Path(weights.run or "")
    return recorded if weights.run and (recorded / "stats.jsonl").is_file() else None


def measured(weights: Weights) -> dict[str, float]:
    """Numbers the run measured: the recipe's recorded ones (thresholds, validation), and
    the last value of every validation score in the run's stats.jsonl when it is here."""
    out: dict[str, float] = {}

    def add(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                add(f"{prefix}{k}.", v)
        elif isinstance(value, (int, float)) and not isinstance(value, bool) \
                and math.isfinite(value):
            out[prefix.rstrip(".")] = float(value)

    add("", weights.meta)
    run = run_folder(weights)
    if run:
        for line in (run / "stats.jsonl").read_text(errors="replace").splitlines():
            try:
                row = json.loads(line)
            except ValueError:
                continue  # a torn last line of a run still training
            if isinstance(row, dict):
                for k, v in row.items():
                    if k.startswith("val_") and isinstance(v, (int, float)):
                        out[k] = float(v)
    return out


def _known(value) -> str:
    return "?" if value is None else str(value)


def hardware(weights: Weights) -> str:
    run = run_folder(weights)
    try:
        cfg = json.loads((run / "config.json").read_text()) if run else None
    except (OSError, ValueError):
        cfg = None
    if not isinstance(cfg, dict):
        return f"not recorded (precision {weights.extra.get('precision', '?')})"
    procs = cfg.get("world_size", 1)
    return (f"{cfg.get('device', '?')}, {procs} process{'es' if procs != 1 else ''}, "
            f"precision {cfg.get('precision', '?')}")


def model_card(plugin, weights: Weights, repo: str, files: list[str]) -> str:
    data = weights.dataset or {}
    task = task_of(plugin, weights)
    front = ["---", "library_name: ganctl", "tags:", "- ganctl", "- gan", f"- {plugin.name}",
             f"- {task}", f"pipeline_tag: {PIPELINE_TAG[task]}"]
    if data.get("name") and not data.get("synthetic"):
        front += ["datasets:", f"- {data['name']}"]
    front += ["# license: set the licence of these weights and of the data they were "
              "trained on (https://hf.co/docs/hub/repositories-licenses)", "---"]
    title = plugin.stage_title(weights.stage) if weights.stage in plugin.stages else ""
    lines = [f"# {plugin.name}, stage {weights.stage}: {title}", "", plugin.summary, "",
             "## Use", "", "```", "pip install 'ganctl[hub]'", usage(plugin, weights, repo),
             "```", ""]
    scores = measured(weights)
    versions = ", ".join(f"{k} {v}" for k, v in weights.versions.items())
    lines += ["## Measured by the training run", ""]
    if scores:
        lines += ["| metric | value |", "|---|---|"]
        lines += [f"| {k} | {v:.6g} |" for k, v in sorted(scores.items())]
    else:
        lines += ["The run recorded no validation scores; measure with `ganctl evaluate`."]
    lines += ["", "## Training", "",
              f"- steps: {_known(weights.step)}, epochs: {_known(weights.epoch)}",
              f"- data: {data.get('name', '?')} ({data.get('count', '?')} images, "
              f"fingerprint {data.get('fingerprint', '?')})"
              f"{', synthetic' if data.get('synthetic') else ''}",
              f"- hardware: {hardware(weights)}",
              f"- versions: {versions}",
              f"- created: {weights.created or '?'}", "", "## Files", ""]
    what = {"model.safetensors": "the nets' tensors; ganctl's record in the header",
            "config.json": "the same record: architecture, preprocessing, config, dataset",
            "samples.png": "images these weights made"}
    lines += [f"- `{f}`: {what[f]}" for f in files if f in what]
    return "\n".join(front + [""] + lines) + "\n"


def sample_image(plugin, weights: Weights):
    """A grid these weights make (generators: the first 16 seeds), else the run's newest
    training sample grid, else None."""
    from PIL import Image

    if task_of(plugin, weights) == "generate":
        import torch

        from ganctl.tensors import grid_image

        with torch.inference_mode():
            return grid_image(plugin.generate(weights, SAMPLE_SEEDS, "cpu"), nrow=4)
    run = run_folder(weights)
    grids = sorted((run / "samples").glob("*.png")) if run else []
    if grids:
        with Image.open(grids[-1]) as img:
            return img.convert("RGB")
    return None


def write_folder(plugin, weights: Weights, folder: Path, repo: str = "OWNER/REPO"
                 ) -> list[Path]:
    """The Hub folder, every file written atomically; returns the files."""
    import io

    from ganctl.export import write_safetensors

    folder.mkdir(parents=True, exist_ok=True)
    written = write_safetensors(weights, folder / "model.safetensors")
    img = sample_image(plugin, weights)
    if img is not None:
        buf = io.BytesIO()
        img.save(buf, format="PNG")
        checkpoint.atomic_write(folder / "samples.png", lambda f: f.write(buf.getvalue()))
        written.append(folder / "samples.png")
    card = model_card(plugin, weights, repo, [p.name for p in written])
    checkpoint.atomic_write(folder / "README.md", lambda f: f.write(card.encode()))
    return [*written, folder / "README.md"]
