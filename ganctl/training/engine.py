"""The training loop every plugin shares.

`train()` reads top to bottom in sections: initialise (devices, precision, seeds), load
the data, construct the networks (the plugin's recipe, EMA copies, distribution), resume
or start a run folder, train (step, log, sample, checkpoint, until a stopping rule or a
signal), and done (validate, publish the weights). Resume policy lives in resume.py,
stopping rules in limits.py, what is written in snapshot.py, where numbers go in
runlog.py.
"""

from __future__ import annotations

import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ganctl import checkpoint, console, weights
from ganctl.console import info, warn
from ganctl.data.batches import BatchStream
from ganctl.device import busy_cpus_warning, describe
from ganctl.errors import GanctlError, Stopped, UsageError
from ganctl.training import accel, dist, resume, rng, rundir, snapshot
from ganctl.training.ema import EMA
from ganctl.training.limits import Limits
from ganctl.training.runlog import RunLog
from ganctl.training.session import Resolved, Session
from ganctl.training.wandb_log import WandbOptions


class Interrupted(Stopped):
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
    # "if-better" (the rule in ganctl.weights.choice), "always" or "never"; True/False
    # are "always"/"never"
    publish: str | bool = "if-better"
    wandb: WandbOptions | None = None
    threads: int | None = None  # --threads as given: None lets a busy CPU be pointed out


@dataclass
class TrainResult:
    run: Path
    step: int
    epoch: float
    checkpoint: Path | None  # None on ranks other than 0 of a distributed run
    weights: Path | None  # the cache file, when the run became its name's default
    stopped_by: str = ""  # the stopping rule that ended the run, as its flag: "--steps 200"
    publish_reason: str = ""  # why it did or did not become the default
    main: bool = True  # False on ranks other than 0: rank 0 reports


def train(req: TrainRequest) -> TrainResult:
    ddp, device = dist.start(req.device)  # the one place a run resolves its device
    try:
        with console.quiet_unless(ddp.main):
            busy = busy_cpus_warning(req.threads) if device.type == "cpu" else None
            if busy:
                warn(busy)
            found = resume.resolve_config(req, device.type)
            resumed = ddp.broadcast(found.checkpoint)
            if resumed != found.checkpoint:
                raise GanctlError(f"rank {ddp.rank} cannot see {resumed}, which rank 0 resumes "
                                  "from: put --runs-dir on storage every machine shares")
            s = Session(found.plugin, req.stage, found.cfg, found.data_spec, ddp, device)
            return _train(req, s, found)
    finally:
        ddp.close()


def _train(req: TrainRequest, s: Session, found: Resolved) -> TrainResult:
    cfg, ddp, device = s.cfg, s.ddp, s.device
    # --- initialise
    precision = accel.resolve_precision(cfg.precision, device)
    accel.check_precision(precision, device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed input sizes: pick the fastest kernels
    rng.seed_all(cfg.seed)

    # --- load data (rank 0 decodes and caches it first; the others then reuse it)
    if not ddp.main:
        ddp.barrier()
    s.data = s.plugin.load_data(cfg, s.data_spec, s.stage)
    if ddp.main:
        ddp.barrier()
    if s.data.info.skipped:
        warn(f"skipped {len(s.data.info.skipped)} unreadable image(s); first: "
             f"{s.data.info.skipped[0]}")

    # --- construct networks
    s.recipe = s.plugin.setup(cfg, s.data, s.stage, device)
    distribute(s)
    if cfg.ema > 0 and not s.recipe.ema_nets:  # an option that would do nothing is an error
        raise UsageError(f"ema={cfg.ema:g}: {s.plugin.name} keeps no moving average of its "
                         "nets; leave ema at 0")
    s.emas = {n: EMA(s.recipe.nets[n], cfg.ema) for n in s.recipe.ema_nets if cfg.ema > 0}
    if cfg.channels_last:
        accel.channels_last([*s.recipe.nets.values(), *(e.net for e in s.emas.values())])
    if cfg.compile:
        accel.compile_nets(s.recipe.nets, device)
    s.recipe.precision = precision
    s.recipe.scalers = accel.grad_scalers(precision, s.recipe.optimizers)
    asked = cfg.workers != type(cfg).__dataclass_fields__["workers"].default
    s.stream = BatchStream(s.data.train, cfg.batch_size, cfg.seed, device, cfg.workers,
                           ddp.rank, ddp.world, say_cap=asked)
    if s.stream.batch_size < cfg.batch_size:
        warn(f"dataset has {s.stream.n} images; batch size lowered to {s.stream.batch_size}")

    # --- resume, or start a run folder
    ckpt_path = found.checkpoint
    if ckpt_path is not None:
        resume.resume_from(s, ckpt_path, found.state)
        found.state = None  # the nets hold it now
    else:
        group = rundir.group_dir(req.runs_dir, s.plugin.name, s.stage, len(s.plugin.stages))
        s.run = ddp.broadcast(rundir.new_run(group, req.desc or snapshot.describe_run(
            cfg, s.data)) if ddp.main else None)
    if ddp.main:
        s.config_doc = snapshot.write_config(s)
    limits = Limits(cfg, s.stream.batches_per_epoch)
    spent = limits.reached(s.step, s.elapsed_before) if ckpt_path is not None else None
    if spent:
        warn(limits.spent_message(spent, s.step, s.elapsed_before,
                                  f"ganctl train {s.plugin.name} --stage {s.stage}"))
    if limits.unbounded():
        info("no stopping rule (--epochs/--steps/--minutes): training until Ctrl-C")
    where = f"{ddp.world} processes on {device.type}" if ddp.on else describe(device)
    info(f"training {s.plugin.name} stage {s.stage} on {s.data.info.name} "
         f"({s.data.info.count} images{', synthetic' if s.data.info.synthetic else ''}) "
         f"on {where} in {precision}; run folder {s.run}")

    # --- train
    log = RunLog(s, limits, ckpt_path is not None, req.wandb)
    start_step = s.step
    try:
        last_ckpt, signals = train_steps(s, limits, log, done=bool(spent))
    except BaseException:
        log.finish()
        raise
    finally:
        log.close()
    if signals:
        log.finish()
        where = last_ckpt if ddp.main else "rank 0's run folder"
        raise Interrupted(f"{signal.Signals(signals[0]).name} at step {s.step}: checkpoint "
                          f"saved to {where}; continue with `ganctl train {s.plugin.name} "
                          f"--stage {s.stage} --resume auto`", signals[0])

    # --- done: validate, write and publish the weights
    stopped_by = limits.text(spent or limits.reached(s.step, 0.0) or "minutes")
    epoch = s.step / s.stream.batches_per_epoch
    if s.step == start_step:  # resumed at its end: no step ran, so no checkpoint was written
        last_ckpt = snapshot.save_training(s, s.elapsed_before, log.wandb_id)
    sums = check_in_sync(s) if ddp.on else None
    if not ddp.main:
        # Leave together: a rank that tore down its process group while rank 0 still
        # wrote the weights was sometimes aborted by gloo at exit ("terminate called
        # without an active exception").
        ddp.barrier()
        return TrainResult(s.run, s.step, epoch, None, None, stopped_by, main=False)
    with snapshot.eval_nets(s.recipe, s.emas) as nets:
        s.recipe.finish(nets, s.run)
    payload = snapshot.weights_payload(s, sums)
    checkpoint.save(payload, s.run / "weights.pt")
    log.artifact(s.run / "weights.pt", f"{s.plugin.name}-stage{s.stage}",
                 {"step": s.step, "dataset": s.data.info.name})
    log.finish()
    policy = {True: "always", False: "never"}.get(req.publish, req.publish)
    chosen, why = weights.choice.publish_decision(s.plugin, s.stage,
                                                  weights.inference_payload(payload), policy)
    published = weights.publish(payload, s.plugin.name, s.stage, saved=s.run / "weights.pt") \
        if chosen else None
    say_published(s, published, why)
    ddp.barrier()  # the other ranks wait here (above)
    return TrainResult(s.run, s.step, epoch, last_ckpt, published, stopped_by, why)


def say_published(s: Session, published: Path | None, why: str) -> None:
    """Whether the run became its name's default, why, and the way to the other choice."""
    name = s.plugin.name
    if published:
        info(f"these weights are now the default for {name}" +
             (f" stage {s.stage}" if len(s.plugin.stages) > 1 else "") +
             f" ({why}); cached at {published}")
        return
    info(f"kept in {s.run} and NOT made the default for {name}: {why}. Use them with "
         f"--weights {s.run}, or make them the default with `ganctl models use {name} "
         f"{s.run}`")


def train_steps(s: Session, limits: Limits, log: RunLog, done: bool):
    """Step until a stopping rule or SIGINT/SIGTERM; log, sample and checkpoint at their
    intervals and at the end. Returns (the last checkpoint written, signals received)."""
    cfg, recipe, ddp, stream = s.cfg, s.recipe, s.ddp, s.stream
    bpe = stream.batches_per_epoch
    signals: list[int] = []
    previous = {sig: signal.signal(sig, lambda signum, _f: signals.append(signum))
                for sig in (signal.SIGINT, signal.SIGTERM)}
    t0 = t_log = time.perf_counter()
    imgs, waited, last_ckpt = 0, 0.0, None

    def elapsed() -> float:
        return s.elapsed_before + time.perf_counter() - t0

    try:
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
            with accel.autocast(s.device, recipe.precision):
                out = recipe.step(batch)
            check_updates(recipe, cfg, ddp)
            lrs = recipe.learning_rates()  # the rates this step used (before any schedule)
            s.step += 1
            imgs += len(batch[0])
            for n, ema in s.emas.items():
                ema.update(recipe.nets[n], recipe.ema_age(s.step))
            for k, v in out.items():  # summed on the device: no sync until we log
                s.acc[k] = s.acc[k] + v.detach() if k in s.acc else v.detach().clone()
                s.acc_n[k] = s.acc_n.get(k, 0) + 1
            if stream.batch == bpe:
                recipe.end_epoch(stream.epoch)
            # Time limits and signals may reach ranks at different steps: stop together.
            done = limits.steps_done(s.step) or ddp.any(limits.time_done(elapsed()) or
                                                        bool(signals))
            log.step(s.step, s.step / bpe, elapsed())
            when = {"step": s.step, "epoch": round(s.step / bpe, 4), "time": round(elapsed(), 3)}
            if s.step % limits.log_every == 0 or done:
                means = dist.average({k: v / s.acc_n[k] for k, v in s.acc.items()}, ddp.world)
                losses = {k: v.item() for k, v in means.items()}  # waits for the device
                now = time.perf_counter()  # so the timings below count finished work
                log.row({**when, "imgs_per_s": round(imgs * ddp.world / max(now - t_log, 1e-9), 2),
                         "data_wait_frac": round(waited / max(now - t_log, 1e-9), 4),
                         **lrs, **losses})
                s.acc, s.acc_n, t_log, imgs, waited = {}, {}, now, 0, 0.0
            if ddp.main and (s.step % cfg.sample_every == 0 or done):
                log.image(snapshot.write_samples(s), s.step)
                scores = snapshot.evaluate(s)
                if scores:
                    log.row({**when, **scores})
            if s.step % cfg.checkpoint_every == 0 or done:
                last_ckpt = snapshot.save_training(s, elapsed(), log.wandb_id)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return last_ckpt, signals


def distribute(s: Session) -> None:
    """Under torchrun: one start for every process, averaged gradients, own noise."""
    cfg, ddp = s.cfg, s.ddp
    if cfg.sync_bn and not ddp.on:
        warn("sync_bn only matters for several processes (torchrun); ignored")
    if not ddp.on:
        return
    if cfg.sync_bn:
        dist.use_sync_bn(s.recipe.nets, s.device)
    dist.broadcast_state(s.recipe.nets.values())
    s.recipe.grad_sync = dist.GradSync(ddp.world)
    rng.seed_all(dist.rank_seed(cfg.seed, ddp.rank))  # own noise and augmentation


def check_in_sync(s: Session) -> list[str]:
    """Every rank's digest of its final weights; stop if any differ."""
    final = {**s.recipe.nets, **{f"ema_{n}": e.net for n, e in s.emas.items()}}
    dist.broadcast_state(final.values(), buffers_only=True)  # batch norm follows rank 0
    sums = s.ddp.gather(dist.checksum(final))
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
