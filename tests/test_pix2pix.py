"""pix2pix: the reference key layout, training on synthetic pairs, size-faithful translate,
pretrained download and `models import`."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch
from PIL import Image, ImageDraw

from ganctl import nets
from ganctl.data import synthetic
from ganctl.errors import GanctlError
from ganctl.weights import reference

# Key lists of the reference implementation's nets (from shared/reference/refkeys/).
REFKEYS = Path(__file__).resolve().parent / "data" / "refkeys"
TINY = ["--set", "net_g=unet_32", "load_size=40", "crop_size=32", "ngf=4", "ndf=4",
        "workers=0", "log_every=2", "sample_every=4", "checkpoint_every=4", "val_images=4"]


def ref_keys(name: str) -> dict[str, tuple[int, ...]]:
    out = {}
    for line in (REFKEYS / f"{name}.txt").read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        m = re.match(r"(\S+) \(([^)]*)\)", line)
        out[m.group(1)] = tuple(int(x) for x in m.group(2).split(",") if x.strip())
    return out


def our_keys(net) -> dict[str, tuple[int, ...]]:
    return {k: tuple(v.shape) for k, v in net.state_dict().items()}


@pytest.mark.parametrize("name,arch", [
    ("pix2pix_unet_256", nets.arch("unet", size=256)),
    ("pix2pix_unet_128", nets.arch("unet", size=128)),
    ("pix2pix_D_basic_batch_in6", nets.arch("patchgan", in_channels=6, norm="batch")),
    ("D_basic_batch_in3", nets.arch("patchgan", in_channels=3, norm="batch")),
    ("D_basic_instance_in6", nets.arch("patchgan", in_channels=6, norm="instance")),
])
@pytest.mark.slow  # 1.2 s on a 2-core EPYC: the full suite only
def test_key_sets_equal_the_reference(name, arch):
    assert our_keys(nets.from_arch(arch)) == ref_keys(name)


def test_shapes_for_unet_128_and_256_and_patchgan():
    with torch.no_grad():
        g = nets.build("unet", size=128, ngf=8).eval()
        assert g(torch.zeros(2, 3, 128, 256)).shape == (2, 3, 128, 256)
        d = nets.build("patchgan", in_channels=6, ndf=8)
        assert d(torch.zeros(1, 6, 256, 256)).shape == (1, 1, 30, 30)
        g256 = nets.build("unet", size=256, ngf=4).eval()
        y = g256(torch.zeros(1, 3, 256, 256))
        assert y.shape == (1, 3, 256, 256) and y.abs().max() <= 1


@pytest.mark.slow  # 1.4 s on a 2-core EPYC: the full suite only
def test_training_on_synthetic_pairs_logs_validation_and_l1_goes_down(cli, tmp_path):
    res = cli("train", "pix2pix", "--json", "--steps", "24", "--set", "batch_size=4", "seed=0",
              "lr=1e-3", *TINY[1:])
    assert res.code == 0, res.err
    run = tmp_path / json.loads(res.out)["run"]
    rows = [json.loads(x) for x in (run / "stats.jsonl").read_text().splitlines()]
    losses = [r for r in rows if "loss_g_l1" in r]
    assert {"loss_g_gan", "loss_d_real", "loss_d_fake", "lr_g"} <= set(losses[0])
    assert losses[-1]["loss_g_l1"] < losses[0]["loss_g_l1"]
    vals = [r for r in rows if "val_psnr" in r]
    assert vals and {"val_l1", "val_ssim"} <= set(vals[0])
    grid = Image.open(sorted((run / "samples").iterdir())[-1])
    assert grid.width == 3 * 34 + 2  # input | output | target
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["config"]["lambda_l1"] == 100.0 and cfg["dataset"]["synthetic"]


def dry_config(cli, *args: str) -> dict:
    res = cli("train", *args, "--dry-run", "--json")
    assert res.code == 0, res.err
    return json.loads(res.out)["config"]


def test_a_cpu_gets_the_cpu_recipe_and_the_users_own_keys_win(cli):
    from ganctl.plugins.pix2pix import CPU_RECIPE, Pix2PixConfig

    cpu = dry_config(cli, "edges2shoes", "--device", "cpu")
    assert cpu["recipe"] == "cpu" and {k: cpu[k] for k in CPU_RECIPE} == CPU_RECIPE
    mine = dry_config(cli, "edges2shoes", "--device", "cpu", "--set", "ngf=16 crop_size=96",
                      "net_g=unet_32")
    assert (mine["ngf"], mine["crop_size"], mine["net_g"], mine["ndf"]) == (16, 96, "unet_32", 32)
    paper = dry_config(cli, "edges2shoes", "--device", "cpu", "--set", "recipe=paper")
    assert (paper["recipe"], paper["net_g"], paper["ngf"], paper["load_size"],
            paper["crop_size"], paper["workers"]) == ("paper", "unet_256", 64, 286, 256, 4)
    # A GPU (not on this machine) gets the paper's recipe unless asked otherwise.
    assert Pix2PixConfig.device_defaults("cuda", {}) == {"recipe": "paper"}
    assert Pix2PixConfig.device_defaults("cuda", {"recipe": "cpu", "ngf": 8}) == \
        {"recipe": "cpu", **{k: v for k, v in CPU_RECIPE.items() if k != "ngf"}}


def test_facades_on_a_cpu_weighs_l1_more_unless_told(cli):
    assert dry_config(cli, "facades", "--device", "cpu")["lambda_l1"] == 500
    assert dry_config(cli, "facades", "--device", "cpu", "--set", "lambda_l1=50")["lambda_l1"] == 50
    assert dry_config(cli, "facades", "--device", "cpu", "--set",
                      "recipe=paper")["lambda_l1"] == 100
    assert dry_config(cli, "edges2shoes", "--device", "cpu")["lambda_l1"] == 100


def test_facades_translates_labels_to_photos_by_default(cli):
    from ganctl.weights.published import PUBLISHED

    assert dry_config(cli, "facades")["direction"] == "BtoA"
    assert dry_config(cli, "edges2shoes")["direction"] == "AtoB"
    assert PUBLISHED["facades"].direction == "BtoA"  # facades_label2photo


@pytest.mark.slow  # 1.4 s on a 2-core EPYC: the full suite only
def test_a_cpu_recipe_run_resumes_with_its_own_recipe(cli, tmp_path):
    args = ["train", "pix2pix", "--device", "cpu", "--json", "--set", "crop_size=32",
            "net_g=unet_32", "load_size=40", "val_images=0", "sample_every=4"]
    assert cli(*args, "--steps", "2").code == 0
    res = cli(*args, "--steps", "4", "--resume", "auto")
    assert res.code == 0, res.err
    cfg = json.loads((tmp_path / json.loads(res.out)["run"] / "config.json").read_text())
    assert cfg["config"]["recipe"] == "cpu" and cfg["config"]["ngf"] == 32
    assert cli(*args, "--steps", "6", "--resume", "auto", "--set", "recipe=paper").code != 0


def test_lr_schedule_is_constant_then_linear():
    from ganctl.kit.schedules import LinearDecay

    f = LinearDecay(100, 100)
    assert [f(e) for e in (0, 98, 99, 100, 149, 199)] == [1.0, 1.0, 1.0 - 0 / 101,
                                                          1 - 1 / 101, 1 - 50 / 101, 1 - 100 / 101]
    # A --minutes run outlasting the schedule trains on at rate 0, never a negative one
    # (it did: an edges2shoes run past 200 epochs turned its shoes into white blobs).
    assert [f(e) for e in (200, 201, 1000)] == [0.0, 0.0, 0.0]


@pytest.mark.slow  # 1.4 s on a 2-core EPYC: the full suite only
def test_a_run_past_its_schedule_trains_on_at_rate_zero_and_says_so(cli, tmp_path):
    res = cli("train", "pix2pix", "--json", "--steps", "16", *TINY, "batch_size=16",
              "n_epochs=1", "n_epochs_decay=1", "log_every=1")
    assert res.code == 0, res.err
    assert res.err.count("the learning-rate schedule ended with epoch 2") == 1
    rows = [json.loads(x) for x in (tmp_path / json.loads(res.out)["run"] / "stats.jsonl")
            .read_text().splitlines() if "lr_g" in x]
    rates = [r["lr_g"] for r in rows]
    assert rates[0] > 0 and rates[-1] == 0 and min(rates) == 0


def test_ema_is_refused_where_no_net_is_averaged(cli):
    res = cli("train", "pix2pix", "--steps", "1", *TINY, "ema=0.99")
    assert res.code == 2 and "pix2pix keeps no moving average of its nets" in res.err
    assert "Traceback" not in res.err


def test_overlapping_train_and_val_warns(cli, tmp_path):
    synthetic.write_edges2shoes(tmp_path / "d", n_train=4, n_val=2, size=32)
    (tmp_path / "d" / "val" / "0_AB.jpg").write_bytes(
        (tmp_path / "d" / "train" / "1_AB.jpg").read_bytes())
    res = cli("train", "pix2pix", "--data", str(tmp_path / "d"), "--steps", "1", "--no-publish",
              *TINY)
    assert res.code == 0, res.err
    assert "validation file(s) also in the training split" in res.err


@pytest.fixture
def trained(cli, tmp_path):
    res = cli("train", "edges2shoes", "--data", "synthetic", "--json", "--steps", "2",
              "--publish", "always", *TINY)
    assert res.code == 0, res.err
    return json.loads(res.out)


def sketch(size) -> Image.Image:
    img = Image.new("RGB", size, "white")
    ImageDraw.Draw(img).ellipse([5, 5, size[0] - 5, size[1] - 5], outline="black", width=2)
    return img


@pytest.mark.parametrize("size,mode", [((50, 30), "RGB"), ((33, 77), "L"), ((64, 64), "RGBA")])
@pytest.mark.slow  # 1.0 s on a 2-core EPYC: the full suite only
def test_translate_keeps_size_and_aspect(cli, trained, tmp_path, size, mode):
    sketch(size).convert(mode).save(tmp_path / "in.png")
    res = cli("translate", "edges2shoes", "in.png", "-o", "out.png")
    assert res.code == 0, res.err
    out = Image.open(tmp_path / "out.png")
    assert out.size == size and out.mode == "RGB"
    res = cli("translate", "edges2shoes", "in.png", "-o", "forced.png", "--size", "32")
    assert Image.open(tmp_path / "forced.png").size == (32, 32)


def test_translate_batch_and_json_and_bad_input(cli, trained, tmp_path):
    (tmp_path / "ins").mkdir()
    for i in range(3):
        sketch((40 + i, 40)).save(tmp_path / "ins" / f"{i}.png")
    (tmp_path / "ins" / "bad.jpg").write_bytes(b"\xff\xd8\xff garbage")
    res = cli("translate", "edges2shoes", "ins", "--json")
    assert res.code == 1
    doc = json.loads(res.out)
    assert (doc["processed"], doc["failed"]) == (3, 1)
    assert sorted(p.name for p in (tmp_path / "edges2shoes").iterdir()) == [
        "0-edges2shoes.png", "1-edges2shoes.png", "2-edges2shoes.png"]


def test_pretrained_download_and_import(cli, home, tmp_path, published_host):
    # a reference-format state_dict (bare, U-Net layout) served as the published file
    g = nets.build("unet", size=32, ngf=4)
    torch.save(g.state_dict(), tmp_path / "edges2shoes.pth")
    server = published_host
    server.add("/edges2shoes.pth", (tmp_path / "edges2shoes.pth").read_bytes())
    sketch((40, 30)).save(tmp_path / "e.png")
    res = cli("translate", "edges2shoes", "e.png", "-o", "s.png", "--weights", "pretrained")
    assert res.code == 0, res.err
    assert Image.open(tmp_path / "s.png").size == (40, 30)
    assert (home / "weights" / "edges2shoes" / "pretrained-edges2shoes.pt").is_file()
    res = cli("translate", "edges2shoes", "e.png", "-o", "s2.png", "--weights", "pretrained")
    assert res.code == 0 and server.count("/edges2shoes.pth") == 1  # cached
    res = cli("models", "import", str(tmp_path / "edges2shoes.pth"), "--as", "edges2shoes")
    assert res.code == 0, res.err
    assert "unet" in res.err and "'size': 32" in res.err
    assert cli("translate", "edges2shoes", "e.png", "-o", "s3.png").code == 0


class Evil:
    """Any class: unpickling it would need code from this module."""


def test_import_refuses_wrong_keys_and_pickles(cli, tmp_path):
    sd = nets.build("unet", size=32, ngf=4).state_dict()
    sd.pop("model.model.0.weight")
    sd["model.model.0.wrong"] = torch.zeros(1)
    torch.save(sd, tmp_path / "bad.pth")
    res = cli("models", "import", str(tmp_path / "bad.pth"), "--as", "edges2shoes")
    assert res.code == 1 and "not a reference pix2pix/CycleGAN generator" in res.err
    sd = nets.build("unet", size=32, ngf=4).state_dict()
    sd["model.model.1.extra"] = torch.zeros(1)
    torch.save(sd, tmp_path / "extra.pth")
    with pytest.raises(GanctlError, match="1 unexpected"):
        reference.load_reference(tmp_path / "extra.pth")
    torch.save({"net": Evil()}, tmp_path / "pickle.pth")
    res = cli("models", "import", str(tmp_path / "pickle.pth"), "--as", "edges2shoes")
    assert res.code == 1 and "refusing to load" in res.err and "never code" in res.err
    assert "tests.test_pix2pix.Evil" in res.err  # the offending global, named
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            import os
            return (os.system, (f"touch {marker}",))

    torch.save({"model.model.0.weight": Payload()}, tmp_path / "evil.pth")
    res = cli("models", "import", str(tmp_path / "evil.pth"), "--as", "edges2shoes")
    assert res.code == 1 and "refusing to load" in res.err and not marker.exists()
    assert "system" in res.err
