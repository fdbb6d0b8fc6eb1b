"""Training configs: dataclasses with documented defaults, typed overrides, config files.

Every plugin config inherits `TrainConfig`. A field documents itself with
`opt(default, "help text", choices=...)`. Values given as text (`--set key=value`,
config files) are parsed by the field's type and never evaluated.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ganctl.errors import UsageError
from ganctl.kit import DIFFAUG_POLICIES


def opt(default: Any, help: str, choices: tuple | None = None, minimum: float | None = None,
        maximum: float | None = None):
    """A config field with its help text and optional allowed values or bounds (inclusive)."""
    meta = {"help": help, "choices": choices, "minimum": minimum, "maximum": maximum}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)


def flag_help(name: str, cls: type | None = None) -> str:
    """The help of a `train` flag that sets config field `name`: the field's own help (its
    one home), and where its default comes from."""
    fields = {f.name: f for f in dataclasses.fields(cls or TrainConfig)}
    text = fields[name].metadata["help"]
    first = text.split()[0]
    if first.isalpha() and first.islower():
        text = text[0].upper() + text[1:]
    return f"{text}; default: the plugin's (--dry-run shows it)."


def precision_opt(default: str):
    """The `precision` field. Plugins whose quality at equal training time was lower in
    bf16 (bench/fast_defaults.py) default to fp32."""
    return opt(default, "fp32, bf16 (autocast; CPU or recent GPUs), fp16 (autocast + loss "
               "scaling; CUDA only), or auto (bf16 where the hardware has it natively: CPUs "
               "with AVX512-BF16/AMX, CUDA compute capability 8.0+; else fp32)",
               choices=("fp32", "bf16", "fp16", "auto"))


def channels_last_opt(default: bool):
    """The `channels_last` field; plugins where it measured slower default to False."""
    return opt(default, "channels-last memory format for nets and batches (faster "
               "convolutions on CPUs with oneDNN and on recent GPUs)")


def beta1_opt(default: float = 0.5, note: str = ""):
    """The `beta1` field of a plugin's Adam optimisers."""
    return opt(default, f"Adam beta1{note}", minimum=0.0, maximum=0.99999)


def diffaug_opt(default: str = "none"):
    """The `diffaug` field of every GAN plugin (ganctl/kit/diffaug.py)."""
    return opt(default, "differentiable augmentation of every image the discriminator "
               "sees, real and generated, in both steps (DiffAugment; for small datasets): "
               "none, auto (all three below 10,000 training images), or color, translation "
               "and cutout joined by commas in that order", choices=DIFFAUG_POLICIES)


def epochs_opt(default: float, note: str = "0 = no limit"):
    """The `epochs` stopping rule with a plugin's own default."""
    return opt(default, f"stop after this many passes over the data ({note})", minimum=0.0)


def recipe_opt(paper: str, cpu: str):
    """The `recipe` field of a plugin whose paper recipe is hopeless on a CPU: `paper` and
    `cpu` say what each recipe trains."""
    return opt("auto", f"paper ({paper}), cpu ({cpu}) or auto (paper on a GPU, cpu on a "
               "CPU); keys you set yourself win over either", choices=("auto", "paper", "cpu"))


def recipe_defaults(device_type: str, given: dict[str, Any],
                    cpu_recipe: dict[str, Any]) -> dict[str, Any]:
    """`device_defaults` for a config with a `recipe_opt` field: the recipe `auto`
    resolves to, and the `cpu_recipe` keys the user did not set when it is `cpu`."""
    recipe = given.get("recipe", "auto")
    if recipe == "auto":
        recipe = "cpu" if device_type == "cpu" else "paper"
    chosen = cpu_recipe if recipe == "cpu" else {}
    return {"recipe": recipe, **{k: v for k, v in chosen.items() if k not in given}}


@dataclass
class TrainConfig:
    """Options every plugin shares. Stopping rules: the first one reached ends the run."""

    batch_size: int = opt(64, "images per optimisation step", minimum=1)
    lr: float = opt(2e-4, "learning rate of the generators and the discriminators",
                    minimum=0.0)
    seed: int = opt(0, "seed of every random number generator in the run")
    epochs: float = epochs_opt(0.0)
    steps: int = opt(0, "stop after this many optimisation steps (0 = no limit)", minimum=0)
    minutes: float = opt(0.0, "stop after this many minutes of training, counting resumed "
                         "time (0 = no limit)",
                         minimum=0.0)
    log_every: int = opt(50, "steps between lines in stats.jsonl", minimum=1)
    sample_every: int = opt(500, "steps between sample grids in samples/", minimum=1)
    checkpoint_every: int = opt(1000, "steps between training checkpoints", minimum=1)
    keep_checkpoints: int = opt(2, "training checkpoints kept on disk, newest first (each "
                                "holds every net and its optimiser state, the largest files "
                                "of a run)", minimum=1)
    ema: float = opt(0.0, "decay of the generator's exponential moving average (0 = off)",
                     minimum=0.0, maximum=0.99999)
    workers: int = opt(2, "data loader worker processes for datasets read from disk",
                       minimum=0)
    precision: str = precision_opt("auto")
    channels_last: bool = channels_last_opt(True)
    compile: bool = opt(False, "torch.compile the nets (falls back to eager with a warning "
                        "when unavailable)")
    sync_bn: bool = opt(False, "distributed runs: batch-norm statistics over all processes "
                        "(SyncBatchNorm; CUDA only)")

    @classmethod
    def device_defaults(cls, device_type: str, given: dict[str, Any]) -> dict[str, Any]:
        """Defaults that depend on the kind of device ("cpu", "cuda", "mps") a new run
        trains on, for the keys the user did not set (`given`: their settings). A plugin
        whose paper recipe is hopeless on a CPU overrides this; none by default."""
        return {}

    def run_label(self) -> str:
        """What the run folder's name says after the dataset (e.g. the architecture);
        nothing by default."""
        return ""

    @classmethod
    def upgrade(cls, saved: dict[str, Any]) -> dict[str, Any]:
        """A checkpoint's saved config in this version's keys, so runs from an older
        ganctl resume with the recipe they started with (plugins override this)."""
        return saved


@dataclass
class PaperScheduleConfig(TrainConfig):
    """The pix2pix/CycleGAN papers' optimisation: Adam with beta1 0.5, the learning rate
    constant for `n_epochs`, then decaying linearly to zero over `n_epochs_decay`."""

    beta1: float = beta1_opt()
    diffaug: str = diffaug_opt()
    n_epochs: int = opt(100, "epochs at the initial learning rate", minimum=0)
    n_epochs_decay: int = opt(100, "epochs of linear decay to zero", minimum=0)
    epochs: float = epochs_opt(200.0, "n_epochs + n_epochs_decay")


def fields(cfg_cls) -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(cfg_cls)}


def _resolve_type(cfg_cls, f: dataclasses.Field):
    hints = typing.get_type_hints(cfg_cls)
    return hints[f.name]


def _parse_scalar(text: str, typ) -> Any:
    origin = typing.get_origin(typ)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(typ) if a is not type(None)]
        if text.lower() in ("none", "null", ""):
            return None
        return _parse_scalar(text, args[0])
    if origin in (tuple, list):
        (item,) = set(typing.get_args(typ)) - {Ellipsis} or {str}
        parts = [p for p in text.replace(" ", "").split(",") if p]
        return origin(_parse_scalar(p, item) for p in parts)
    if typ is bool:
        low = text.strip().lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"expected true or false, got {text!r}")
    if typ is int:
        return int(text)
    if typ is float:
        return float(text)
    if typ is str:
        return text
    raise ValueError(f"unsupported field type {typ}")


def coerce(cfg_cls, key: str, value: Any) -> Any:
    """Check `value` (text or a JSON/TOML value) against field `key` and return it typed."""
    known = fields(cfg_cls)
    if key not in known:
        close = difflib.get_close_matches(key, list(known), n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise UsageError(f"unknown config key {key!r}{hint}; see `ganctl models inspect` "
                         "or `--dry-run` for the keys")
    f = known[key]
    typ = _resolve_type(cfg_cls, f)
    try:
        if isinstance(value, str):
            out = _parse_scalar(value, typ)
        elif typ is float and isinstance(value, int) and not isinstance(value, bool):
            out = float(value)
        elif isinstance(value, list):
            out = _parse_scalar(",".join(str(v) for v in value), typ)
        else:
            out = value
            base = typing.get_args(typ)[0] if typing.get_origin(typ) else typ
            if not isinstance(value, base if isinstance(base, type) else object) or (
                base is int and isinstance(value, bool)
            ):
                raise ValueError(f"expected {getattr(base, '__name__', base)}, "
                                 f"got {type(value).__name__}")
    except ValueError as e:
        raise UsageError(f"bad value for {key}: {e}") from None
    choices = f.metadata.get("choices")
    if choices and out not in choices:
        allowed = ", ".join(map(str, choices))
        raise UsageError(f"bad value for {key}: {out!r} is not one of {allowed}")
    if isinstance(out, float) and not math.isfinite(out):
        raise UsageError(f"bad value for {key}: {out} is not a finite number")
    minimum, maximum = f.metadata.get("minimum"), f.metadata.get("maximum")
    if minimum is not None and out is not None and out < minimum:
        raise UsageError(f"bad value for {key}: {out} is below the minimum {minimum}")
    if maximum is not None and out is not None and out > maximum:
        raise UsageError(f"bad value for {key}: {out} is above the maximum {maximum}")
    return out


def parse_sets(items: list[str]) -> list[tuple[str, str]]:
    """Split `key=value` strings (several may share one argument, space separated)."""
    pairs = []
    for item in items:
        for part in item.split():
            key, sep, value = part.partition("=")
            if not sep or not key:
                raise UsageError(f"--set expects key=value, got {part!r}")
            pairs.append((key.strip().replace("-", "_"), value))
    return pairs


def read_config_file(path: Path) -> dict[str, Any]:
    """A flat table of config keys from a TOML or JSON file."""
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise UsageError(f"cannot read config file {path}: {e.strerror}") from None
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(raw)
        else:
            try:
                import tomllib
            except ModuleNotFoundError:  # Python 3.10
                import tomli as tomllib

            data = tomllib.loads(raw.decode("utf-8"))
    except Exception as e:  # noqa: BLE001 - any parse failure is the user's file
        raise UsageError(f"cannot parse config file {path}: {e}") from None
    if not isinstance(data, dict):
        raise UsageError(f"config file {path} must hold a table of key = value")
    return data


def build(cfg_cls, *layers: dict[str, Any]):
    """A config from defaults overlaid with each layer in turn (file, flags, --set)."""
    values: dict[str, Any] = {}
    for layer in layers:
        for key, value in layer.items():
            key = key.replace("-", "_")
            values[key] = coerce(cfg_cls, key, value)
    return cfg_cls(**values)


def to_dict(cfg) -> dict[str, Any]:
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(cfg).items()}


def describe(cfg_cls) -> list[tuple[str, str, Any, str]]:
    """(key, type name, default, help) for every field: for --help and `models inspect`."""
    rows = []
    for f in dataclasses.fields(cfg_cls):
        typ = _resolve_type(cfg_cls, f)
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        help_text = f.metadata.get("help", "")
        if f.metadata.get("choices"):
            help_text += f" [{'|'.join(map(str, f.metadata['choices']))}]"
        rows.append((f.name, getattr(typ, "__name__", str(typ)), default, help_text))
    return rows
