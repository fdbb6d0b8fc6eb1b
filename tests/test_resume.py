"""k steps + resume + the rest == one uninterrupted run, bit for bit, for every plugin
and stage: every tensor of every net, EMA, optimiser and recipe state (e.g. CycleGAN's
image pools), and the logged stats rows."""

from __future__ import annotations

import json

import pytest
import torch

from ganctl import registry
from ganctl.training import engine

pytestmark = pytest.mark.slow  # exact resume of every plugin (not in the fast tier)

SR = {"batch_size": 4, "n_blocks": 1, "width": 8, "d_width": 8, "warmup_steps": 3,
      "content": "pixel"}
P2P = {"net_g": "unet_32", "load_size": 40, "crop_size": 32, "ngf": 4, "ndf": 4,
       "val_images": 4}
CYC = {"image_size": 32, "n_blocks": 1, "ngf": 4, "ndf": 4}
FACES = {"ngf": 8, "ndf": 8, "batch_size": 16}
LEAKS = {"image_size": 32, "width": 8, "latent": 8, "batch_size": 32}

CASES = {
    "sneakers-dcgan-ema": ("sneakers", 1, {}),
    "sneakers-dcgan-no-ema": ("sneakers", 1, {"ema": 0.0}),
    "sneakers-mlp": ("sneakers", 1, {"arch": "mlp"}),
    "sneakers-stage2": ("sneakers", 2, SR),
    "pix2pix-workers0": ("edges2shoes", 1, {**P2P, "workers": 0}),
    "pix2pix-workers2": ("edges2shoes", 1, {**P2P, "workers": 2}),
    "cyclegan-workers0": ("horse2zebra", 1, {**CYC, "workers": 0}),
    "cyclegan-workers2": ("horse2zebra", 1, {**CYC, "workers": 2}),
    "faces-dcgan": ("faces", 1, FACES),
    # the averaged generator's resume is checked with the DCGAN pair (its batch-norm
    # recalibration is most of this case's time)
    "faces-csp-resnet": ("faces", 1, {**FACES, "arch_g": "csp", "arch_d": "resnet",
                                      "ema": 0.0}),
    "leaks": ("leaks", 1, LEAKS),
}
VOLATILE = {"time", "imgs_per_s", "data_wait_frac"}


def run(plugin, stage, sets, steps, resume=None):
    overrides = {"steps": steps, "epochs": 0, "log_every": 1, "sample_every": 3,
                 "checkpoint_every": 1000, **({} if resume else sets)}
    return engine.train(engine.TrainRequest(registry.get(plugin), stage, overrides=overrides,
                                            data="synthetic", device="cpu", resume=resume,
                                            publish=False))


def tensors(obj, prefix=""):
    """Every tensor (and plain value) of a nested checkpoint section, by path."""
    if isinstance(obj, torch.Tensor):
        return {prefix: obj}
    if isinstance(obj, dict):
        return {k: v for key, val in obj.items() for k, v in tensors(val, f"{prefix}/{key}")
                .items()}
    if isinstance(obj, (list, tuple)):
        return {k: v for i, val in enumerate(obj) for k, v in tensors(val, f"{prefix}/{i}")
                .items()}
    return {prefix: obj}


def stats(res):
    rows = [json.loads(x) for x in (res.run / "stats.jsonl").read_text().splitlines()]
    return [{k: v for k, v in r.items() if k not in VOLATILE} for r in rows]


# Synthetic sneakers have 512 images: at batch 128, step 4 ends the first epoch, so that
# split resumes exactly at an epoch boundary; the others resume mid-epoch.
SPLITS = [(case, 3) for case in sorted(CASES)] + [("sneakers-dcgan-ema", 4)]


@pytest.mark.parametrize("case,split", SPLITS)
def test_resume_is_exact(case, split, tmp_path, monkeypatch):
    plugin, stage, sets = CASES[case]
    monkeypatch.chdir(tmp_path)
    total = 7
    straight = run(plugin, stage, sets, total)
    part = run(plugin, stage, sets, split)
    resumed = run(plugin, stage, sets, total, resume=str(part.run))
    assert resumed.step == total
    a = torch.load(straight.checkpoint, weights_only=True)
    b = torch.load(resumed.checkpoint, weights_only=True)
    for section in ("nets", "ema", "optimizers", "schedulers", "recipe", "stream"):
        ta, tb = tensors(a.get(section, {})), tensors(b.get(section, {}))
        assert ta.keys() == tb.keys(), section
        for k in ta:
            same = torch.equal(ta[k], tb[k]) if isinstance(ta[k], torch.Tensor) \
                else ta[k] == tb[k]
            assert same, f"{section}{k} differs after resuming at step {split}"
    # Training rows match exactly; validation rows too, except that a run stopped early
    # also validated at the step where it stopped.
    a_rows, b_rows = stats(straight), stats(resumed)
    train_rows = [[r for r in rows if not any(k.startswith("val_") for k in r)]
                  for rows in (a_rows, b_rows)]
    assert train_rows[0] == train_rows[1]
    extra = [r for r in b_rows if r not in a_rows]
    assert all(r["step"] == split for r in extra), extra


# Every plugin's fields that its config checks together, given again on resume exactly
# as the user first ran them (the resume bug: each --set was checked alone against the
# defaults, so `crop_size=32` alone failed "crop_size must not exceed load_size").
CROSS_FIELD = {
    "pix2pix": ("edges2shoes", ["net_g=unet_32", "load_size=40", "crop_size=32", "ngf=4",
                                "ndf=4", "workers=0"],
                "load_size=48", "load_size"),
    "sneakers": ("sneakers", ["arch=dcgan", "width=8", "spectral_norm=true",
                              "batch_size=8"], "width=16", "width"),
    "sneakers-stage2": ("sneakers", ["hr_size=32", "crop=16", "n_blocks=1", "width=8",
                                     "batch_size=4", "content=pixel"], "crop=24", "crop"),
}


@pytest.mark.parametrize("case", sorted(CROSS_FIELD))
def test_resume_with_the_runs_own_cross_field_settings(cli, case):
    name, sets, changed, key = CROSS_FIELD[case]
    stage = ["--stage", "2"] if case.endswith("stage2") else []
    first = ["train", name, *stage, "--data", "synthetic", "--no-publish", "--set", *sets]
    assert cli(*first, "--steps", "2").code == 0
    res = cli(*first, "--resume", "auto", "--steps", "4", "--json")
    assert res.code == 0, res.err
    assert json.loads(res.out)["step"] == 4
    # a real change of one of those fields is still refused, naming it
    res = cli(*first, changed, "--resume", "auto", "--steps", "6")
    assert res.code == 2 and f"cannot change {key} when resuming" in res.err
