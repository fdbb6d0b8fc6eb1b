"""First use on an empty GANCTL_HOME: bundled weights work offline, published weights are
fetched once (from a local server here), local weights win, and offline or failed
downloads end in one line that says how to get the file."""

from __future__ import annotations

import io
import json

import pytest
import torch
from PIL import Image

from ganctl import nets
from ganctl.weights import bundled, published
from tests.conftest import TINY

BUNDLED = ("sneakers-stage1", "sneakers-stage2", "photo-x4")
needs_bundled = pytest.mark.skipif(any(bundled.path(n) is None for n in BUNDLED),
                                   reason="bundled weights not built (python -m tools.bundle)")


def cyclegan_file(seed: int = 0) -> bytes:
    torch.manual_seed(seed)
    buf = io.BytesIO()
    torch.save(nets.build("resnet_generator", n_blocks=6, ngf=4).state_dict(), buf)
    return buf.getvalue()


@pytest.fixture
def photo(tmp_path):
    Image.new("RGB", (40, 30), (90, 140, 60)).save(tmp_path / "img.jpg")
    return "img.jpg"


def no_weight_files(home) -> bool:
    root = home / "weights"
    return not root.exists() or not [p for p in root.rglob("*") if p.suffix in (".pt", ".pth",
                                                                                ".part")]


def test_translate_fetches_the_published_generator_once(cli, home, photo, published_host):
    server = published_host
    server.add("/horse2zebra.pth", cyclegan_file())
    res = cli("translate", "horse2zebra", photo, "-o", "z.png")
    assert res.code == 0, res.err
    record = published.get("horse2zebra")
    lines = [line for line in res.err.splitlines() if "downloading" in line]
    assert len(lines) == 1
    assert all(s in lines[0] for s in ("horse2zebra.pth", f"about {record.size_mb} MB",
                                        record.url, str(home)))
    assert Image.open("z.png").size == (40, 30)
    assert cli("translate", "horse2zebra", photo, "-o", "z2.png").code == 0
    assert server.count("/horse2zebra.pth") == 1
    assert open("z.png", "rb").read() == open("z2.png", "rb").read()
    # models export of the name also resolves to it, without downloading again
    assert cli("models", "export", "horse2zebra", "-o", "h2z.safetensors").code == 0
    assert server.count("/horse2zebra.pth") == 1


def test_local_weights_win_over_published(cli, photo, tmp_path, published_host):
    (tmp_path / "mine.pth").write_bytes(cyclegan_file(seed=5))
    assert cli("models", "import", "mine.pth", "--as", "horse2zebra").code == 0
    res = cli("translate", "horse2zebra", photo, "-o", "z.png", "--json")
    assert res.code == 0, res.err
    assert published_host.count("/horse2zebra.pth") == 0
    assert "downloading" not in res.err


@pytest.mark.parametrize("how", ["env", "flag"])
@pytest.mark.slow  # 1.0 s on a 2-core EPYC: the full suite only
def test_offline_names_the_file_and_how_to_import_it(cli, home, photo, published_host,
                                                     monkeypatch, how):
    published_host.add("/horse2zebra.pth", cyclegan_file())
    if how == "env":
        monkeypatch.setenv("GANCTL_OFFLINE", "1")
        res = cli("translate", "horse2zebra", photo)
    else:
        monkeypatch.delenv("GANCTL_OFFLINE", raising=False)
        res = cli("--offline", "translate", "horse2zebra", photo)
        monkeypatch.delenv("GANCTL_OFFLINE", raising=False)  # the flag sets it
    assert res.code == 1
    (line,) = res.err.strip().splitlines()
    assert "horse2zebra.pth" in line and "ganctl models import horse2zebra.pth" in line
    assert published.get("horse2zebra").url in line and "--weights" in line
    assert published_host.count("/horse2zebra.pth") == 0
    assert no_weight_files(home)


@pytest.mark.parametrize("mode", ["404", "html", "short"])
@pytest.mark.slow  # 1.7 s on a 2-core EPYC: the full suite only
def test_a_failed_download_is_one_line_and_leaves_no_weights(cli, home, photo,
                                                             published_host, mode,
                                                             monkeypatch):
    import types

    import ganctl.data.download as download

    url = published_host.add("/zebra2horse.pth", cyclegan_file(), mode=mode)
    monkeypatch.setattr(download, "time", types.SimpleNamespace(sleep=lambda s: None))
    res = cli("translate", "zebra2horse", photo, "-o", "h.png")
    assert res.code == 1 and "Traceback" not in res.err
    # the announcement of the download, then one error line
    (line,) = [ln for ln in res.err.splitlines() if ln.startswith("ganctl: error:")]
    assert res.err.strip().splitlines()[-1] == line
    assert url in line and "--weights" in line and "ganctl train horse2zebra" in line
    assert no_weight_files(home)
    assert not (home / "weights" / "zebra2horse").exists() or \
        not list((home / "weights" / "zebra2horse").iterdir())


def test_names_without_published_weights_still_say_train(cli, photo):
    res = cli("translate", "edges2handbags", photo)
    assert res.code == 1 and "ganctl train edges2handbags" in res.err
    res = cli("translate", "edges2handbags", photo, "--weights", "pretrained")
    assert res.code == 1 and "no published pretrained generator" in res.err


def test_models_list_available(cli):
    res = cli("models", "list", "--available", "--json")
    assert res.code == 0
    rows = json.loads(res.out)
    pub = {r["name"]: r for r in rows if r["kind"] == "published"}
    assert {n for n, r in pub.items() if r["task"] == "translate"} == set(published.PUBLISHED)
    assert pub["horse2zebra"]["url"].endswith("/horse2zebra.pth")
    assert all(r["licence"] and r["paper"] and r["here"] is False for r in pub.values())
    assert {r["name"] for r in rows if r["kind"] == "bundled"} == set(bundled.names())
    table = cli("models", "list").out
    line = next(ln for ln in table.splitlines() if ln.startswith(" horse2zebra"))
    assert "published" in line


@needs_bundled
def test_bundled_weights_work_offline_on_an_empty_home(cli, home, tmp_path, monkeypatch):
    monkeypatch.setenv("GANCTL_OFFLINE", "1")
    Image.new("RGB", (30, 20), (200, 60, 40)).save(tmp_path / "photo.png")
    res = cli("upscale", "photo.png", "-o", "big.png", "--json")
    assert res.code == 0, res.err
    assert Image.open("big.png").size == (120, 80)
    res = cli("sample", "sneakers", "-n", "16", "-o", "grid.png", "--json")
    assert res.code == 0, res.err
    doc = json.loads(res.out)
    assert doc["stages"] == [1, 2] and doc["size"] == [1, 112, 112]
    assert [w["path"] for w in doc["weights"]] == [str(bundled.path("sneakers-stage1")),
                                                   str(bundled.path("photo-x4"))]
    res = cli("models", "list", "sneakers")
    assert "bundled sneakers-stage1" in res.out and "bundled photo-x4" in res.out
    # the Fashion-MNIST stage 2 by name: 7 -> 28 px on a gray thumbnail
    Image.new("L", (7, 7), 200).save(tmp_path / "thumb.png")
    res = cli("upscale", "thumb.png", "-o", "t28.png", "--weights", "bundled:sneakers-stage2")
    assert res.code == 0, res.err
    assert Image.open("t28.png").size == (28, 28)
    assert no_weight_files(home)


@needs_bundled
def test_the_demo_opens_with_bundled_sneakers_and_a_sample_drawing(cli, tmp_path, monkeypatch):
    import numpy as np

    from ganctl import registry
    from ganctl.demo import handlers

    monkeypatch.setenv("GANCTL_OFFLINE", "1")
    h = handlers.Generation(registry.get("sneakers"))
    assert h.weights.is_bundled and h.refine is not None and h.refine.is_bundled
    grid = h.grid("0-15")
    assert cli("sample", "sneakers", "--seeds", "0-15", "-o", "cli.png").code == 0
    assert (np.asarray(grid.convert("RGB")) ==
            np.asarray(Image.open(tmp_path / "cli.png").convert("RGB"))).all()
    up = handlers.Upscaling(registry.get("sneakers"))
    assert up(Image.new("RGB", (12, 10))).size == (48, 40)
    sketch = handlers.sample_drawing()
    assert sketch.size == (256, 256) and sketch == handlers.sample_drawing()
    ink = np.asarray(sketch.convert("L")) < 128
    assert 0.01 < ink.mean() < 0.2  # strokes on white, like an edges2shoes edge map


@needs_bundled
def test_imported_weights_take_precedence_over_bundled(cli, home, tiny_runs):
    runs = tiny_runs({"sneakers": TINY["sneakers"]})
    assert cli("models", "import", runs["sneakers"]).code == 0
    res = cli("sample", "sneakers", "-n", "4", "-o", "g.png", "--json")
    doc = json.loads(res.out)
    # the user's own generator, and no bundled stage 2 glued onto it, as `models list` says
    assert [w["path"] for w in doc["weights"]] == [
        str(home / "weights" / "sneakers" / "stage1.pt")]
    assert doc["stages"] == [1]
    stage2 = json.loads(cli("models", "list", "sneakers", "--json").out)[0]["stages"][1]
    assert stage2["uses"]["kind"] == "bundled" and stage2["applied_by_sample"] is False
    assert "stops before it" in cli("models", "list", "sneakers").out


def test_unknown_bundled_name_lists_what_ships(cli, tmp_path):
    Image.new("RGB", (8, 8)).save(tmp_path / "a.png")
    res = cli("upscale", "a.png", "--weights", "bundled:nope")
    assert res.code == 1
    assert "no such bundled weights" in res.err
    assert all(n in res.err for n in bundled.names())


# ---- friction a new user met -------------------------------------------------------

def write_pairs(folder, n: int, size: int = 32) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        Image.new("RGB", (2 * size, size), (i * 7 % 255, 80, 160)).save(folder / f"{i:03d}_AB.jpg")


def test_a_folder_of_pairs_trains_and_says_what_validates(tmp_path, cli):
    from ganctl.data import layouts

    write_pairs(tmp_path / "e2s" / "train", 20)
    pairs = layouts.paired_folder(tmp_path / "e2s" / "train")  # no val/ beside it
    assert (len(pairs.train), len(pairs.val)) == (18, 2)
    assert not set(pairs.train) & set(pairs.val) and "held out" in pairs.val_from
    write_pairs(tmp_path / "e2s" / "val", 3)  # a sibling val/ is used when there is one
    pairs = layouts.paired_folder(tmp_path / "e2s" / "train")
    assert (len(pairs.train), len(pairs.val)) == (20, 3)
    assert str(tmp_path / "e2s" / "val") in pairs.val_from
    res = cli("train", "edges2shoes", "--data", tmp_path / "e2s" / "train", "--steps", "1",
              "--no-publish", "--set", "net_g=unet_32", "load_size=40", "crop_size=32",
              "ngf=4", "ndf=4", "workers=0")
    assert res.code == 0, res.err
    assert "20 training pairs; validation: 3 pairs in" in res.err


def test_train_name_help_says_what_its_data_may_be(cli):
    res = cli("train", "edges2shoes", "--help")
    assert res.code == 0 and "Data for edges2shoes (--data): A|B pairs" in res.out
    res = cli("train", "horse2zebra", "--help")
    assert "trainA/ and trainB/" in res.out
    res = cli("train", "--help")
    assert res.code == 0 and "Data for" not in res.out
    # the lr help of plugins without lr_d does not mention it
    res = cli("models", "inspect", "edges2shoes", "--json")
    assert "lr_d" not in json.loads(res.out)["stages"]["1"]["config"]["lr"]["help"]


def test_worker_cap_is_silent_unless_asked(cli, monkeypatch):
    from ganctl.data import batches

    monkeypatch.setattr(batches, "usable_cores", lambda: 1)
    args = ["train", "horse2zebra", "--data", "synthetic", "--steps", "1", "--no-publish",
            "--set", "image_size=32", "n_blocks=1", "ngf=4", "ndf=4"]
    res = cli(*args)
    assert res.code == 0 and "instead of" not in res.err  # the default 4, capped quietly
    res = cli(*args, "workers=3")
    assert "1 data loader worker(s) instead of 3" in res.err


@pytest.mark.slow  # 1.7 s on a 2-core EPYC: the full suite only
def test_published_weights_are_one_file_on_disk_and_sizes_are_said(cli, home):
    res = cli("train", "sneakers", "--data", "synthetic", "--steps", "3", "--keep-checkpoints",
              "1", "--publish", "always", "--set", "batch_size=8", "width=8",
              "checkpoint_every=1")
    assert res.code == 0, res.err
    line = res.err.strip().splitlines()[-1]
    assert "MB (last checkpoint" in line and "published as a link" in line
    run = next((home.parent / "runs" / "sneakers-stage1").iterdir())
    assert (run / "weights.pt").stat().st_ino == \
        (home / "weights" / "sneakers" / "stage1.pt").stat().st_ino
    assert len(list((run / "checkpoints").glob("*.pt"))) == 1  # --keep-checkpoints 1


@pytest.mark.slow  # 1.1 s on a 2-core EPYC: the full suite only
def test_one_input_into_a_folder_keeps_its_name_unless_that_overwrites_it(cli, tmp_path):
    res = cli("train", "sneakers", "--stage", "2", "--data", "synthetic", *TINY["sneakers2"][2:])
    assert res.code == 0, res.err
    Image.new("RGB", (10, 8)).save(tmp_path / "shoe.jpg")
    assert cli("upscale", "shoe.jpg", "-o", "big/").code == 0
    assert (tmp_path / "big" / "shoe.png").is_file()
    Image.new("RGB", (10, 8)).save(tmp_path / "big" / "pic.png")
    assert cli("upscale", "big/pic.png", "-o", "big/").code == 0
    assert Image.open(tmp_path / "big" / "pic.png").size == (10, 8)  # the input is intact
    assert Image.open(tmp_path / "big" / "pic-x4.png").size == (40, 32)


def test_models_inspect_prints_a_table(cli, home, tiny_runs):
    weights = tiny_runs({"sneakers": TINY["sneakers"]})["sneakers"]
    res = cli("models", "inspect", weights)
    assert res.code == 0
    rows = dict(line.split(None, 1) for line in res.out.splitlines()[1:] if line.strip())
    assert rows["plugin"].strip() == "sneakers" and rows["arch.g.name"].strip() == "dcgan_g"
    assert "{" not in res.out  # no Python dict repr
    res = cli("models", "inspect", "sneakers")
    assert "sneakers stage 2" in res.out and "warmup_steps" in res.out


def test_train_name_help_shows_the_device_dependent_defaults(cli):
    res = cli("train", "facades", "--help")
    assert res.code == 0
    assert "lambda_l1: 100.0 (500.0 on a CPU)" in res.out.replace("\n", " ")
    res = cli("train", "faces", "--help")
    assert "batch_size: 128 (32 on a CPU)" in res.out.replace("\n", " ")
    assert "depend on the device" not in cli("train", "leaks", "--help").out
