"""The training loop every plugin shares.

Read `train()` top to bottom: resolve the config, load data, build the plugin's recipe,
restore a checkpoint if resuming, then step until a stopping rule or a signal, logging,
sampling and checkpointing at intervals, and finally publish the generator.
"""

from __future__ import annotations

import json
import math
import signal
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

from ganctl import checkpoint, config, weights
from ganctl.console import info, warn
from ganctl.data.batches import BatchStream
from ganctl.device import describe
from ganctl.errors import GanctlError, UsageError
from ganctl.tensors import grid_image
from ganctl.train import accel, dist, rng, rundir
from ganctl.train.ema import EMA
from ganctl.train.progress import Reporter
from ganctl.train.stats import StatsWriter
from ganctl.train.wandb_log import WandbLogger, WandbOptions

# Keys that may differ between a checkpoint's config and a resumed run's (warmup_steps:
# a super-resolution run may start its adversarial phase earlier or later than planned).
RESUMABLE_CHANGES = {"epochs", "steps", "minutes", "log_every", "sample_every",
                     "checkpoint_every", "keep_checkpoints", "workers", "compile",
                     "channels_last", "warmup_steps"}
STOP_RULES = ("epochs", "steps", "minutes")


def named_rules_win(overrides: dict[str, Any]) -> dict[str, Any]:
    """Stopping rules the user names replace the ones they do not (a plugin's default
    `epochs`, or a resumed run's saved rules): `--steps 200` means 200 steps."""
    named = {k.replace("-", "_") for k in overrides} & set(STOP_RULES)
    if not named:
        return overrides
    return {**{k: 0 for k in STOP_RULES if k not in named}, **overrides}


class Interrupted(GanctlError):
    """Training stopped by SIGINT/SIGTERM after writing a checkpoint."""

    def __init__(self, msg: str, signum: int):
        super().__init__(msg)
        self.exit_code = 128 + signum


@dataclass
class TrainRequest:
    plugin: Any  # a registry.Plugin: the caller resolves names (the engine never does)
    stage: int = 1
    overrides: dict[str, Any] | None = None
    data: str | None = None
    device: str = "auto"
    runs_dir: Path = Path("runs")
    resume: str | None = None  # None, "auto" or a path
    desc: str | None = None
    publish: bool = True
    wandb: WandbOptions | None = None


@dataclass
class TrainResult:
    run: Path
    step: int
    epoch: float
    checkpoint: Path | None  # None on ranks other than 0 of a distributed run
    weights: Path | None
    stopped_by: str = ""  # the stopping rule that ended the run, as its flag: "--steps 200"


def resolve_config(req: TrainRequest):
    """(plugin, config, resume checkpoint path or None, data spec) without touching torch
    state; `--dry-run` prints exactly this."""
    plugin = req.plugin
    stage = plugin.check_stage(req.stage)
    cfg_cls = plugin.config_class(stage)
    overrides = named_rules_win(dict(req.overrides or {}))
    ckpt_path = find_resume(req, plugin) if req.resume else None
    if ckpt_path is None:
        cfg = config.build(cfg_cls, overrides)
        data = req.data or plugin.default_data.get(stage, "synthetic")
        return plugin, cfg, None, data
    meta = checkpoint.load(ckpt_path, kind="training", plugin=plugin.name)
    if meta.get("stage") != stage:
        raise UsageError(f"{ckpt_path} is stage {meta.get('stage')}, not stage {stage}")
    saved = meta["config"]
    for key, value in overrides.items():
        new = config.coerce(cfg_cls, key, value)
        if key not in RESUMABLE_CHANGES and saved.get(key) != config.to_dict(
                config.build(cfg_cls, {key: new})).get(key):
            raise UsageError(f"cannot change {key} when resuming (checkpoint has "
                             f"{saved.get(key)!r}); start a new run instead")
    cfg = config.build(cfg_cls, saved, overrides)
    data = meta["data_spec"]
    if req.data and req.data != data:
        raise UsageError(f"cannot change --data when resuming (the run used {data!r})")
    return plugin, cfg, ckpt_path, data


def find_resume(req: TrainRequest, plugin) -> Path | None:
    if req.resume == "auto":
        group = rundir.group_dir(req.runs_dir, plugin.name, req.stage, len(plugin.stages))
        run = rundir.latest_run(group)
        if run is None:
            info(f"no earlier run in {group} to resume; starting a new one")
            return None
        return newest_loadable(run)
    path = Path(req.resume).expanduser()
    if path.is_dir():
        return newest_loadable(path)
    if not path.is_file():
        raise UsageError(f"--resume {req.resume}: no such checkpoint or run folder")
    return path


def newest_loadable(run: Path) -> Path:
    """The newest checkpoint of `run` that reads back whole (skip a damaged newest one)."""
    for path in rundir.checkpoints(run):
        try:
            checkpoint.load(path, kind="training")
            return path
        except GanctlError as e:
            warn(f"skipping unreadable checkpoint: {e}")
    raise GanctlError(f"{run} has no readable training checkpoint to resume from")


def train(req: TrainRequest) -> TrainResult:
    ddp, device = dist.start(req.device)
    try:
        with quiet_unless(ddp.main):
            plugin, cfg, ckpt_path, data_spec = resolve_config(req)
            resumed = ddp.broadcast(ckpt_path)
            if resumed != ckpt_path:
                raise GanctlError(f"rank {ddp.rank} cannot see {resumed}, which rank 0 resumes "
                                  "from: put --runs-dir on storage every machine shares")
            return _train(req, plugin, cfg, ckpt_path, data_spec, ddp, device)
    finally:
        ddp.close()


def _train(req, plugin, cfg, ckpt_path, data_spec, ddp, device) -> TrainResult:
    stage = req.stage
    precision = accel.resolve_precision(cfg.precision, device)
    accel.check_precision(precision, device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed input sizes: pick the fastest kernels
    rng.seed_all(cfg.seed)
    if not ddp.main:
        ddp.barrier()  # rank 0 decodes (and caches) the data first; the others then reuse it
    data = plugin.load_data(cfg, data_spec, stage)
    if ddp.main:
        ddp.barrier()
    if data.info.skipped:
        warn(f"skipped {len(data.info.skipped)} unreadable image(s); first: "
             f"{data.info.skipped[0]}")
    recipe = plugin.setup(cfg, data, stage, device)
    if cfg.sync_bn and not ddp.on:
        warn("sync_bn only matters for several processes (torchrun); ignored")
    if ddp.on:
        if cfg.sync_bn:
            dist.use_sync_bn(recipe.nets, device)
        dist.broadcast_state(recipe.nets.values())
        recipe.grad_sync = dist.GradSync(ddp.world)
        rng.seed_all(dist.rank_seed(cfg.seed, ddp.rank))  # own noise and augmentation
    emas = {n: EMA(recipe.nets[n], cfg.ema) for n in recipe.ema_nets if cfg.ema > 0}
    if cfg.channels_last:
        accel.channels_last([*recipe.nets.values(), *(e.net for e in emas.values())])
    if cfg.compile:
        accel.compile_nets(recipe.nets, device)
    recipe.precision = precision
    recipe.scalers = accel.grad_scalers(precision, recipe.optimizers)
    stream = BatchStream(data.train, cfg.batch_size, cfg.seed, device, cfg.workers,
                         ddp.rank, ddp.world)
    if stream.batch_size < cfg.batch_size:
        warn(f"dataset has {stream.n} images; batch size lowered to {stream.batch_size}")

    step, elapsed_before, acc, acc_n, wandb_id = 0, 0.0, {}, {}, None
    if ckpt_path is not None:
        state = checkpoint.load(ckpt_path, map_location=device, kind="training")
        restore(state, recipe, emas, stream, ddp)
        step, elapsed_before = state["step"], state["elapsed"]
        acc = {k: torch.tensor(v, device=device) for k, v in state["log_acc"].items()}
        acc_n = dict(state["log_n"])
        wandb_id = state.get("wandb_id")
        run = ckpt_path.parent.parent
        info(f"resuming {run} from step {step}")
        if ddp.main:
            for folder in (run, run / "checkpoints"):
                for path in checkpoint.remove_stale_temps(folder):
                    info(f"removed {path}, left half-written by a killed run")
    else:
        run = None
        if ddp.main:
            group = rundir.group_dir(req.runs_dir, plugin.name, stage, len(plugin.stages))
            run = rundir.new_run(group, req.desc or describe_run(cfg, data))
        run = ddp.broadcast(run)
    if ddp.main:
        write_config(run, plugin, stage, cfg, data, data_spec, device, recipe, ddp)

    bpe = stream.batches_per_epoch
    max_steps, step_rule = step_limit(cfg, bpe)
    spent = None
    if ckpt_path is not None:
        spent = (step_rule if max_steps is not None and step >= max_steps else
                 "minutes" if cfg.minutes and elapsed_before >= cfg.minutes * 60 else None)
    if spent:
        more = {"steps": f"--steps {2 * step}", "epochs": f"--epochs {2 * cfg.epochs:g}",
                "minutes": f"--minutes {2 * cfg.minutes:g}"}[spent]
        warn(f"this run already reached {rule_text(cfg, spent)} (step {step}, "
             f"{elapsed_before / 60:.1f} min trained); nothing left to train. Give a larger "
             f"total to go on, e.g. `ganctl train {plugin.name} --stage {stage} --resume auto "
             f"{more}`")
    if max_steps is None and not cfg.minutes:
        info("no stopping rule (--epochs/--steps/--minutes): training until Ctrl-C")
    where = f"{ddp.world} processes on {device.type}" if ddp.on else describe(device)
    info(f"training {plugin.name} stage {stage} on {data.info.name} "
         f"({data.info.count} images{', synthetic' if data.info.synthetic else ''}) "
         f"on {where}; run folder {run}")

    # Rank 0 alone writes logs; the other ranks only train.
    stats = StatsWriter(run / "stats.jsonl", resume_step=step if ckpt_path else None) \
        if ddp.main else None
    reporter = Reporter(max_steps, cfg.minutes * 60, step, elapsed_before, plugin.name,
                        ddp.main)
    wb = WandbLogger.start(req.wandb, run, run.name, json.loads(
        (run / "config.json").read_text()), wandb_id) if req.wandb and ddp.main else None

    def log_row(row: dict) -> None:
        if stats:
            stats.write(row)
        reporter.logged(row)
        if wb:
            wb.log(row)

    stop_signal: list[int] = []
    previous = {s: signal.signal(s, lambda signum, _f: stop_signal.append(signum))
                for s in (signal.SIGINT, signal.SIGTERM)}
    t0 = time.perf_counter()
    t_log, imgs, waited = t0, 0, 0.0

    def elapsed() -> float:
        return elapsed_before + time.perf_counter() - t0

    def save() -> Path | None:
        # Per-rank state (RNGs, the recipe's own extra state) is gathered
        # to rank 0: a collective, so every rank calls save().
        ranks = ddp.gather({"rng": rng.get_state(), "recipe": recipe.state_dict()})
        if not ddp.main:
            return None
        path = run / "checkpoints" / f"ckpt-{step:09d}.pt"
        payload = training_payload(plugin, stage, cfg, recipe, emas, stream, data, data_spec,
                                   step, elapsed(), acc, acc_n)
        payload["wandb_id"] = wb.id if wb else wandb_id
        payload["world_size"] = ddp.world
        if ddp.on:
            payload["ranks"] = ranks
        checkpoint.save(payload, path)
        for old in rundir.checkpoints(run)[cfg.keep_checkpoints:]:
            old.unlink(missing_ok=True)
        return path

    last_ckpt, start_step = None, step
    try:
        done = bool(spent) or (max_steps is not None and step >= max_steps)
        batches = iter(stream)
        while not done:
            t_fetch = time.perf_counter()
            batch = next(batches)
            waited += time.perf_counter() - t_fetch
            if cfg.channels_last:
                batch = accel.to_channels_last(batch)
            for net in recipe.nets.values():
                net.train()
            if ddp.on and not cfg.sync_bn:
                dist.broadcast_state(recipe.nets.values(), buffers_only=True)
            with accel.autocast(device, precision):
                out = recipe.step(batch)
            if not recipe.updates:
                check_updates(recipe, cfg, ddp)
            lrs = recipe.learning_rates()  # the rates this step used (before any schedule)
            step += 1
            imgs += len(batch[0])
            for n, ema in emas.items():
                ema.update(recipe.nets[n], step)
            for k, v in out.items():  # summed on the device: no sync until we log
                acc[k] = acc[k] + v.detach() if k in acc else v.detach().clone()
                acc_n[k] = acc_n.get(k, 0) + 1
            if stream.batch == bpe:
                recipe.end_epoch(stream.epoch)
            # Time limits and signals may reach ranks at different steps: stop together.
            done = (max_steps is not None and step >= max_steps) or ddp.any(bool(
                cfg.minutes and elapsed() >= cfg.minutes * 60) or bool(stop_signal))
            reporter.step(step, step / bpe, elapsed())
            if step % cfg.log_every == 0 or done:
                now = time.perf_counter()
                means = dist.average({k: v / acc_n[k] for k, v in acc.items()}, ddp.world)
                row = {"step": step, "epoch": round(step / bpe, 4), "time": round(elapsed(), 3),
                       "imgs_per_s": round(imgs * ddp.world / max(now - t_log, 1e-9), 2),
                       "data_wait_frac": round(waited / max(now - t_log, 1e-9), 4),
                       **lrs, **{k: v.item() for k, v in means.items()}}
                log_row(row)
                acc, acc_n, t_log, imgs, waited = {}, {}, now, 0, 0.0
            if ddp.main and (step % cfg.sample_every == 0 or done):
                grid = write_samples(run, step, recipe, emas)
                if wb:
                    wb.image(grid, step)
                scores = evaluate(recipe, emas)
                if scores:
                    log_row({"step": step, "epoch": round(step / bpe, 4),
                             "time": round(elapsed(), 3), **scores})
            if step % cfg.checkpoint_every == 0 or done:
                last_ckpt = save()
    except BaseException:
        if wb:
            wb.finish()
        raise
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        reporter.close()
        if stats:
            stats.close()

    if stop_signal:
        if wb:
            wb.finish()
        name = signal.Signals(stop_signal[0]).name
        where = last_ckpt if ddp.main else "rank 0's run folder"
        raise Interrupted(f"{name} at step {step}: checkpoint saved to {where}; continue "
                          f"with `ganctl train {plugin.name} --stage {stage} --resume auto`",
                          stop_signal[0])
    stopped_by = rule_text(cfg, spent or (step_rule if max_steps is not None and
                                          step >= max_steps else "minutes"))
    published = None
    if step == start_step:  # resumed at its end: no step ran, so no checkpoint was written
        last_ckpt = save()
    if ddp.on:
        sums = check_in_sync(recipe, emas, ddp)
        if not ddp.main:
            return TrainResult(run, step, step / bpe, None, None, stopped_by)
    with eval_nets(recipe, emas) as nets:
        recipe.finish(nets, run)
    payload = weights_payload(plugin, stage, cfg, recipe, emas, data, step, step / bpe, run)
    if ddp.on:
        payload["distributed"] = {"world_size": ddp.world, "backend": ddp.backend,
                                  "checksums": sums}
    checkpoint.save(payload, run / "weights.pt")
    if wb:
        wb.artifact(run / "weights.pt", f"{plugin.name}-stage{stage}",
                    {"step": step, "dataset": data.info.name})
        wb.finish()
    if req.publish:
        published = weights.publish(payload, plugin.name, stage)
        info(f"published weights to {published}")
    return TrainResult(run, step, step / bpe, last_ckpt, published, stopped_by)


def step_limit(cfg, batches_per_epoch: int) -> tuple[int | None, str | None]:
    """The step at which the steps/epochs rules end the run, and which rule that is."""
    limits = [(cfg.steps, "steps")] if cfg.steps else []
    if cfg.epochs:
        limits.append((math.ceil(cfg.epochs * batches_per_epoch), "epochs"))
    return min(limits) if limits else (None, None)


def rule_text(cfg, rule: str) -> str:
    return f"--{rule} {getattr(cfg, rule):g}"


def describe_run(cfg, data) -> str:
    arch = getattr(cfg, "arch", "")
    return "-".join(str(p) for p in (Path(data.info.name).name, arch) if p)


def write_config(run: Path, plugin, stage: int, cfg, data, data_spec: str, device,
                 recipe, ddp) -> None:
    doc = {"plugin": plugin.name, "stage": stage, "data": data_spec,
           "dataset": data.info.as_dict(), "device": str(device), "world_size": ddp.world,
           "precision": recipe.precision,
           "recipe": recipe.meta(),
           "config": config.to_dict(cfg), "versions": checkpoint.versions()}
    checkpoint.atomic_write(run / "config.json",
                            lambda f: f.write(json.dumps(doc, indent=2).encode()))


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


def write_samples(run: Path, step: int, recipe, emas: dict) -> Path:
    with eval_nets(recipe, emas) as nets:
        images = recipe.samples(nets)
    path = run / "samples" / f"fakes{step:09d}.png"
    grid_image(images, recipe.grid_nrow).save(path)
    return path


def evaluate(recipe, emas: dict) -> dict[str, float]:
    with eval_nets(recipe, emas) as nets:
        return {k: round(float(v), 6) for k, v in recipe.validate(nets).items()}


def common_meta(plugin, stage: int, cfg, recipe, data, step: int) -> dict[str, Any]:
    return {"plugin": plugin.name, "stage": stage, "arch": recipe.arch(),
            "preprocess": recipe.preprocess(), "config": config.to_dict(cfg),
            "dataset": data.info.as_dict(), "step": step, "versions": checkpoint.versions(),
            "precision": recipe.precision,
            "recipe_meta": recipe.meta(),
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def training_payload(plugin, stage, cfg, recipe, emas, stream, data, data_spec, step,
                     elapsed, acc, acc_n) -> dict[str, Any]:
    return {
        "kind": "training", **common_meta(plugin, stage, cfg, recipe, data, step),
        "data_spec": data_spec, "elapsed": elapsed,
        "nets": {n: net.state_dict() for n, net in recipe.nets.items()},
        "ema": {n: e.state_dict() for n, e in emas.items()},
        "optimizers": {n: o.state_dict() for n, o in recipe.optimizers.items()},
        "schedulers": {n: s.state_dict() for n, s in recipe.schedulers.items()},
        "scalers": {n: s.state_dict() for n, s in recipe.scalers.items()},
        "recipe": recipe.state_dict(), "stream": stream.state_dict(), "rng": rng.get_state(),
        "log_acc": {k: v.item() for k, v in acc.items()}, "log_n": dict(acc_n),
    }


def restore(state: dict, recipe, emas: dict, stream: BatchStream, ddp) -> None:
    saved_world = state.get("world_size", 1)
    if saved_world != ddp.world:
        raise UsageError(f"the checkpoint was written by {saved_world} process(es); resume "
                         f"it with the same number (this run has {ddp.world})")
    for n, net in recipe.nets.items():
        net.load_state_dict(state["nets"][n])
    for n, opt in recipe.optimizers.items():
        opt.load_state_dict(state["optimizers"][n])
    for n, sched in recipe.schedulers.items():
        sched.load_state_dict(state["schedulers"][n])
    for n, scaler in recipe.scalers.items():
        if n in state.get("scalers", {}):
            scaler.load_state_dict(state["scalers"][n])
    for n, ema in emas.items():
        ema.load_state_dict(state["ema"][n])
    own = state["ranks"][ddp.rank] if ddp.on else state
    recipe.load_state_dict(own["recipe"])
    stream.load_state_dict(state["stream"])
    rng.set_state(own["rng"])


def check_in_sync(recipe, emas: dict, ddp) -> list[str]:
    """Every rank's digest of its final weights; stop if any differ."""
    final = {**recipe.nets, **{f"ema_{n}": e.net for n, e in emas.items()}}
    dist.broadcast_state(final.values(), buffers_only=True)  # batch norm follows rank 0
    sums = ddp.gather(dist.checksum(final))
    if len(set(sums)) > 1:
        raise GanctlError(f"processes ended with different weights ({sums}); not publishing")
    return sums


def check_updates(recipe, cfg, ddp) -> None:
    """Multi-process and fp16 training need the recipe's updates to go through
    `Recipe.update` (gradient averaging, loss scaling); a recipe doing its own backward
    would silently train wrong, so it is stopped after its first step."""
    if recipe.updates == 0 and (ddp.on or cfg.precision == "fp16"):  # auto is never fp16
        what = "distributed training" if ddp.on else "--precision fp16"
        raise GanctlError(f"{what} needs the plugin's recipe to step its optimisers with "
                          "Recipe.update(loss, name); this one does its own backward()")


@contextmanager
def quiet_unless(main: bool):
    """Ranks other than 0 print errors only."""
    from ganctl import console

    before = console.QUIET
    console.QUIET = before or not main
    try:
        yield
    finally:
        console.QUIET = before


def weights_payload(plugin, stage, cfg, recipe, emas, data, step, epoch, run) -> dict:
    nets = {n: (emas[n].net if n in emas else recipe.nets[n]).state_dict()
            for n in recipe.export_nets}
    return {"kind": "weights", **common_meta(plugin, stage, cfg, recipe, data, step),
            "epoch": epoch, "run": str(run), "ema_nets": sorted(set(emas) & set(nets)),
            "nets": nets}
