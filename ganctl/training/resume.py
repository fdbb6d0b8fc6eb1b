"""Resume policy: which checkpoint a run continues from, which settings may change, and
putting every piece of training state back."""

from __future__ import annotations

from pathlib import Path

import torch

from ganctl import checkpoint, config
from ganctl.console import info, warn
from ganctl.data import sources
from ganctl.errors import GanctlError, UsageError
from ganctl.training import rng, rundir
from ganctl.training.limits import named_rules_win
from ganctl.training.session import Resolved, Session

# Keys that may differ between a checkpoint's config and a resumed run's (warmup_steps:
# a super-resolution run may start its adversarial phase earlier or later than planned).
RESUMABLE_CHANGES = {"epochs", "steps", "minutes", "log_every", "sample_every",
                     "checkpoint_every", "keep_checkpoints", "workers", "compile",
                     "channels_last", "warmup_steps"}


def resolve_config(req, device_type: str | None = None) -> Resolved:
    """The plugin, config and data spec of a TrainRequest, and the checkpoint (read once)
    it resumes from, without touching torch state; `--dry-run` prints exactly this.
    `device_type`: "cpu", "cuda" or "mps" as the run resolved `--device` (None: resolve
    it here, for `--dry-run`)."""
    plugin = req.plugin
    stage = plugin.check_stage(req.stage)
    cfg_cls = plugin.config_class(stage)
    overrides = named_rules_win({k.replace("-", "_"): v for k, v in
                                 (req.overrides or {}).items()})
    found = find_resume(req, plugin) if req.resume else None
    if found is None:
        by_device = cfg_cls.device_defaults(device_type or resolved_type(req.device),
                                            overrides)
        cfg = config.build(cfg_cls, overrides, by_device)
        return Resolved(plugin, cfg, req.data or plugin.default_data.get(stage, "synthetic"))
    ckpt_path, meta = found
    checkpoint.check(meta, ckpt_path, kind="training", plugin=plugin.name)
    if meta.get("stage") != stage:
        raise UsageError(f"{ckpt_path} is stage {meta.get('stage')}, not stage {stage}")
    saved = cfg_cls.upgrade(meta["config"])
    # The merged config is built (and its cross-field checks run) once, on the saved
    # settings with every override: re-giving the run's own --set pairs is no change.
    cfg = config.build(cfg_cls, saved, overrides)
    merged = config.to_dict(cfg)
    for key in overrides:
        if key not in RESUMABLE_CHANGES and saved.get(key) != merged.get(key):
            raise UsageError(f"cannot change {key} when resuming (checkpoint has "
                             f"{saved.get(key)!r}, asked for {merged.get(key)!r}); start a "
                             "new run instead")
    data = sources.read_spec(meta["data_spec"])
    if req.data and str(req.data) != str(data):
        raise UsageError(f"cannot change --data when resuming (the run used {str(data)!r})")
    return Resolved(plugin, cfg, data, ckpt_path, meta)


def resolved_type(spec: str) -> str:
    """"cpu", "cuda" or "mps": what `--device spec` resolves to."""
    from ganctl.device import resolve

    return resolve(spec).type


def find_resume(req, plugin) -> tuple[Path, dict] | None:
    """The checkpoint `--resume` names (a file, a run folder's newest loadable one, or
    auto: the newest run's) and its contents, or None when auto finds no run."""
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
    return path, checkpoint.load(path, kind="training")


def newest_loadable(run: Path) -> tuple[Path, dict]:
    """The newest checkpoint of `run` that reads back whole (skip a damaged newest one),
    with its contents."""
    for path in checkpoint.training_files(run):
        try:
            return path, checkpoint.load(path, kind="training")
        except GanctlError as e:
            warn(f"skipping unreadable checkpoint: {e}")
    raise GanctlError(f"{run} has no readable training checkpoint to resume from")


def restore(state: dict, recipe, emas: dict, stream, ddp) -> None:
    """Nets, optimisers, schedulers, loss scalers, EMAs, the recipe's own state, the data
    stream's position and every RNG, as they were when `state` was saved."""
    saved_world = state.get("world_size", 1)
    if saved_world != ddp.world:
        raise UsageError(f"the checkpoint was written by {saved_world} process(es); resume "
                         f"it with the same number (this run has {ddp.world})")
    for n, net in recipe.nets.items():
        net.load_state_dict(state["nets"][n])
    for n, opt in recipe.optimizers.items():
        opt.load_state_dict(state["optimizers"][n])
        match_param_layout(opt)
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


def match_param_layout(opt) -> None:
    """Give each per-parameter state tensor (Adam's moments) its parameter's memory
    layout. A run resumed with the other --channels-last setting loads moments saved in
    the old layout, and the fused Adam kernels read state and parameter as if laid out
    alike: the update came out wrong (loss_g 10 % off one step after the resume)."""
    for group in opt.param_groups:
        for param in group["params"]:
            for key, value in opt.state.get(param, {}).items():
                if isinstance(value, torch.Tensor) and value.shape == param.shape and \
                        value.stride() != param.stride():
                    opt.state[param][key] = torch.empty_like(param, dtype=value.dtype) \
                        .copy_(value)


def remove_leftovers(run: Path) -> None:
    """Temp files a killed run left half-written (those of live processes stay)."""
    for folder in (run, run / "checkpoints"):
        for path in checkpoint.remove_stale_temps(folder):
            info(f"removed {path}, left half-written by a killed run")


def resume_from(s: Session, ckpt_path: Path, state: dict) -> None:
    """Put a checkpoint's contents back into a session whose recipe is built."""
    restore(state, s.recipe, s.emas, s.stream, s.ddp)
    s.step, s.elapsed_before = state["step"], state["elapsed"]
    s.acc = {k: torch.tensor(v, device=s.device) for k, v in state["log_acc"].items()}
    s.acc_n = dict(state["log_n"])
    s.wandb_id = state.get("wandb_id")
    s.run = ckpt_path.parent.parent
    info(f"resuming {s.run} from step {s.step}")
    if s.ddp.main:
        remove_leftovers(s.run)
