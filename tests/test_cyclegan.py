"""CycleGAN: reference layout, pool, schedule, loss wiring, training, both directions."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from ganctl import nets
from ganctl.config import build
from ganctl.plugins.cyclegan import CycleGANConfig, CycleGANRecipe, ImagePool
from ganctl.weights import reference
from tests.test_pix2pix import our_keys, ref_keys

TINY = ["--set", "image_size=32", "n_blocks=1", "ngf=4", "ndf=4", "workers=0", "log_every=2",
        "sample_every=4", "checkpoint_every=4", "pool_size=4"]


@pytest.mark.parametrize("name,arch", [
    ("cyclegan_resnet_9blocks", nets.arch("resnet_generator", n_blocks=9)),
    ("cyclegan_resnet_6blocks", nets.arch("resnet_generator", n_blocks=6)),
    ("resnet_9blocks_instance_use_dropout_TRUE",
     nets.arch("resnet_generator", n_blocks=9, dropout=True)),
    ("cyclegan_D_basic_instance_in3", nets.arch("patchgan", in_channels=3, norm="instance")),
])
def test_key_sets_equal_the_reference(name, arch):
    assert our_keys(nets.from_arch(arch)) == ref_keys(name)


def test_legacy_instance_norm_checkpoint_loads(tmp_path):
    """2018-era checkpoints carry InstanceNorm running stats; like the reference loader,
    ganctl drops them and then loads with the exact key set."""
    g = nets.build("resnet_generator", n_blocks=2, ngf=4)
    legacy = nets.build("resnet_generator", n_blocks=2, ngf=4)
    for m in legacy.modules():
        if isinstance(m, torch.nn.InstanceNorm2d):
            m.track_running_stats = True
            m.register_buffer("running_mean", torch.zeros(m.num_features))
            m.register_buffer("running_var", torch.ones(m.num_features))
            m.register_buffer("num_batches_tracked", torch.tensor(0))
    sd = legacy.state_dict()
    assert len(sd) > len(g.state_dict())
    torch.save(sd, tmp_path / "old.pth")
    net, arch = reference.load_reference(tmp_path / "old.pth")
    assert arch["kwargs"]["n_blocks"] == 2 and arch["kwargs"]["norm"] == "instance"
    assert set(net.state_dict()) == set(g.state_dict())


def test_generator_sizes():
    g = nets.build("resnet_generator", n_blocks=1, ngf=4).eval()
    with torch.no_grad():
        assert g(torch.zeros(1, 3, 64, 96)).shape == (1, 3, 64, 96)
        assert g(torch.zeros(1, 3, 250, 250)).shape == (1, 3, 252, 252)  # why we pad to 4


def test_image_pool():
    torch.manual_seed(0)
    pool = ImagePool(3)
    first = torch.arange(3.0).view(3, 1, 1, 1)
    assert torch.equal(pool.query(first), first)  # filling: returns the new images
    returned = torch.cat([pool.query(torch.full((1, 1, 1, 1), 10.0 + i)) for i in range(200)])
    given = set(first.flatten().tolist())
    for i, r in enumerate(returned.flatten().tolist()):
        assert r == 10 + i or r in given  # the new image, or one the pool was given earlier
        given.add(10.0 + i)
    from_history = sum(1 for i, r in enumerate(returned.flatten().tolist()) if r != 10 + i)
    assert 70 < from_history < 130  # about half come from the history
    assert len(pool.state()) == 3
    fresh = first.clone().requires_grad_()
    assert torch.equal(ImagePool(0).query(fresh), first)
    assert not ImagePool(0).query(fresh).requires_grad  # D never backprops into G


class Shift(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c, self.p = c, torch.nn.Parameter(torch.zeros(()))

    def forward(self, x):
        return x + self.c + 0 * self.p


def test_cycle_and_identity_losses_use_the_right_pairs():
    cfg = build(CycleGANConfig, {"image_size": 32, "n_blocks": 1, "ngf": 2, "ndf": 2,
                                 "flip": False, "pool_size": 0})
    data = type("D", (), {})()
    data.info = type("I", (), {"count": 1})()
    data.val = type("V", (), {"tensors": (torch.zeros(1, 3, 32, 32, dtype=torch.uint8),) * 2})()
    recipe = CycleGANRecipe(cfg, data, torch.device("cpu"))
    recipe.nets["g_a"], recipe.nets["g_b"] = Shift(0.1), Shift(-0.3)
    recipe.optimizers["g"] = torch.optim.SGD(
        [recipe.nets["g_a"].p, recipe.nets["g_b"].p], lr=0.0)
    batch = (torch.full((1, 3, 32, 32), 100, dtype=torch.uint8),
             torch.full((1, 3, 32, 32), 200, dtype=torch.uint8))
    out = recipe.step(batch)
    lam, lam_idt = 10.0, 5.0
    assert out["loss_idt_a"].item() == pytest.approx(0.1 * lam_idt, abs=1e-5)  # G_A(real_B)
    assert out["loss_idt_b"].item() == pytest.approx(0.3 * lam_idt, abs=1e-5)  # G_B(real_A)
    assert out["loss_cycle_a"].item() == pytest.approx(0.2 * lam, abs=1e-5)
    assert out["loss_cycle_b"].item() == pytest.approx(0.2 * lam, abs=1e-5)


@pytest.mark.slow  # 1.4 s on a 2-core EPYC: the full suite only
def test_training_schedule_pool_state_and_both_directions(cli, tmp_path):
    res = cli("train", "horse2zebra", "--data", "synthetic", "--json", "--epochs", "3",
              "--publish", "always", "--set", "n_epochs=1", "n_epochs_decay=2", "lr=1e-3",
              *TINY[1:],
              "--set", "batch_size=32")
    assert res.code == 0, res.err
    doc = json.loads(res.out)
    run = tmp_path / doc["run"]
    rows = [json.loads(x) for x in (run / "stats.jsonl").read_text().splitlines()]
    assert {"loss_d_a", "loss_g_a", "loss_cycle_a", "loss_idt_a", "loss_d_b", "loss_g_b",
            "loss_cycle_b", "loss_idt_b"} <= set(rows[0])
    lr_by_epoch = {int(r["epoch"] + 0.999) - 1: r["lr_g"] for r in rows}
    assert lr_by_epoch[0] == pytest.approx(1e-3)  # epoch 0: constant
    assert lr_by_epoch[1] == pytest.approx(1e-3 * (1 - 1 / 3))  # then linear decay
    ckpt = torch.load(doc["checkpoint"], weights_only=True)
    assert len(ckpt["recipe"]["pool_a"]) == 4 and ckpt["schedulers"]["g"]["last_epoch"] == 3
    Image.new("RGB", (50, 30), (120, 70, 40)).save(tmp_path / "horse.png")
    for name in ("horse2zebra", "zebra2horse"):
        res = cli("translate", name, "horse.png", "-o", f"{name}.png")
        assert res.code == 0, res.err
        assert Image.open(tmp_path / f"{name}.png").size == (50, 30)
    a = Image.open(tmp_path / "horse2zebra.png").tobytes()
    assert a != Image.open(tmp_path / "zebra2horse.png").tobytes()
    res = cli("train", "zebra2horse", "--steps", "1")
    assert res.code == 2 and "train horse2zebra" in res.err


@pytest.mark.slow  # over 0.9 s: the full suite only (fast tier under 90 s)
def test_cycle_loss_goes_down_and_any_two_folders(cli, tmp_path):
    from ganctl.data import synthetic

    synthetic.write_unpaired(tmp_path / "u", n_train=8, n_test=1, size=32)
    res = cli("train", "cyclegan", "--data-a", str(tmp_path / "u" / "trainA"), "--data-b",
              str(tmp_path / "u" / "trainB"), "--json", "--steps", "30", "--no-publish",
              *TINY, "--set", "lr=2e-3", "log_every=10", "batch_size=4", "seed=0")
    assert res.code == 0, res.err
    run = tmp_path / json.loads(res.out)["run"]
    rows = [json.loads(x) for x in (run / "stats.jsonl").read_text().splitlines()]
    first, last = rows[0], rows[-1]
    assert last["loss_cycle_a"] + last["loss_cycle_b"] < first["loss_cycle_a"] + first[
        "loss_cycle_b"]
    assert cli("train", "cyclegan", "--data-a", "x").code == 2
    # the two folders are recorded with the run and read back on resume
    more = cli("train", "cyclegan", "--resume", "auto", "--steps", "31", "--json")
    assert more.code == 0 and json.loads(more.out)["step"] == 31
    moved = cli("train", "cyclegan", "--resume", "auto", "--steps", "32", "--data-a",
                str(tmp_path / "u" / "testA"), "--data-b", str(tmp_path / "u" / "testB"))
    assert moved.code == 2 and "cannot change --data when resuming" in moved.err
    other = cli("train", "sneakers", "--data-a", str(tmp_path / "u" / "trainA"), "--data-b",
                str(tmp_path / "u" / "trainB"), "--steps", "1")
    assert other.code == 2 and "--data-a/--data-b are for CycleGAN" in other.err


def test_a_cpu_gets_the_cpu_recipe_a_gpu_the_papers(cli):
    from ganctl.plugins.cyclegan import CPU_RECIPE
    from tests.test_pix2pix import dry_config

    cpu = dry_config(cli, "horse2zebra", "--device", "cpu")
    assert cpu["recipe"] == "cpu" and {k: cpu[k] for k in CPU_RECIPE} == CPU_RECIPE
    mine = dry_config(cli, "horse2zebra", "--device", "cpu", "--set", "image_size=256")
    assert (mine["image_size"], mine["ngf"]) == (256, 32)
    paper = dry_config(cli, "horse2zebra", "--device", "cpu", "--set", "recipe=paper")
    assert (paper["image_size"], paper["ngf"], paper["ndf"], paper["workers"], paper["upsample"]) \
        == (256, 64, 64, 4, "transpose")
    assert CycleGANConfig.device_defaults("cuda", {}) == {"recipe": "paper"}


def test_ema_averages_both_generators_and_they_are_published(cli, tmp_path):
    res = cli("train", "horse2zebra", "--data", "synthetic", "--json", "--steps", "3",
              *TINY, "--set", "ema=0.9")
    assert res.code == 0, res.err
    weights = torch.load(json.loads(res.out)["weights"], weights_only=True)
    assert weights["ema_nets"] == ["g_a", "g_b"]
    ckpt = torch.load(json.loads(res.out)["checkpoint"], weights_only=True)
    raw, avg = ckpt["nets"]["g_a"], weights["nets"]["g_a"]
    assert any(not torch.equal(raw[k], avg[k]) for k in raw)


def test_large_images_are_tiled_close_to_the_whole_image_result():
    from ganctl.infer import translate

    torch.manual_seed(0)
    g = nets.build("resnet_generator", n_blocks=1, ngf=4).eval()
    yy, xx = np.mgrid[0:90, 0:300]
    img = Image.fromarray(np.stack([128 + 100 * np.sin(xx / 23) * np.cos(yy / 17),
                                    128 + 90 * np.sin((xx + yy) / 31),
                                    128 + 80 * np.cos(xx / 11 - yy / 29)], -1).astype(np.uint8))

    def run(**kw):
        (out,) = translate.translate_images([img], g, torch.device("cpu"), multiple=4, **kw)
        return np.asarray(out, dtype=np.float64)

    def psnr(a, b):
        return 10 * np.log10(255 ** 2 / ((a - b) ** 2).mean())

    whole, tiled = run(tile=4096), run(tile=128, overlap=32)
    assert whole.shape == tiled.shape == (90, 300, 3)
    with pytest.MonkeyPatch.context() as mp:  # each tile with its own statistics
        mp.setattr(translate, "run_tiles", translate.blend_tiles)
        own = run(tile=128, overlap=32)
    # measured: 31.1 dB pooled, 25.7 dB with per-tile statistics
    assert psnr(tiled, whole) > 29 and psnr(tiled, whole) > psnr(own, whole) + 4




def test_pretrained_download_is_pinned_and_a_changed_file_is_refused(cli, home, tmp_path,
                                                                     published_host):
    """`--weights pretrained` against a local server: the reference-layout generator is
    fetched once, its SHA-256 pinned at first download; when the served file changes
    later, the new bytes are refused."""
    import io

    def served(seed):
        torch.manual_seed(seed)
        buf = io.BytesIO()
        torch.save(nets.build("resnet_generator", n_blocks=6, ngf=4).state_dict(), buf)
        return buf.getvalue()

    server = published_host
    url = server.add("/horse2zebra.pth", served(0))
    Image.new("RGB", (40, 30), (90, 140, 60)).save(tmp_path / "h.png")
    res = cli("translate", "horse2zebra", "h.png", "-o", "z.png", "--weights",
              "pretrained")
    assert res.code == 0, res.err
    assert Image.open(tmp_path / "z.png").size == (40, 30)
    lock = json.loads((home / "weights" / reference.LOCK).read_text())
    import hashlib

    assert lock[url]["sha256"] == hashlib.sha256(served(0)).hexdigest()
    assert cli("translate", "horse2zebra", "h.png", "-o", "z2.png", "--weights",
               "pretrained").code == 0
    assert server.count("/horse2zebra.pth") == 1  # the cached import is reused
    (home / "weights" / "horse2zebra" / "pretrained-horse2zebra.pt").unlink()
    server.routes["/horse2zebra.pth"] = ("ok", served(1))  # the file changed upstream
    res = cli("translate", "horse2zebra", "h.png", "-o", "z3.png", "--weights",
              "pretrained")
    assert res.code == 1 and "SHA-256" in res.err and "Traceback" not in res.err
    assert not (tmp_path / "z3.png").exists()



def test_resize_upsampling_leaves_no_checkerboard():
    """On a flat image the paper's 3x3 stride-2 transposed convs give every other pixel
    more taps (a checkerboard); nearest-x2-then-conv gives a flat output."""
    def phase_spread(upsample: str) -> float:
        torch.manual_seed(0)
        g = nets.build("resnet_generator", ngf=8, n_blocks=1, norm="batch",
                       upsample=upsample).eval()  # eval-mode batch norm: no per-image norm
        with torch.no_grad():
            y = g(torch.full((1, 3, 128, 128), 0.3))[..., 48:-48, 48:-48]  # far from borders
        phases = torch.stack([y[..., i::2, j::2].mean() for i in (0, 1) for j in (0, 1)])
        return float(phases.max() - phases.min())

    assert phase_spread("transpose") > 1e-5  # measured 1.8e-4
    assert phase_spread("resize") < 1e-7  # measured 0


def test_a_resize_generator_trains_and_translates(cli, tmp_path):
    res = cli("train", "cyclegan", "--data", "synthetic", "--steps", "2", "--json", "--publish",
              "never", "--set", "image_size=32", "n_blocks=1", "ngf=4", "ndf=4", "workers=0",
              "upsample=resize")
    assert res.code == 0, res.err
    doc = json.loads(res.out)
    run, arch = doc["run"], torch.load(doc["weights"], weights_only=True)["arch"]["g_a"]
    assert arch["kwargs"]["upsample"] == "resize"  # what translate builds
    Image.new("RGB", (40, 36), (90, 120, 60)).save(tmp_path / "in.png")
    res = cli("translate", "cyclegan", "in.png", "--weights", run, "-o", "out.png")
    assert res.code == 0, res.err
    assert Image.open(tmp_path / "out.png").size == (40, 36)
