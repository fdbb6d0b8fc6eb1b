"""sneakers stage 2 (SRGAN), sampling through both stages, and `upscale`."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from ganctl import nets
from ganctl.errors import GanctlError
from ganctl.infer.upscale import run_tiled, upscale_image, within_local_range
from ganctl.kit import losses
from tests.conftest import FAST

TINY_SR = ["--stage", "2", "--steps", "6", "--set", "batch_size=4", "n_blocks=1", "width=8",
           "warmup_steps=3", "log_every=3", "sample_every=3", "checkpoint_every=6",
           "content=pixel"]


@pytest.fixture
def sr_trained(cli):
    res = cli("train", "sneakers", "--json", *TINY_SR)
    assert res.code == 0, res.err
    return json.loads(res.out)


@pytest.mark.slow  # 1.6 s on a 2-core EPYC: the full suite only
def test_stage2_logs_warmup_then_adversarial_and_validation(sr_trained, tmp_path):
    run = tmp_path / sr_trained["run"]
    assert run.parent.name == "sneakers-stage2"
    rows = [json.loads(x) for x in (run / "stats.jsonl").read_text().splitlines()]
    train_rows = [r for r in rows if "loss_g" in r]
    val_rows = [r for r in rows if "val_psnr" in r]
    assert "loss_d" not in train_rows[0] and "loss_mse" in train_rows[0]  # warm-up: MSE only
    assert {"loss_d", "loss_content", "loss_adv", "d_real", "d_fake"} <= set(train_rows[1])
    assert [r["step"] for r in val_rows] == [3, 6]
    for r in val_rows:
        assert 5 < r["val_psnr_bicubic"] < 60 and 0 < r["val_ssim_bicubic"] <= 1
        assert np.isfinite(r["val_psnr"])
    ckpt = torch.load(sr_trained["checkpoint"], weights_only=True)
    assert ckpt["recipe_meta"]["content_loss"] == "pixel"
    assert ckpt["recipe"]["steps"] == 6
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["recipe"]["content_loss"] == "pixel"
    grid = Image.open(sorted((run / "samples").iterdir())[-1])
    assert grid.width > 3 * 112  # bicubic | SRGAN | real columns at 112 px


@pytest.mark.slow  # 1.9 s on a 2-core EPYC: the full suite only
def test_stage2_mse_goes_down_during_warmup(cli, tmp_path):
    res = cli("train", "sneakers", "--json", "--stage", "2", "--steps", "40", "--set",
              "batch_size=8", "n_blocks=1", "width=16", "warmup_steps=100", "log_every=10",
              "sample_every=100", "content=pixel", "lr=1e-3", "seed=1", "crop=0",
              "--no-publish")  # whole images: every row's loss is on the same pictures
    assert res.code == 0, res.err
    run = tmp_path / json.loads(res.out)["run"]
    lines = [json.loads(x) for x in (run / "stats.jsonl").read_text().splitlines()]
    rows = [r for r in lines if "loss_mse" in r]
    assert rows[-1]["loss_mse"] < rows[0]["loss_mse"]  # the first row is ~bicubic
    val = [r for r in lines if "val_psnr" in r][-1]
    # it started at exactly bicubic, so 40 steps cannot have strayed far from it (the
    # real-data test checks that it pulls ahead: tests/test_real_data.py)
    assert abs(val["val_psnr"] - val["val_psnr_bicubic"]) < 0.5


def test_discriminator_loss_uses_logits_once():
    # the seed's bug: sigmoid inside D and BCEWithLogits outside pinned the loss at ln 2.
    confident = losses.d_loss("bce", torch.full((4,), 20.0), torch.full((4,), -20.0))
    assert confident < 1e-6
    assert abs(float(losses.d_loss("bce", torch.zeros(4), torch.zeros(4))) - 2 * np.log(2)) < 1e-6


def test_stage2_vgg_refuses_clearly_when_weights_unavailable(cli, monkeypatch):
    from ganctl.plugins.sneakers import content

    monkeypatch.setattr(content, "vgg19_cached", lambda: None)
    monkeypatch.setattr(content, "vgg19_download", lambda timeout=10: None)
    args = [a.replace("content=pixel", "content=vgg") for a in TINY_SR]
    res = cli("train", "sneakers", *args)
    assert res.code == 1 and "content=vgg needs vgg19-dcbb9e9d.pth" in res.err


def tiny_sr(n_blocks=1, channels=3):
    torch.manual_seed(0)
    g = nets.build("srgan_g", channels=channels, scale=4, n_blocks=n_blocks, width=8)
    for m in g.modules():  # non-trivial running stats, so eval-mode BN does something
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    return g.eval()


def test_tiled_equals_untiled_with_receptive_padding():
    g = tiny_sr(n_blocks=2)
    x = torch.rand(1, 3, 37, 53) * 2 - 1
    with torch.inference_mode():
        whole = run_tiled(g, x, 4, 0, 0, torch.device("cpu"))
        tiled = run_tiled(g, x, 4, 16, g.receptive_radius, torch.device("cpu"))
        seamy = run_tiled(g, x, 4, 16, 0, torch.device("cpu"))
    assert whole.shape == (3, 148, 212)
    assert (whole - tiled).abs().max() < 1e-5
    assert (whole - seamy).abs().max() > 1e-3  # without context the seams are real


def test_tiles_bound_the_input_size_seen_by_the_net():
    seen = []

    class Recorder(torch.nn.Module):
        def forward(self, x):
            seen.append(tuple(x.shape))
            return torch.nn.functional.interpolate(x, scale_factor=4)

    x = torch.rand(1, 3, 500, 300)
    out = run_tiled(Recorder(), x, 4, 128, 8, torch.device("cpu"), batch_pixels=2 * 144**2)
    assert out.shape == (3, 2000, 1200)
    assert max(h * w for _, _, h, w in seen) <= (128 + 16) ** 2
    assert sum(n for n, *_ in seen) == 4 * 3 and max(n for n, *_ in seen) == 2  # batched
    one_by_one = run_tiled(Recorder(), x, 4, 128, 8, torch.device("cpu"), batch_pixels=1)
    assert torch.equal(out, one_by_one)


def test_out_of_memory_backs_off_to_smaller_tiles(monkeypatch):
    from ganctl.infer import upscale as up

    class Picky(torch.nn.Module):
        def forward(self, x):
            if x.shape[-1] * x.shape[-2] > 40 * 40:
                raise torch.OutOfMemoryError("CUDA out of memory")
            return torch.nn.functional.interpolate(x, scale_factor=4)

    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: None)
    out = up.run_with_backoff(Picky(), torch.zeros(1, 1, 100, 100), 4, 0, 2,
                              torch.device("cpu"))
    assert out.shape == (1, 400, 400)

    class Hopeless(torch.nn.Module):
        def forward(self, x):
            raise torch.OutOfMemoryError("CUDA out of memory")

    with pytest.raises(GanctlError, match="out of GPU memory"):
        up.run_with_backoff(Hopeless(), torch.zeros(1, 1, 64, 64), 4, 0, 2, torch.device("cpu"))


@pytest.mark.parametrize("mode,size,out_mode", [
    ("L", (9, 7), "L"), ("RGB", (9, 7), "RGB"), ("RGBA", (9, 7), "RGBA"),
    ("P", (9, 7), "RGB"), ("I;16", (9, 7), "I;16"), ("1", (9, 7), "L"), ("CMYK", (9, 7), "RGB"),
])
def test_upscale_handles_every_mode(mode, size, out_mode):
    img = Image.new(mode, size)
    if mode == "RGBA":
        alpha = Image.linear_gradient("L").resize(size)
        img.putalpha(alpha)
    if mode == "I;16":
        img = Image.fromarray(np.full(size[::-1], 40000, np.uint16))
    out = upscale_image(img, tiny_sr(), 4, 3, torch.device("cpu"), tile=4, pad=3)
    assert out.size == (36, 28)
    assert out.mode == out_mode
    if mode == "RGBA":
        a = np.asarray(out.getchannel("A"))
        assert a[0].mean() < a[-1].mean()  # the gradient survived
    gray_net = upscale_image(Image.new("RGB", size, (10, 200, 30)), tiny_sr(channels=1), 4, 1,
                             torch.device("cpu"))
    assert gray_net.mode == "RGB" and gray_net.size == (36, 28)


@pytest.mark.slow  # 1.5 s on a 2-core EPYC: the full suite only
def test_upscale_cli_batch_with_bad_files(cli, sr_trained, tmp_path):
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    Image.new("RGB", (20, 12), (200, 10, 10)).save(src / "a.png")
    Image.new("LA", (8, 8)).save(src / "sub" / "b.png")
    (src / "broken.png").write_text("not an image")
    res = cli("upscale", str(src), "-o", "out/", "--json")
    assert res.code == 1
    doc = json.loads(res.out)
    assert (doc["processed"], doc["failed"]) == (2, 1)
    assert Image.open(tmp_path / "out" / "a-x4.png").size == (80, 48)
    assert Image.open(tmp_path / "out" / "sub" / "b-x4.png").size == (32, 32)
    assert "broken.png" in res.err and "1 of 3 input(s) failed" in res.err
    res = cli("upscale", str(src / "a.png"), "-o", "half.png", "--outscale", "2")
    assert res.code == 0 and Image.open(tmp_path / "half.png").size == (40, 24)


def test_upscale_without_weights_names_the_command(cli, tmp_path, monkeypatch):
    from ganctl.weights import bundled

    monkeypatch.setattr(bundled, "HERE", tmp_path / "no-bundled-weights")  # e.g. removed
    Image.new("RGB", (8, 8)).save(tmp_path / "x.png")
    res = cli("upscale", "x.png")
    assert res.code == 1 and "ganctl train sneakers --stage 2" in res.err


@pytest.mark.slow  # over 0.9 s: the full suite only (fast tier under 90 s)
def test_sample_skips_a_stage2_worse_than_bicubic_unless_asked(cli, sr_trained, tmp_path):
    # six steps of training leave the stage-2 net below bicubic on its validation images, so
    # only an explicit choice makes it the default
    assert cli("models", "use", "sneakers", sr_trained["run"]).code == 0
    assert cli("train", "sneakers", "--publish", "always", *FAST).code == 0
    res = cli("sample", "sneakers", "--seeds", "0-3", "-o", "one/", "--json")
    doc = json.loads(res.out)
    assert doc["stages"] == [1] and doc["size"] == [3, 28, 28]
    assert "not applying stage 2" in res.err and "not above plain bicubic" in res.err
    assert "--stage 2" in res.err
    res = cli("sample", "sneakers", "--seeds", "0-3", "--stage", "2", "-o", "both/", "--json")
    doc = json.loads(res.out)
    assert doc["stages"] == [1, 2] and doc["size"] == [3, 112, 112]
    assert "not above plain bicubic" in res.err
    res = cli("sample", "sneakers", "--seeds", "0-3", "--stage", "1", "-o", "one/", "--json")
    assert json.loads(res.out)["size"] == [3, 28, 28]


@pytest.mark.slow  # over 0.9 s: the full suite only (fast tier under 90 s)
def test_sample_stage2_without_its_weights_uses_the_bundled_one_or_fails_clearly(
        cli, tmp_path, monkeypatch):
    from ganctl.weights import bundled

    assert cli("train", "sneakers", "--publish", "always", *FAST).code == 0
    res = cli("sample", "sneakers", "-n", "2", "--json")
    assert json.loads(res.out)["stages"] == [1]  # your generator: no bundled x4 glued on
    res = cli("sample", "sneakers", "-n", "2", "--stage", "2", "--json")
    x4 = json.loads(res.out)["weights"][1]
    assert res.code == 0 and x4["path"] == str(bundled.path("photo-x4"))
    monkeypatch.setattr(bundled, "HERE", tmp_path / "no-bundled-weights")
    res = cli("sample", "sneakers", "-n", "2", "--stage", "2")
    assert res.code == 1 and "no weights for sneakers stage 2" in res.err
    assert cli("sample", "sneakers", "-n", "2", "-o", "x.png").code == 0  # default: stage 1


def test_fashion_data_at_112_is_refused_with_advice(cli, monkeypatch, tmp_path):
    from ganctl.data import synthetic

    synthetic.write_fashion_mnist(tmp_path / "fm", n_train=30, n_test=10)
    res = cli("train", "sneakers", "--stage", "2", "--data", str(tmp_path / "fm"))
    assert res.code == 1 and "hr_size=28" in res.err


def test_stage1_refuses_a_batch_of_one_with_a_clear_message(cli):
    res = cli("train", "sneakers", "--steps", "1", "--set", "batch_size=1")
    assert res.code == 2 and "at least 2 images per batch" in res.err
    assert "internal error" not in res.err


@pytest.mark.parametrize("arch", ["sr_compact_g", "srgan_g"])
def test_untrained_generator_is_exactly_bicubic(arch):
    from ganctl.metrics.sr import bicubic

    kw = {"residual": True} if arch == "srgan_g" else {}
    g = nets.build(arch, channels=3, scale=4, n_blocks=2, width=16, **kw).eval()
    x = torch.rand(2, 3, 20, 28) * 2 - 1
    with torch.no_grad():
        assert torch.equal(g(x).clamp(-1, 1), bicubic(x, 4))


def test_compact_tiles_equal_the_whole_image():
    g = nets.build("sr_compact_g", channels=3, scale=4, n_blocks=2, width=16)
    for p in g.parameters():  # leave the zero start so the learned part counts too
        torch.nn.init.normal_(p, 0, 0.05)
    x = torch.rand(1, 3, 37, 53) * 2 - 1
    with torch.no_grad():
        whole = within_local_range(g(x), x, 4)[0]
        tiled = run_tiled(g, x, 4, 16, g.receptive_radius, torch.device("cpu"))
    assert torch.allclose(tiled, whole, atol=1e-5)


@pytest.mark.slow  # 1.6 s on a 2-core EPYC: the full suite only
def test_weights_record_validation_against_bicubic_and_upscale_warns(cli, sr_trained,
                                                                      tmp_path):
    from ganctl.plugins.sneakers import plugin
    from ganctl.weights import Weights

    w = Weights.of(torch.load(tmp_path / sr_trained["run"] / "weights.pt", weights_only=True))
    val = w.meta["validation"]
    assert {"val_psnr", "val_psnr_bicubic", "val_ssim", "val_ssim_bicubic"} <= set(val)
    assert plugin.weights_warning(w) is not None  # 6 steps: below bicubic
    good = w.with_(meta={**w.meta, "validation": {
        **val, "val_psnr": val["val_psnr_bicubic"] + 1}})
    assert plugin.weights_warning(good) is None
    Image.new("RGB", (12, 10), (90, 40, 200)).save(tmp_path / "x.png")
    res = cli("upscale", "x.png", "-o", "x4.png")  # not the default: photo-x4, no warning
    assert res.code == 0 and "not above plain bicubic" not in res.err
    res = cli("upscale", "x.png", "-o", "x4.png", "--weights", tmp_path / sr_trained["run"])
    assert res.code == 0 and res.err.count("not above plain bicubic") == 1
    assert Image.open(tmp_path / "x4.png").size == (48, 40)


def test_random_symmetry_draws_each_of_the_eight_versions_per_image():
    from ganctl.kit.jitter import random_symmetry

    x = torch.arange(9.0).view(1, 1, 3, 3).expand(400, 1, 3, 3)
    versions = set()
    for k in range(4):
        for img in (x[0, 0].rot90(k), x[0, 0].rot90(k).flip(-1)):
            versions.add(tuple(img.flatten().tolist()))
    assert len(versions) == 8
    torch.manual_seed(0)
    out = random_symmetry(x)
    seen = [tuple(img.flatten().tolist()) for img in out[:, 0]]
    assert set(seen) == versions  # every draw is a symmetry, and all 8 occur in 400
    flips = {tuple(img.flatten().tolist()) for img in random_symmetry(x, dihedral=False)[:, 0]}
    assert flips == {tuple(x[0, 0].flatten().tolist()), tuple(x[0, 0].flip(-1).flatten().tolist())}


def test_random_crops_cut_each_image_independently():
    from ganctl.kit.jitter import random_crops

    x = torch.arange(2 * 16 * 16, dtype=torch.float32).view(2, 1, 16, 16).repeat(50, 1, 1, 1)
    torch.manual_seed(0)
    out = random_crops(x, 8)
    assert out.shape == (100, 1, 8, 8)
    corners = set()
    for img, crop in zip(x, out):
        y, x_ = divmod(int(crop[0, 0, 0]) % 256, 16)
        assert torch.equal(crop, img[:, y:y + 8, x_:x_ + 8])  # a true window of its image
        corners.add((y, x_))
    assert len(corners) > 20  # offsets differ from image to image
    assert random_crops(x, 0) is x and random_crops(x, 16) is x  # whole images


def test_stage2_crop_must_be_a_multiple_of_the_scale(cli):
    res = cli("train", "sneakers", "--stage", "2", "--steps", "1", "--set", "crop=30")
    assert res.code == 2 and "crop must be a multiple of 4, got 30" in res.err
    assert "Traceback" not in res.err


@pytest.mark.slow  # 1.3 s on a 2-core EPYC: the full suite only
def test_stage2_run_from_before_crops_resumes_with_its_own_recipe(cli, sr_trained, tmp_path):
    # checkpoints written before `augment`/`crop` existed had `flip` and whole images
    ckpt_path = sr_trained["checkpoint"]
    ckpt = torch.load(ckpt_path, weights_only=True)
    for key in ("augment", "crop"):
        del ckpt["config"][key]
    ckpt["config"]["flip"] = False
    torch.save(ckpt, ckpt_path)
    res = cli("train", "sneakers", "--stage", "2", "--resume", ckpt_path, "--steps", "8",
              "--dry-run", "--json")
    assert res.code == 0, res.err
    cfg = json.loads(res.out)["config"]
    assert cfg["augment"] == "none" and cfg["crop"] == 0 and "flip" not in cfg


@pytest.mark.slow  # 1.2 s on a 2-core EPYC: the full suite only
def test_stage2_ema_restarts_with_the_adversarial_phase(cli):
    """The published (EMA) generator of a run past its warm-up averages only adversarial
    weights: one step into that phase, it is (almost) a copy of the raw generator, where the
    ramp carried on from the warm-up would still keep ~71 % of the warm-up average."""
    res = cli("train", "sneakers", "--json", "--stage", "2", "--steps", "41", "--set",
              "batch_size=4", "n_blocks=1", "width=8", "warmup_steps=40", "ema=0.999",
              "sample_every=100", "content=pixel", "--no-publish")
    assert res.code == 0, res.err
    ckpt = torch.load(json.loads(res.out)["checkpoint"], weights_only=True)
    raw, ema = ckpt["nets"]["g"], ckpt["ema"]["g"]
    assert ckpt["step"] == 41
    gap = max(float((raw[k].float() - ema[k].float()).abs().max()) for k in raw)
    moved = max(float((raw[k].float()).abs().max()) for k in raw if k.endswith("weight"))
    assert gap < 1e-5 * max(moved, 1.0), gap
