"""`ganctl evaluate`: provenance, reference-statistics cache, extractors."""

from __future__ import annotations

import json

import pytest
import torch

from ganctl.data import catalog, synthetic
from tests.conftest import FAST


def scripted_extractor(path):
    net = torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(4), torch.nn.Flatten())
    torch.jit.script(net).save(str(path))
    return path


@pytest.mark.slow  # over 0.9 s: the full suite only (fast tier under 90 s)
def test_evaluate_with_torchscript_extractor_and_cache(cli, tmp_path):
    assert cli("train", "sneakers", "--publish", "always", *FAST).code == 0
    ext = scripted_extractor(tmp_path / "ext.pt")
    args = ["evaluate", "sneakers", "--extractor", f"torchscript:{ext}@28", "-n", "40",
            "--json"]
    res = cli(*args)
    assert res.code == 0, res.err
    doc = json.loads(res.out)
    assert doc["fd"] >= 0 and "kid" in doc and doc["kid_subset_size"] == 40
    for key in ("extractor", "extractor_sha256", "resize", "extractor_input", "n_real",
                "n_fake", "fake_seeds", "real"):
        assert key in doc, key
    assert doc["reference_stats_cached"] is False and doc["real"] == "synthetic:sneakers"
    again = json.loads(cli(*args).out)
    assert again["reference_stats_cached"] is True and again["fd"] == doc["fd"]


@pytest.mark.slow
def test_evaluate_with_the_classifier_extractor(cli, tmp_path, monkeypatch):
    synthetic.write_fashion_mnist(tmp_path / "fm", n_train=600, n_test=100)
    monkeypatch.setattr(catalog, "locate", lambda name, root=None: tmp_path / "fm")
    assert cli("train", "sneakers", "--publish", "always", *FAST).code == 0
    res = cli("evaluate", "sneakers", "-n", "30", "--metric", "fd,pr", "--json")
    assert res.code == 0, res.err
    doc = json.loads(res.out)
    assert doc["extractor"].startswith("fashion-classifier") and "kid" not in doc
    assert 0 <= doc["precision"] <= 1 and 0 <= doc["recall"] <= 1
    assert doc["extractor_input"] == "28x28x1"


def test_evaluate_errors(cli):
    res = cli("evaluate", "sneakers", "--extractor", "inception")
    assert res.code == 1 and "pt_inception-2015-12-05-6726825d.pth" in res.err
    res = cli("evaluate", "sneakers", "--extractor", "inception-torchvision")
    assert res.code == 1 and "inception_v3_google-0cc3c7bd.pth" in res.err
    assert cli("evaluate", "sneakers", "--metric", "is").code == 2
    res = cli("evaluate", "edges2shoes")
    assert res.code == 2 and "evaluate scores generators" in res.err


@pytest.mark.slow  # over 0.9 s: the full suite only (fast tier under 90 s)
def test_fd_of_real_against_real_is_near_zero_and_fakes_score_worse(cli, tmp_path):
    from ganctl import config, registry
    from ganctl.metrics import evaluate as ev
    from ganctl.tensors import to_unit

    assert cli("train", "sneakers", "--publish", "always", *FAST).code == 0  # 6 steps: poor fakes
    spec = f"torchscript:{scripted_extractor(tmp_path / 'ext.pt')}@28"
    res = cli("evaluate", "sneakers", "--extractor", spec, "-n", "200", "--json")
    assert res.code == 0, res.err
    fakes_fd = json.loads(res.out)["fd"]
    plugin = registry.get("sneakers")
    real = to_unit(plugin.load_data(config.build(plugin.config_class(1), {}), "synthetic",
                                    1).train.tensors[0])  # as evaluate reads it
    ext = ev.extractor(spec, torch.device("cpu"))
    real_fd = ev.score(["fd"], ext, ext(real[200:400], "cpu"), ext(real[:200], "cpu"))["fd"]
    assert real_fd < 0.1 * fakes_fd, (real_fd, fakes_fd)
    # precision/recall: two real halves cover each other; 6-step fakes fall outside
    pr_real = ev.score(["pr"], ext, ext(real[200:400], "cpu"), ext(real[:200], "cpu"))
    res = cli("evaluate", "sneakers", "--extractor", spec, "-n", "200", "--metric", "pr",
              "--json")
    pr_fake = json.loads(res.out)
    assert pr_real["precision"] > 0.8 and pr_real["recall"] > 0.8, pr_real
    assert pr_fake["precision"] < pr_real["precision"] - 0.3, (pr_fake, pr_real)


@pytest.mark.slow  # over 0.9 s: the full suite only (fast tier under 90 s)
def test_evaluate_needs_an_extractor_where_the_classifier_does_not_apply(cli):
    assert cli("train", "faces", "--data", "synthetic", "--steps", "1", "--set",
               "batch_size=4").code == 0
    res = cli("evaluate", "faces")
    assert res.code == 2 and "--extractor inception" in res.err


def test_torchvision_weights_are_found_in_ganctl_home_or_the_hub_cache(tmp_path, monkeypatch):
    from torchvision.models import VGG19_Weights

    from ganctl import paths, weights

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    record = VGG19_Weights.IMAGENET1K_V1
    assert weights.torchvision_file(record, "VGG19", download=False) is None
    hub = tmp_path / "hub" / "checkpoints" / "vgg19-dcbb9e9d.pth"
    hub.parent.mkdir(parents=True)
    hub.write_bytes(b"x")  # a copy torch.hub already has is reused
    assert weights.torchvision_file(record, "VGG19", download=False) == hub
    home = paths.weights_dir() / "extractors" / "vgg19-dcbb9e9d.pth"
    home.parent.mkdir(parents=True)
    home.write_bytes(b"x")  # ganctl's own copy comes first
    assert weights.torchvision_file(record, "VGG19", download=False) == home


def test_torchvision_weights_download_checked_against_the_name_hash(tmp_path, monkeypatch):
    import hashlib

    from ganctl import weights
    from ganctl.data.download import DownloadError
    from tests.httpserver import Server

    monkeypatch.delenv("GANCTL_OFFLINE", raising=False)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    body = b"weights" * 1000
    server = Server()
    try:
        good = hashlib.sha256(body).hexdigest()[:8]
        record = type("Record", (), {"url": server.add(f"/net-{good}.pth", body)})()
        path = weights.torchvision_file(record, "a test net")
        assert path.read_bytes() == body and path.parent.name == "extractors"
        record = type("Record", (), {"url": server.add("/other-00000000.pth", body)})()
        with pytest.raises(DownloadError, match="expected one starting 00000000"):
            weights.torchvision_file(record, "a test net")
    finally:
        server.close()
