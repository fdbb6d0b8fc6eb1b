"""Real Fashion-MNIST from Debian's dataset-fashion-mnist (required in CI, skipped
elsewhere when missing): train a few steps, sample, and evaluate on it."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from ganctl.data import catalog
from tests.test_evaluate import scripted_extractor

pytestmark = [pytest.mark.slow,  # training on real data (the fast tier skips it)
              pytest.mark.skipif(not catalog.DEBIAN_FASHION_MNIST.is_dir(),
                                 reason="Debian's dataset-fashion-mnist is not installed")]


def test_train_sample_and_evaluate_on_real_sneakers(cli, tmp_path):
    res = cli("train", "sneakers", "--data", "fashion-sneakers", "--steps", "30", "--json",
              "--publish", "always", "--set", "log_every=10", "sample_every=30")
    assert res.code == 0, res.err
    doc = json.loads(res.out)
    cfg = json.loads((tmp_path / doc["run"] / "config.json").read_text())
    assert cfg["dataset"]["count"] == 6000 and cfg["dataset"]["channels"] == 1
    rows = [json.loads(x) for x in (tmp_path / doc["run"] / "stats.jsonl").read_text()
            .splitlines() if "loss_d" in x]
    assert len(rows) == 3 and all(r["imgs_per_s"] > 0 for r in rows)

    res = cli("sample", "sneakers", "--seeds", "0-15", "-o", "s/", "--json")
    assert res.code == 0, res.err
    assert Image.open(tmp_path / "s" / "seed00000.png").size == (28, 28)

    ext = scripted_extractor(tmp_path / "ext.pt")
    args = ["evaluate", "sneakers", "--real", "fashion-sneakers", "--extractor",
            f"torchscript:{ext}@28", "-n", "200", "--json"]
    res = cli(*args)
    assert res.code == 0, res.err
    fake = json.loads(res.out)
    assert fake["n_real"] == 200 and fake["fd"] > 0


def test_stage2_on_real_sneakers_beats_bicubic_after_a_short_run(cli, tmp_path):
    res = cli("train", "sneakers", "--stage", "2", "--data", "fashion-sneakers", "--steps",
              "150", "--json", "--set", "hr_size=28", "channels=1", "sample_every=150",
              "log_every=50")
    assert res.code == 0, res.err
    run = tmp_path / json.loads(res.out)["run"]
    val = [json.loads(x) for x in (run / "stats.jsonl").read_text().splitlines()
           if "val_psnr" in x][-1]
    assert val["val_psnr"] > val["val_psnr_bicubic"] + 1.0
    assert "not above plain bicubic" not in res.err
