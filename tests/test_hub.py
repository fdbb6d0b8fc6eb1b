"""hf:// weights and `models push`, against a local server speaking the Hub endpoints
huggingface_hub calls (tests/hubserver.py), with huggingface_hub's own cache."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from PIL import Image

from tests.conftest import TINY
from tests.hubserver import Hub

hf = pytest.importorskip("huggingface_hub")
hf_constants = pytest.importorskip("huggingface_hub.constants")

RUNS = {"a": TINY["sneakers"],
        "b": ["--steps", "3", "--set", "batch_size=8", "width=8", "seed=1"]}


@pytest.fixture(scope="module")
def runs(tiny_runs) -> dict[str, Path]:
    # "b": a second, different set of sneakers weights (the "changed file")
    found = tiny_runs({"sneakers": RUNS["a"]})["sneakers"], tiny_runs({"sneakers": RUNS["b"]})
    return {"a": found[0], "b": found[1]["sneakers"]}


@pytest.fixture
def hub(tmp_path, monkeypatch):
    server = Hub()
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setattr(hf_constants, "HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("GANCTL_OFFLINE", raising=False)  # a local Hub server
    yield server
    server.close()


def safetensors_of(cli, weights: Path, tmp: Path) -> bytes:
    out = tmp / f"export-{weights.parent.name}-{len(list(tmp.iterdir()))}"
    assert cli("models", "export", weights, "-o", out).code == 0
    return (out / "model.safetensors").read_bytes()


def grid(cli, tmp: Path, weights: str, name: str) -> bytes:
    res = cli("sample", "sneakers", "--weights", weights, "--seeds", "0-3", "-o", tmp / name)
    assert res.code == 0, res.err
    return (tmp / name).read_bytes()


@pytest.mark.slow  # 1.2 s on a 2-core EPYC: the full suite only
def test_hf_weights_sample_like_the_file_and_import_records_sha(cli, hub, runs, tmp_path,
                                                                 home):
    import hashlib

    data = safetensors_of(cli, runs["a"], tmp_path)
    commit = hub.add("someone/sneakers", {"model.safetensors": data, "README.md": b"# hi"})
    assert grid(cli, tmp_path, "hf://someone/sneakers", "hub.png") == \
        grid(cli, tmp_path, str(runs["a"]), "file.png")
    res = cli("models", "import", "hf://someone/sneakers", "--json")
    assert res.code == 0, res.err
    source = json.loads(res.out)["source"]
    assert source == {"url": "hf://someone/sneakers", "commit": commit,
                      "sha256": hashlib.sha256(data).hexdigest()}
    sidecar = json.loads((home / "weights" / "sneakers" / "stage1.json").read_text())
    assert sidecar["source"]["sha256"] == hashlib.sha256(data).hexdigest()
    assert grid(cli, tmp_path, None or str(home / "weights" / "sneakers" / "stage1.pt"),
                "cached.png") == grid(cli, tmp_path, str(runs["a"]), "file2.png")


def test_revision_and_changed_file(cli, hub, runs, tmp_path):
    old = hub.add("someone/sneakers", {"model.safetensors": safetensors_of(cli, runs["a"],
                                                                          tmp_path)})
    first = grid(cli, tmp_path, "hf://someone/sneakers", "first.png")
    hub.add("someone/sneakers", {"model.safetensors": safetensors_of(cli, runs["b"], tmp_path)})
    changed = grid(cli, tmp_path, "hf://someone/sneakers", "changed.png")
    assert changed != first  # main moved: the new file, not the stale cached one
    assert changed == grid(cli, tmp_path, str(runs["b"]), "b.png")
    assert grid(cli, tmp_path, f"hf://someone/sneakers@{old}", "old.png") == first
    assert grid(cli, tmp_path, f"hf://someone/sneakers@{old}/model.safetensors",
                "old-file.png") == first


@pytest.mark.parametrize("spec,message", [
    ("hf://someone/sneakers/nope.safetensors", "has no file nope.safetensors"),
    ("hf://someone/absent", "no such Hub repository someone/absent"),
    ("hf://someone/sneakers@v9", "has no revision v9"),
    ("hf://someone", "a Hub address is hf://OWNER/REPO"),
])
@pytest.mark.slow  # 2.2 s on a 2-core EPYC: the full suite only
def test_missing_things_are_one_line(cli, hub, runs, tmp_path, spec, message):
    hub.add("someone/sneakers", {"model.safetensors": safetensors_of(cli, runs["a"], tmp_path)})
    res = cli("sample", "sneakers", "--weights", spec, "-n", "1", "-o", tmp_path / "x.png")
    assert res.code in (1, 2) and message in res.err, res.err
    assert len(res.err.strip().splitlines()) == 1 and "Traceback" not in res.err


def test_offline_mode_uses_the_cache_and_names_what_is_missing(cli, hub, runs, tmp_path,
                                                               monkeypatch):
    hub.add("someone/sneakers", {"model.safetensors": safetensors_of(cli, runs["a"], tmp_path)})
    online = grid(cli, tmp_path, "hf://someone/sneakers", "online.png")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    asked = len(hub.requests)
    assert grid(cli, tmp_path, "hf://someone/sneakers", "offline.png") == online
    assert len(hub.requests) == asked  # not one request
    res = cli("sample", "sneakers", "--weights", "hf://someone/other", "-n", "1")
    assert res.code == 1 and "not in the local Hub cache" in res.err
    assert "HF_HUB_OFFLINE is set" in res.err and len(hub.requests) == asked


def test_a_reference_pth_in_a_hub_repo_translates_like_the_local_file(cli, hub, tmp_path):
    from ganctl import nets

    torch.manual_seed(0)
    g = nets.build("unet", size=32, ngf=4)
    torch.save(g.state_dict(), tmp_path / "latest_net_G.pth")
    hub.add("someone/e2s", {"latest_net_G.pth": (tmp_path / "latest_net_G.pth").read_bytes(),
                            "README.md": b"reference weights"})
    Image.new("RGB", (40, 30), "white").save(tmp_path / "e.png")
    outs = []
    for i, w in enumerate(("hf://someone/e2s", str(tmp_path / "latest_net_G.pth"))):
        res = cli("translate", "edges2shoes", tmp_path / "e.png", "--weights", w, "-o",
                  tmp_path / f"{i}.png")
        assert res.code == 0, res.err
        outs.append((tmp_path / f"{i}.png").read_bytes())
    assert outs[0] == outs[1]
    res = cli("models", "import", "hf://someone/e2s", "--as", "edges2shoes", "--json")
    assert res.code == 0, res.err
    assert json.loads(res.out)["source"]["url"] == "hf://someone/e2s"


def test_push_uploads_exactly_the_hub_folder(cli, hub, runs, tmp_path, monkeypatch):
    res = cli("models", "push", runs["a"], "someone/pushed")
    assert res.code == 1 and "needs a token" in res.err and "hf auth login" in res.err
    assert not hub.requests  # nothing was sent without a token
    monkeypatch.setenv("HF_TOKEN", "hf_test_token")
    res = cli("models", "push", runs["a"], "someone/pushed", "--private")
    assert res.code == 0, res.err
    made = hub.created[-1]  # huggingface_hub versions say "private" or "visibility"
    assert made["name"] == "pushed" and made["organization"] == "someone"
    assert made.get("private") is True or made.get("visibility") == "private", made
    assert len(hub.cards) == 1  # the card's front matter passed the Hub's YAML check
    assert all(t == "Bearer hf_test_token" for t in hub.tokens if t is not None)
    commit = hub.refs["someone/pushed"]["main"]
    pushed = hub.repos["someone/pushed"][commit]
    out = tmp_path / "folder"
    assert cli("models", "export", runs["a"], "--format", "hub", "-o", out).code == 0
    assert sorted(pushed) == sorted(p.name for p in out.iterdir())
    for name in ("model.safetensors", "config.json", "samples.png"):
        assert pushed[name] == (out / name).read_bytes(), name
    # the card names the repository it was pushed to
    assert pushed["README.md"].decode() == (out / "README.md").read_text().replace(
        "OWNER/REPO", "someone/pushed")
    assert grid(cli, tmp_path, "hf://someone/pushed", "pushed.png") == \
        grid(cli, tmp_path, str(runs["a"]), "local.png")


def test_a_missing_extra_names_the_pip_command(cli, runs, tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "huggingface_hub", None)
    res = cli("sample", "sneakers", "--weights", "hf://someone/x", "-n", "1")
    assert res.code == 1 and "pip install 'ganctl[hub]'" in res.err
    monkeypatch.setitem(sys.modules, "onnx", None)
    res = cli("models", "export", runs["a"], "--format", "onnx", "-o", tmp_path / "m.onnx")
    assert res.code == 1 and "pip install 'ganctl[onnx]'" in res.err
