"""faces: CSP blocks and the 1 -> 64 px progression, spectral norm, both discriminators,
diagnostics, GIF and loss plot, the mode-collapse alarm, truncation and interpolation."""

from __future__ import annotations

import json

import pytest
import torch
from PIL import Image

from ganctl import nets
from ganctl.config import build
from ganctl.kit.noise import seed_noise
from ganctl.nets.faces import CSPUp
from ganctl.plugins.faces import FacesConfig, FacesRecipe

TINY = ["--set", "ngf=8", "ndf=8", "batch_size=16", "log_every=2", "sample_every=3",
        "checkpoint_every=100"]


def test_csp_block_and_progression():
    block = CSPUp(100, 32, stride=1, padding=0)
    assert block(torch.zeros(2, 100, 1, 1)).shape == (2, 32, 4, 4)
    assert CSPUp(32, 16)(torch.zeros(2, 32, 4, 4)).shape == (2, 16, 8, 8)
    g = nets.build("faces_csp_g", ngf=8)
    sizes, x = [], torch.randn(2, 100).view(2, 100, 1, 1)
    for layer in g.main:
        x = layer(x)
        if isinstance(layer, CSPUp):
            sizes.append(x.shape[-1])
    assert sizes == [4, 8, 16, 32, 64] and x.shape == (2, 3, 64, 64)
    assert x.abs().max() <= 1


@pytest.mark.parametrize("name", ["faces_dcgan_d", "faces_resnet_d"])
@pytest.mark.parametrize("sn", [False, True])
def test_discriminators_and_spectral_norm(name, sn):
    d = nets.build(name, ndf=8, spectral_norm=sn)
    assert d(torch.randn(3, 3, 64, 64)).shape == (3,)
    has_sn = any(hasattr(m, "weight_orig") for m in d.modules())
    has_bn = any(isinstance(m, torch.nn.BatchNorm2d) for m in d.modules())
    assert has_sn == sn and has_bn == (not sn)
    g = nets.build("faces_dcgan_g", ngf=8, spectral_norm=sn)
    assert any(hasattr(m, "weight_orig") for m in g.modules()) == sn


@pytest.mark.slow  # over 0.9 s: the full suite only (fast tier under 90 s)
def test_training_logs_diagnostics_gif_and_plot(cli, tmp_path):
    res = cli("train", "faces", "--data", "synthetic", "--json", "--steps", "6",
              *TINY, "arch_g=csp", "arch_d=resnet")
    assert res.code == 0, res.err
    run = tmp_path / json.loads(res.out)["run"]
    rows = [json.loads(x) for x in (run / "stats.jsonl").read_text().splitlines()]
    keys = {"loss_d", "loss_g", "d_real", "d_fake_before", "d_fake_after", "grad_norm_g",
            "grad_norm_d"}
    assert keys <= set(rows[0])
    assert any("val_diversity_ratio" in r for r in rows)
    gif = Image.open(run / "progress.gif")
    assert gif.n_frames == 2 and gif.size == (8 * 66 + 2, 8 * 66 + 2)
    assert Image.open(run / "losses.png").width > 500
    cfg = json.loads((run / "config.json").read_text())
    # the CSP defaults that worked, and diffaug=auto's choice for 512 synthetic faces
    assert cfg["recipe"] == {"lr_g": 5e-4, "lr_d": 1e-4, "diffaug": "color,translation,cutout"}


class Const(torch.nn.Module):
    def forward(self, z):
        return torch.zeros(len(z), 3, 64, 64)


class Noisy(torch.nn.Module):
    def forward(self, z):
        return torch.rand(len(z), 3, 64, 64, generator=torch.Generator().manual_seed(0)) * 2 - 1


def recipe_with(g, capsys):
    cfg = build(FacesConfig, {"ngf": 4, "ndf": 4, "collapse_warmup": 0})
    data = type("D", (), {})()
    from ganctl.data.sources import DataInfo, ImageTensors

    gen = torch.Generator().manual_seed(1)
    data.train = ImageTensors(torch.randint(0, 256, (64, 3, 64, 64), dtype=torch.uint8,
                                            generator=gen))
    data.info = DataInfo("x", 3, (64, 64), 64, "0")
    recipe = FacesRecipe(cfg, data, torch.device("cpu"))
    scores = recipe.validate({"g": g})
    return scores["val_diversity_ratio"], capsys.readouterr().err


def test_mode_collapse_alarm(capsys):
    ratio, err = recipe_with(Const(), capsys)
    assert ratio < 0.01 and "possible mode collapse" in err
    ratio, err = recipe_with(Noisy(), capsys)
    assert ratio > 0.5 and "mode collapse" not in err


@pytest.mark.slow  # 2.6 s on a 2-core EPYC: the full suite only
def test_truncation_and_interpolation(cli, tmp_path):
    z = seed_noise(5, 100, 0.5)
    assert z.abs().max() <= 0.5 and torch.equal(z, seed_noise(5, 100, 0.5))
    assert cli("train", "faces", "--data", "synthetic", "--steps", "2", *TINY).code == 0
    res = cli("sample", "faces", "--interpolate", "3", "17", "--steps", "5", "-o", "m.gif")
    assert res.code == 0, res.err
    assert Image.open(tmp_path / "m.gif").n_frames == 8  # there and back
    assert cli("sample", "faces", "--interpolate", "3", "17", "--steps", "4",
               "-o", "strip.png").code == 0
    assert Image.open(tmp_path / "strip.png").size == (4 * 66 + 2, 66 + 2)
    a = cli("sample", "faces", "--seeds", "1-2", "--truncation", "0.7", "-o", "a/")
    assert a.code == 0
    b = cli("sample", "faces", "--seeds", "1-2", "-o", "b/")
    t_again = cli("sample", "faces", "--seeds", "1-2", "--truncation", "0.7", "-o", "c/")
    assert b.code == 0 and t_again.code == 0
    for name in ("seed00001.png", "seed00002.png"):
        truncated = (tmp_path / "a" / name).read_bytes()
        assert truncated == (tmp_path / "c" / name).read_bytes()  # deterministic per seed
        assert truncated != (tmp_path / "b" / name).read_bytes()  # and not the plain latent
    res = cli("sample", "sneakers", "--interpolate", "1", "2")
    assert res.code == 2 and "does not support --interpolate" in res.err
