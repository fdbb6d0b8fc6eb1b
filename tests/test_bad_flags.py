"""Bad flags and values on every verb: each is a one-line error with a non-zero exit code,
never an "internal error" (an unexpected exception) and never a traceback."""

from __future__ import annotations

import pytest
import torch
from PIL import Image

DRY = ("--dry-run",)
BAD = [
    ("train", "sneakers", "--set", "beta1=5", *DRY),
    ("train", "sneakers", "--set", "lr=nan", *DRY),
    ("train", "sneakers", "--set", "ema=1.5", *DRY),
    ("train", "leaks", "--set", "image_size=30", *DRY),
    ("train", "sneakers", "--set", "batch_size=0", *DRY),
    ("train", "sneakers", "--steps", "-1", *DRY),
    ("train", "sneakers", "--minutes", "-2", *DRY),
    ("train", "sneakers", "--epochs", "nan", *DRY),
    ("train", "sneakers", "--set", "no_such_key=1", *DRY),
    ("train", "sneakers", "--set", "lr", *DRY),
    ("train", "sneakers", "--set", "arch=mlp", "width=16", *DRY),
    ("train", "sneakers", "--config", "missing.toml", *DRY),
    ("train", "sneakers", "--resume", "nowhere", *DRY),
    ("train", "sneakers", "--stage", "3", *DRY),
    ("train", "nosuchplugin", *DRY),
    ("train", "sneakers", "--precision", "fp8", *DRY),
    ("train", "sneakers", "--data", "nosuchdata", "--steps", "1"),
    ("train", "cyclegan", "--data-a", "x", *DRY),
    ("train", "sneakers", "--wandb", "--wandb-mode", "sideways", *DRY),
    ("sample", "sneakers", "-n", "0"),
    ("sample", "sneakers", "--seeds", "5-1"),
    ("sample", "sneakers", "--seeds", "abc"),
    ("sample", "sneakers", "--nrow", "-3"),
    ("sample", "sneakers", "--truncation", "-1"),
    ("sample", "sneakers", "--truncation", "1.5"),
    ("sample", "sneakers", "-o", "grid.xyz"),
    ("sample", "sneakers", "--interpolate", "1", "2", "--steps", "1"),
    ("sample", "sneakers", "--device", "tpu"),
    ("sample", "sneakers", "--weights", "nowhere.pt"),
    ("upscale", "in.png", "--tile", "-5"),
    ("upscale", "in.png", "-o", "out.xyz"),
    ("upscale", "nowhere.png"),
    ("translate", "edges2shoes", "in.png", "--size", "0"),
    ("translate", "horse2zebra", "in.png", "--direction", "XtoY"),
    ("translate", "sneakers", "in.png"),
    ("detect-leaks", "in.png", "--threshold", "nan"),
    ("evaluate", "sneakers", "-n", "1"),
    ("evaluate", "sneakers", "--metric", "foo"),
    ("evaluate", "sneakers", "--extractor", "torchscript:nowhere.pt"),
    ("plot-losses", "runs", "--smooth", "2"),
    ("plot-losses", "runs", "--x", "foo"),
    ("plot-losses", "nowhere"),
    ("models", "inspect", "nowhere.pt"),
    ("models", "import", "in.png", "--as", "edges2shoes"),
    ("download-data", "nosuchdata"),
]


@pytest.mark.slow  # over 0.9 s: the full suite only (fast tier under 90 s)
def test_bad_flags_are_one_line_errors(cli, tmp_path):
    assert cli("train", "sneakers", "--steps", "1", "--set", "batch_size=4").code == 0
    Image.new("RGB", (8, 8), (1, 2, 3)).save(tmp_path / "in.png")
    problems = []
    for args in BAD:
        res = cli(*args)
        lines = [x for x in res.err.splitlines() if x.startswith("ganctl: error:")]
        if res.code == 0 or "internal error" in res.err or "Traceback" in res.err or \
                len(lines) != 1:
            problems.append(f"{' '.join(args)!r} -> exit {res.code}: {res.err.strip()[:300]}")
    assert not problems, "\n".join(problems)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_asking_for_cuda_without_it_is_an_error(cli):
    for verb in (("train", "sneakers", "--steps", "1"), ("sample", "sneakers")):
        res = cli(*verb, "--device", "cuda")
        assert res.code != 0 and "CUDA" in res.err and "internal error" not in res.err
