"""Upscalers beyond ganctl's own: the ESRGAN family (its nets checked against spandrel's
independent implementation, its published files fetched once from a local server) and
community files of other architectures through spandrel."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json

import pytest
import torch
from PIL import Image

from ganctl.nets import esrgan

spandrel = pytest.importorskip("spandrel")


def random_state(net: torch.nn.Module, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {k: torch.randn(v.shape, generator=g) * 0.05 for k, v in net.state_dict().items()}


@pytest.mark.parametrize("make", [
    lambda: esrgan.RRDBNet(num_block=2, num_feat=16),
    lambda: esrgan.RRDBNet(scale=2, num_block=1, num_feat=16),
    lambda: esrgan.SRVGGNetCompact(num_feat=16, num_conv=3),
], ids=["rrdb-x4", "rrdb-x2", "srvgg-x4"])
def test_esrgan_nets_equal_spandrels_on_the_published_layout(make):
    """Random weights in the published (BasicSR) key layout: spandrel recognises the layout
    and its independent implementation gives ganctl's outputs to 1e-5."""
    net = make()
    sd = random_state(net)
    net.load_state_dict(sd)
    theirs = spandrel.ModelLoader().load_from_state_dict(sd)
    x = torch.rand(2, 3, 20, 24)
    with torch.no_grad():
        ours = net.forward_unit(x)
        ref = theirs.model(x)
        assert torch.allclose(ours, ref, atol=1e-5)
        assert torch.allclose(net(x * 2 - 1), ref * 2 - 1, atol=1e-5)  # ganctl's [-1, 1] face
    assert theirs.scale == net.scale and ours.shape[-1] == 24 * net.scale


@pytest.fixture
def upscaler_host(monkeypatch):
    """A local server standing in for Real-ESRGAN's release host, each record shrunk to a
    net small enough to build in a test (same layout, fewer blocks)."""
    from ganctl.weights import upscalers
    from tests.httpserver import Server

    monkeypatch.delenv("GANCTL_OFFLINE", raising=False)
    server = Server()
    small = {"rrdb_g": {"num_feat": 16, "num_block": 1}, "srvgg_g": {"num_feat": 16,
                                                                     "num_conv": 2}}
    moved = {n: dataclasses.replace(r, url=f"{server.url}/{r.filename}",
                                    kwargs={**r.kwargs, **small[r.net]})
             for n, r in upscalers.UPSCALERS.items()}
    monkeypatch.setattr(upscalers, "UPSCALERS", moved)
    yield server, moved
    server.close()


def served(record, key: str, seed: int = 0) -> bytes:
    from ganctl import nets

    buf = io.BytesIO()
    torch.save({key: random_state(nets.build(record.net, **record.kwargs), seed)}, buf)
    return buf.getvalue()


def test_model_name_fetches_a_published_upscaler_once_and_runs_it(cli, home, tmp_path,
                                                                  upscaler_host):
    server, records = upscaler_host
    rec = records["realesrgan-x4plus"]
    body = served(rec, "params_ema")
    server.add("/" + rec.filename, body)
    Image.new("RGB", (30, 20), (90, 140, 60)).save(tmp_path / "in.png")
    res = cli("upscale", "in.png", "--model", "realesrgan-x4plus", "-o", "a.png", "--json")
    assert res.code == 0, res.err
    assert "downloading the published upscaler realesrgan-x4plus" in res.err
    assert Image.open(tmp_path / "a.png").size == (120, 80)
    w = json.loads(res.out)["weights"]
    assert w["kind"] == "published" and w["name"] == "realesrgan-x4plus"
    lock = json.loads((home / "weights" / "pretrained.lock.json").read_text())
    assert lock[rec.url]["sha256"] == hashlib.sha256(body).hexdigest()
    # the second use runs from the cache, and gives the same pixels
    res = cli("upscale", "in.png", "-n", "realesrgan-x4plus", "-o", "b.png")
    assert res.code == 0 and server.count("/" + rec.filename) == 1
    assert Image.open(tmp_path / "a.png").tobytes() == Image.open(tmp_path / "b.png").tobytes()


def test_published_compact_x4_under_params_and_a_changed_file_refused(cli, home, tmp_path,
                                                                     upscaler_host):
    server, records = upscaler_host
    rec = records["realesr-general-x4v3"]
    server.add("/" + rec.filename, served(rec, "params"))
    Image.new("RGB", (16, 12), (200, 40, 60)).save(tmp_path / "in.png")
    assert cli("upscale", "in.png", "--model", rec.name, "-o", "a.png").code == 0
    assert Image.open(tmp_path / "a.png").size == (64, 48)
    (home / "weights" / "upscalers" / f"{rec.name}.pt").unlink()
    server.routes["/" + rec.filename] = ("ok", served(rec, "params", seed=1))
    res = cli("upscale", "in.png", "--model", rec.name, "-o", "b.png")
    assert res.code == 1 and "SHA-256" in res.err and "Traceback" not in res.err


def test_published_upscaler_offline_and_misuse_are_one_line_errors(cli, tmp_path):
    Image.new("RGB", (16, 12)).save(tmp_path / "in.png")
    res = cli("upscale", "in.png", "--model", "realesrgan-x4plus", "-o", "a.png")
    assert res.code == 1 and "offline" in res.err and "realesrgan-x4plus" in res.err
    assert len(res.err.strip().splitlines()) == 1 and not (tmp_path / "a.png").exists()
    res = cli("upscale", "in.png", "--model", "photo-x4", "--weights", "x.pt")
    assert res.code == 2 and "pass one" in res.err


def test_bundled_upscaler_by_name(cli, tmp_path):
    Image.new("RGB", (16, 12), (10, 200, 30)).save(tmp_path / "in.png")
    res = cli("upscale", "in.png", "--model", "photo-x4", "-o", "a.png", "--json")
    assert res.code == 0 and json.loads(res.out)["weights"]["kind"] == "bundled"
    assert Image.open(tmp_path / "a.png").size == (64, 48)


def test_available_lists_the_published_upscalers_with_licences(cli):
    rows = json.loads(cli("models", "list", "--available", "--json").out)
    ups = {r["name"]: r for r in rows if r.get("task") == "upscale"}
    assert {"realesrgan-x4plus", "realesrnet-x4plus", "realesr-general-x4v3"} <= set(ups)
    assert all(r["licence"].startswith("BSD-3-Clause") and r["size_mb"] > 1 and
               r["here"] is False for r in ups.values())
    table = cli("models", "list", "--available").out
    assert "realesr-general-x4v3" in table and "BSD-3-Clause" in table


def test_community_esrgan_files_load_without_spandrel(cli, tmp_path, monkeypatch):
    """Real-ESRGAN layouts (.pth under params_ema, bare .safetensors) load into ganctl's own
    nets, and the output equals spandrel's run of the same file."""
    from safetensors.torch import save_file

    rrdb = esrgan.RRDBNet(num_block=1, num_feat=16)
    sd = random_state(rrdb, 3)
    torch.save({"params_ema": sd}, tmp_path / "4x-esrgan.pth")
    save_file(random_state(esrgan.SRVGGNetCompact(num_feat=16, num_conv=2)),
              tmp_path / "4x-compact.safetensors")
    Image.new("RGB", (20, 14), (120, 60, 30)).save(tmp_path / "in.png")
    monkeypatch.setitem(__import__("sys").modules, "spandrel", None)  # not installed
    res = cli("upscale", "in.png", "--weights", "4x-esrgan.pth", "-o", "a.png", "--json")
    assert res.code == 0, res.err
    w = json.loads(res.out)["weights"]
    assert w["loader"] == "ganctl" and w["scale"] == 4 and w["arch"].startswith("RRDBNet")
    assert cli("upscale", "in.png", "--weights", "4x-compact.safetensors", "-o",
               "b.png").code == 0
    assert Image.open(tmp_path / "b.png").size == (80, 56)
    monkeypatch.undo()
    rrdb.load_state_dict(sd)
    x = torch.from_numpy(__import__("numpy").asarray(Image.open(tmp_path / "in.png")).copy())
    x = x.permute(2, 0, 1)[None].float() / 255
    with torch.no_grad():
        ref = spandrel.ModelLoader().load_from_state_dict(sd).model(x).clamp(0, 1)
    ours = torch.from_numpy(__import__("numpy").asarray(Image.open(tmp_path / "a.png")).copy())
    assert (ours.permute(2, 0, 1).float() - ref[0] * 255).abs().max() <= 1.0  # 8-bit rounding


def test_community_files_of_other_architectures_go_through_spandrel(cli, tmp_path):
    from spandrel.architectures.SPAN import SPAN
    from spandrel.architectures.SwinIR import SwinIR

    torch.manual_seed(0)
    swinir = SwinIR(upscale=2, img_size=16, window_size=4, embed_dim=12, depths=[1],
                    num_heads=[2], mlp_ratio=2, upsampler="pixelshuffle",
                    resi_connection="1conv")
    torch.save({"params": swinir.state_dict()}, tmp_path / "2x-swinir.pth")
    torch.save(SPAN(num_in_ch=3, num_out_ch=3, feature_channels=8, upscale=3).state_dict(),
               tmp_path / "3x-span.pth")
    Image.new("RGB", (30, 22), (20, 90, 160)).save(tmp_path / "in.png")
    for name, scale in (("2x-swinir.pth", 2), ("3x-span.pth", 3)):
        res = cli("upscale", "in.png", "--weights", name, "-o", f"{name}.png", "--json")
        assert res.code == 0, res.err
        assert Image.open(tmp_path / f"{name}.png").size == (30 * scale, 22 * scale)
        w = json.loads(res.out)["weights"]
        assert w["loader"] == "spandrel" and w["scale"] == scale
        assert "warning" not in res.err.lower()


def test_unknown_or_unsafe_community_files_are_refused_in_one_line(cli, tmp_path):
    import collections

    torch.save({"foo.weight": torch.zeros(3, 3)}, tmp_path / "odd.pth")
    torch.save(collections.OrderedDict(a=1, evil=print), tmp_path / "evil.pth")
    Image.new("RGB", (16, 12)).save(tmp_path / "in.png")
    res = cli("upscale", "in.png", "--weights", "odd.pth", "-o", "a.png")
    assert res.code == 1 and "unknown upscaler layout" in res.err and "foo.weight" in res.err
    assert len(res.err.strip().splitlines()) == 1
    res = cli("upscale", "in.png", "--weights", "evil.pth", "-o", "b.png")
    assert res.code == 1 and "Traceback" not in res.err
    assert not (tmp_path / "a.png").exists() and not (tmp_path / "b.png").exists()


def test_compact_net_tiles_equal_one_pass():
    """SRVGGNetCompact's context is its whole reach: tiled output equals one pass."""
    from ganctl.infer.upscale import run_tiled

    net = esrgan.SRVGGNetCompact(num_feat=8, num_conv=3)
    net.load_state_dict(random_state(net, 5))
    x = torch.rand(1, 3, 37, 29) * 2 - 1
    with torch.no_grad():
        whole = run_tiled(net, x, 4, 0, 0, torch.device("cpu"))
        tiled = run_tiled(net, x, 4, 12, net.receptive_radius, torch.device("cpu"))
    assert torch.allclose(whole, tiled, atol=1e-5)


@pytest.mark.slow  # a training run: the full suite only
def test_rrdb_trains_with_the_esrgan_recipe_into_the_published_layout(cli, tmp_path):
    """arch=rrdb: L1 warm-up, then the relativistic GAN; the weights' keys are the published
    layout, so spandrel reads them as ESRGAN and the CLI upscales with them."""
    from ganctl import weights

    res = cli("train", "sneakers", "--stage", "2", "--data", "synthetic", "--steps", "4",
              "--json", "--publish", "never", "--set", "arch=rrdb", "n_blocks=1", "width=8",
              "warmup_steps=2", "log_every=1", "batch_size=4", "crop=32", "hr_size=32")
    assert res.code == 0, res.err
    doc = json.loads(res.out)
    rows = [json.loads(x) for x in (tmp_path / doc["run"] / "stats.jsonl").read_text()
            .splitlines()]
    steps = {r["step"]: r for r in rows if "loss_g" in r}
    assert "loss_d" not in steps[2] and "loss_adv" in steps[3] and "loss_d" in steps[4]
    sd = weights.open_file(doc["weights"]).nets["g"]
    assert spandrel.ModelLoader().load_from_state_dict(sd).architecture.name == "ESRGAN"
    Image.new("RGB", (12, 10)).save(tmp_path / "in.png")
    res = cli("upscale", "in.png", "--weights", doc["weights"], "-o", "o.png")
    assert res.code == 0 and Image.open(tmp_path / "o.png").size == (48, 40)


def photo_folder(root, n=3, size=(52, 40)):
    import numpy as np

    root.mkdir()
    g = np.random.default_rng(0)
    yy, xx = np.mgrid[:size[1], :size[0]]
    for i in range(n):
        base = np.stack([(xx * (3 + i)) % 255, (yy * 5) % 255, (xx + yy) * 2 % 255], -1)
        noise = g.integers(0, 40, base.shape)
        Image.fromarray(np.clip(base + noise, 0, 255).astype("uint8")).save(root / f"{i}.png")
    return root


def test_evaluate_upscale_scores_with_the_papers_protocol(cli, tmp_path):
    """Bicubic's PSNR-Y in the report equals one computed here with numpy from the same
    8-bit bicubic output (BT.601 luma, 4-px border shaved); the upscaler's row is there too;
    an unreadable file is reported and the rest still scored (exit 1)."""
    import numpy as np
    import torch.nn.functional as F

    hr_dir = photo_folder(tmp_path / "hr")
    res = cli("evaluate", "upscale", "--hr", "hr", "--json", "--csv", "s.csv")
    assert res.code == 0, res.err
    doc = json.loads(res.out)
    assert doc["images"] == 3 and doc["scale"] == 4 and doc["weights"]["kind"] == "bundled"
    hr = np.asarray(Image.open(hr_dir / "0.png")).astype(np.float64)
    x = torch.from_numpy(hr).permute(2, 0, 1)[None].float() / 127.5 - 1
    lr = F.interpolate(x, scale_factor=0.25, mode="bicubic", antialias=True).clamp(-1, 1)
    up = F.interpolate(lr, scale_factor=4, mode="bicubic").clamp(-1, 1)
    up8 = np.round((up[0].permute(1, 2, 0).numpy() + 1) / 2 * 255)

    def luma(a):
        return (16 + (65.481 * a[..., 0] + 128.553 * a[..., 1] + 24.966 * a[..., 2]) / 255)

    diff = (luma(up8) - luma(hr))[4:-4, 4:-4] / 255
    expect = 10 * np.log10(1 / np.mean(diff**2))
    row = doc["per_image"][0]
    assert row["image"] == "0.png" and abs(row["bicubic"]["psnr_y"] - expect) < 1e-3
    assert set(row["upscaler"]) == {"psnr_y", "ssim_y", "psnr_rgb", "ssim_rgb"}
    lines = (tmp_path / "s.csv").read_text().splitlines()
    assert lines[0].startswith("image,psnr_y,ssim_y") and len(lines) == 4
    (hr_dir / "broken.png").write_bytes(b"not a png")
    res = cli("evaluate", "upscale", "--hr", "hr")
    assert res.code == 1 and "broken.png" in res.err and "mean of 3" in res.out


def test_evaluate_options_belong_to_their_task(cli, tmp_path):
    res = cli("evaluate", "sneakers", "--hr", str(tmp_path))
    assert res.code == 2 and "--hr: only for `ganctl evaluate upscale`" in res.err
    res = cli("evaluate", "upscale", "--hr", str(tmp_path), "-n", "3")
    assert res.code == 2 and "-n: not for `evaluate upscale`" in res.err
    assert cli("evaluate", "upscale").code == 2
    res = cli("evaluate", "upscale", "--hr", str(tmp_path / "nope"))
    assert res.code == 2 and "no such folder" in res.err
