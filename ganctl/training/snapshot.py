"""What a run writes: config.json, sample grids, validation scores, training checkpoints
and the published weights file, each describing itself (see checkpoint.py)."""

from __future__ import annotations

import json
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

from ganctl import checkpoint, config
from ganctl.tensors import grid_image
from ganctl.training import rng
from ganctl.training.session import Session


def describe_run(cfg, data) -> str:
    """The run folder's name after its number: the dataset, then the config's label."""
    return "-".join(p for p in (Path(data.info.name).name, cfg.run_label()) if p)


def write_config(s: Session) -> dict:
    """Write config.json; returns what it holds."""
    doc = {"plugin": s.plugin.name, "stage": s.stage, "data": str(s.data_spec),
           "dataset": s.data.info.as_dict(), "device": str(s.device),
           "world_size": s.ddp.world, "precision": s.recipe.precision,
           "threads": torch.get_num_threads(), "recipe": s.recipe.meta(),
           "config": config.to_dict(s.cfg),
           "versions": checkpoint.versions()}
    checkpoint.atomic_write(s.run / "config.json",
                            lambda f: f.write(json.dumps(doc, indent=2).encode()))
    return doc


@contextmanager
def eval_nets(recipe, emas: dict):
    """The nets to sample or validate with (EMA copies preferred, their batch-norm
    statistics recomputed), in eval mode, no grad."""
    for n, e in emas.items():
        e.recalibrate(lambda i, n=n: recipe.ema_inputs(n, i))
    nets = {**recipe.nets, **{n: e.net for n, e in emas.items()}}
    modes = {n: net.training for n, net in nets.items()}
    for net in nets.values():
        net.eval()
    try:
        with torch.no_grad():
            yield nets
    finally:
        for n, net in nets.items():
            net.train(modes[n])


def write_samples(s: Session) -> Path:
    with eval_nets(s.recipe, s.emas) as nets:
        images = s.recipe.samples(nets)
    path = s.run / "samples" / f"fakes{s.step:09d}.png"
    grid_image(images, s.recipe.grid_nrow).save(path)
    return path


def evaluate(s: Session) -> dict[str, float]:
    with eval_nets(s.recipe, s.emas) as nets:
        return {k: round(float(v), 6) for k, v in s.recipe.validate(nets).items()}


def common_meta(s: Session) -> dict[str, Any]:
    r = s.recipe
    return {"plugin": s.plugin.name, "stage": s.stage, "arch": r.arch(),
            "preprocess": r.preprocess(), "config": config.to_dict(s.cfg),
            "dataset": s.data.info.as_dict(), "step": s.step,
            "versions": checkpoint.versions(), "precision": r.precision,
            "recipe_meta": r.meta(),
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def save_training(s: Session, elapsed: float, wandb_id: str | None) -> Path | None:
    """A training checkpoint of everything needed to continue bit for bit; older ones
    beyond `keep_checkpoints` are deleted. Per-rank state (RNGs, the recipe's own state)
    is gathered to rank 0, a collective: every rank calls this; rank 0 writes."""
    ranks = s.ddp.gather({"rng": rng.get_state(), "recipe": s.recipe.state_dict()})
    if not s.ddp.main:
        return None
    r = s.recipe
    payload = {
        "kind": "training", **common_meta(s), "data_spec": str(s.data_spec),
        "elapsed": elapsed,
        "nets": {n: net.state_dict() for n, net in r.nets.items()},
        "ema": {n: e.state_dict() for n, e in s.emas.items()},
        "optimizers": {n: o.state_dict() for n, o in r.optimizers.items()},
        "schedulers": {n: x.state_dict() for n, x in r.schedulers.items()},
        "scalers": {n: x.state_dict() for n, x in r.scalers.items()},
        "recipe": r.state_dict(), "stream": s.stream.state_dict(), "rng": rng.get_state(),
        "log_acc": {k: v.item() for k, v in s.acc.items()}, "log_n": dict(s.acc_n),
        "wandb_id": wandb_id, "world_size": s.ddp.world,
        **({"ranks": ranks} if s.ddp.on else {})}
    path = s.run / "checkpoints" / f"ckpt-{s.step:09d}.pt"
    checkpoint.save(payload, path)
    for old in checkpoint.training_files(s.run)[s.cfg.keep_checkpoints:]:
        old.unlink(missing_ok=True)
    return path


def weights_payload(s: Session, checksums: list[str] | None = None) -> dict:
    """The inference weights: the exported nets (EMA copies where kept); a distributed
    run records every process's checksum of its final weights."""
    nets = {n: (s.emas[n].net if n in s.emas else s.recipe.nets[n]).state_dict()
            for n in s.recipe.export_nets}
    out = {"kind": "weights", **common_meta(s), "epoch": s.step / s.stream.batches_per_epoch,
           "run": str(s.run), "ema_nets": sorted(set(s.emas) & set(nets)), "nets": nets}
    if checksums:
        out["distributed"] = {"world_size": s.ddp.world, "backend": s.ddp.backend,
                              "checksums": checksums}
    return out
