"""First use on an empty GANCTL_HOME: bundled weights work offline, published weights are
fetched once (from a local server here), local weights win, and offline or failed
downloads end in one line that says how to get the file."""

from __future__ import annotations

import io
import json

import pytest
import torch
from PIL import Image

from ganctl import bundled, nets, published

BUNDLED = ("sneakers-stage1", "sneakers-stage2", "photo-x4")
needs_bundled = pytest.mark.skipif(any(bundled.path(n) is None for n in BUNDLED),
                                   reason="bundled weights not built (python bench/bundle.py)")


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
    assert all(s in lines[0] for s in ("horse2zebra.pth", f"{record.size_mb} MB",
                                        record.url, "pretrained-horse2zebra.pt"))
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
def test_a_failed_download_is_one_line_and_leaves_no_weights(cli, home, photo,
                                                             published_host, mode,
                                                             monkeypatch):
    import types

    import ganctl.data.download as download

    url = published_host.add("/zebra2horse.pth", cyclegan_file(), mode=mode)
    monkeypatch.setattr(download, "time", types.SimpleNamespace(sleep=lambda s: None))
    res = cli("translate", "zebra2horse", photo, "-o", "h.png")
    assert res.code == 1 and "Traceback" not in res.err
    (line,) = res.err.strip().splitlines()
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
    assert set(pub) == set(published.PUBLISHED)
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
    assert [bundled.path(n) for n in ("sneakers-stage1", "sneakers-stage2")] == \
        [bundled.HERE / p.split("/")[-1] for p in doc["weights"]]
    res = cli("models", "list", "sneakers")
    assert "bundled (sneakers-stage1)" in res.out and "bundled (sneakers-stage2)" in res.out
    assert no_weight_files(home)


@needs_bundled
def test_trained_weights_take_precedence_over_bundled(cli, home, tiny_runs):
    runs = tiny_runs({"sneakers": ["--steps", "2", "--set", "batch_size=8", "width=8"]})
    assert cli("models", "import", runs["sneakers"]).code == 0
    res = cli("sample", "sneakers", "-n", "4", "-o", "g.png", "--json")
    doc = json.loads(res.out)
    # the user's own generator, and no bundled stage 2 glued onto it
    assert doc["weights"] == [str(home / "weights" / "sneakers" / "stage1.pt")]
    assert doc["stages"] == [1]


def test_unknown_bundled_name_lists_what_ships(cli, tmp_path):
    Image.new("RGB", (8, 8)).save(tmp_path / "a.png")
    res = cli("upscale", "a.png", "--weights", "bundled:nope")
    assert res.code == 1
    assert "no such bundled weights" in res.err
    assert all(n in res.err for n in bundled.names())
