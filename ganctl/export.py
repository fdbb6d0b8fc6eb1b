"""`models export`: trained weights as safetensors, ONNX (checked with ONNX Runtime), a
ganctl .pt, or a folder ready for the Hugging Face Hub."""

from __future__ import annotations

import inspect
import json
import os
import warnings
from pathlib import Path
from typing import Any

from ganctl import checkpoint
from ganctl.errors import GanctlError, UsageError, needs_extra
from ganctl.weights import Weights, formats

FORMATS = ("safetensors", "onnx", "pt", "hub")
SUFFIX = {"safetensors": ".safetensors", "onnx": ".onnx", "pt": ".pt"}
FOLDER_NAME = {"safetensors": "model.safetensors", "onnx": "model.onnx", "pt": "weights.pt"}
ONNX_OPSET = 17
ONNX_TOLERANCE = 1e-3


def target(out: Path, fmt: str) -> Path:
    """The file `-o` means: itself when it ends in the format's suffix, else a file of the
    format's usual name inside that folder (hub: the folder itself)."""
    if fmt == "hub":
        if out.exists() and not out.is_dir():
            raise UsageError(f"-o {out}: --format hub writes a folder, and this is a file")
        return out
    if out.suffix == SUFFIX[fmt]:
        return out
    if out.suffix and not out.is_dir():
        raise UsageError(f"-o {out}: a {fmt} file ends in {SUFFIX[fmt]} (or give a folder)")
    return out / FOLDER_NAME[fmt]


def config_json(weights: Weights) -> bytes:
    doc = formats.record(weights.saved())
    return (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode()


def write_safetensors(weights: Weights, path: Path) -> list[Path]:
    """model.safetensors plus its record as JSON beside it (config.json in a folder,
    NAME.json next to NAME.safetensors)."""
    formats.write(weights.saved(), path)
    side = path.with_name("config.json") if path.name == FOLDER_NAME["safetensors"] \
        else path.with_suffix(".json")
    checkpoint.atomic_write(side, lambda f: f.write(config_json(weights)))
    return [path, side]


def write_pt(weights: Weights, path: Path) -> list[Path]:
    payload = {k: v for k, v in weights.saved().items() if k not in ("format",
                                                                      "format_version")}
    return [checkpoint.save(payload, path)]


def write_onnx(plugin, weights: Weights, path: Path, direction: str | None = None
               ) -> dict[str, Any]:
    """Export the plugin's deployable net, check it with ONNX Runtime against PyTorch on
    every example and probe input, and move it into place only when it agrees."""
    onnx = needs_extra("onnx", "onnx", "--format onnx")
    needs_extra("onnxruntime", "onnx", "checking an ONNX export")
    import torch

    dep = plugin.deployable(weights, direction)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    kwargs = {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters \
        else {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the exporter's tracer and deprecation notes
            torch.onnx.export(dep.net, tuple(dep.inputs.values()), str(tmp),
                              input_names=list(dep.inputs), output_names=dep.outputs,
                              dynamic_axes=dep.dynamic, opset_version=ONNX_OPSET, **kwargs)
        model = onnx.load(str(tmp))
        meta = {"ganctl": json.dumps({**formats.record(weights.saved()), "io": dep.describe,
                                      **dep.extra}),
                "plugin": weights.plugin, "stage": str(weights.stage)}
        for key, value in meta.items():
            model.metadata_props.add(key=key, value=value)
        onnx.save(model, str(tmp))
        diff = check_onnx(tmp, dep)
        if diff > ONNX_TOLERANCE:
            raise GanctlError(f"the ONNX export differs from PyTorch by up to {diff:.2e} "
                              f"(more than {ONNX_TOLERANCE:g}); not written")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return {"file": str(path), "opset": ONNX_OPSET, "max_diff": diff,
            "checked_inputs": 1 + len(dep.probes), "io": dep.describe, **dep.extra}


def check_onnx(path: Path, dep) -> float:
    """Largest difference between ONNX Runtime and PyTorch over all inputs: absolute,
    and relative for values beyond +-1 (an anomaly score of 1e5 has float32's ~0.01 of
    rounding, an image in [0, 1] has ~1e-7)."""
    import numpy as np
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    worst = 0.0
    for inputs in (dep.inputs, *dep.probes):
        want = dep.run(inputs)
        got = session.run(dep.outputs, {k: v.numpy() for k, v in inputs.items()})
        for w, g in zip(want, got):
            if tuple(w.shape) != tuple(g.shape):
                raise GanctlError(f"the ONNX export gives shape {tuple(g.shape)} where "
                                  f"PyTorch gives {tuple(w.shape)}")
            w = w.numpy()
            scaled = np.abs(w - g) / np.maximum(1.0, np.abs(w))
            worst = max(worst, float(scaled.max(initial=0.0)))
    return worst
