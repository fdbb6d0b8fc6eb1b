"""`--offline` means offline: every verb that can download, run with the network blocked
at the socket, refuses in one line (naming the flag) and never tries to connect; online,
a download names what, how big and where before its first byte."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from tests.conftest import TINY

PHOTO = Path(__file__).parent.parent / "docs/img/coffee-small.png"


@pytest.fixture
def no_network(monkeypatch):
    """Blocks every internet socket connection and name lookup; returns the attempts."""
    attempts: list = []
    connect = socket.socket.connect

    def refuse(self, address, *args):
        if self.family in (socket.AF_INET, socket.AF_INET6):
            attempts.append(address)
            raise OSError("network blocked by the test")
        return connect(self, address, *args)

    def lookup(host, *args, **kw):
        attempts.append(host)
        raise socket.gaierror("name lookup blocked by the test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", lookup)
    monkeypatch.delenv("GANCTL_OFFLINE", raising=False)  # the flag alone must do it
    return attempts


TRAIN2 = ["train", "sneakers", "--data", "synthetic", *TINY["sneakers2"]]
REFUSALS = {
    "translate": ["translate", "horse2zebra", PHOTO, "-o", "z.png"],
    "download-data": ["download-data", "horse2zebra"],
    "download-data files": ["download-data", "fashion-mnist", "--root", "empty"],
    "evaluate inception": ["evaluate", "sneakers", "-n", "4", "--real", "synthetic",
                           "--extractor", "inception"],
    "content=vgg": [a.replace("content=pixel", "content=vgg") for a in TRAIN2],
    "models export": ["models", "export", "edges2shoes", "-o", "e.safetensors"],
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_offline_refuses_in_one_line_without_connecting(cli, no_network, case, monkeypatch):
    from ganctl.data import catalog

    if case == "download-data files":  # not the Debian copy: this one must download
        entry = catalog.CATALOG["fashion-mnist"]
        import dataclasses

        monkeypatch.setitem(catalog.CATALOG, "fashion-mnist",
                            dataclasses.replace(entry, system_paths=()))
    res = cli("--offline", *REFUSALS[case])
    assert res.code == 1, res.err
    lines = [ln for ln in res.err.splitlines() if ln.startswith("ganctl: error:")]
    assert len(lines) == 1 and "offline (--offline)" in lines[0], res.err
    assert "elsewhere" in lines[0]
    assert no_network == []


@pytest.mark.slow
def test_offline_training_of_stage2_uses_the_pixel_loss_and_says_why(cli, no_network):
    args = [a.replace("content=pixel", "content=auto") for a in TRAIN2]
    res = cli("--offline", *args, "--json")
    assert res.code == 0, res.err
    assert "content loss: pixel (offline, and the ImageNet VGG19 weights" in res.err
    assert no_network == []


def test_offline_hub_weights_do_not_connect(cli, no_network):
    pytest.importorskip("huggingface_hub")
    res = cli("--offline", "upscale", PHOTO, "-o", "u.png", "--weights", "hf://someone/x4")
    assert res.code == 1 and "not in the local Hub cache" in res.err
    assert no_network == []


def test_a_download_names_its_size_and_destination_first(cli, published_host):
    from tests.test_first_use import cyclegan_file

    published_host.add("/horse2zebra.pth", cyclegan_file())
    res = cli("translate", "horse2zebra", PHOTO, "-o", "z.png")
    assert res.code == 0, res.err
    first = res.err.splitlines()[0]
    assert first.startswith("downloading the published horse2zebra generator horse2zebra.pth")
    assert "MB" in first and " to " in first


def test_download_data_names_sizes_and_verifies_nothing_out_loud(cli, tmp_path, monkeypatch):
    import dataclasses

    from ganctl.data import catalog

    for name in ("fashion-mnist", "fashion-sneakers"):  # as on a machine without Debian's
        monkeypatch.setitem(catalog.CATALOG, name, dataclasses.replace(
            catalog.CATALOG[name], system_paths=()))
    rows = json.loads(cli("download-data", "--list", "--json").out)
    assert all(r["size"] for r in rows), [r["name"] for r in rows if not r["size"]]
    res = cli("download-data", "--verify", "--root", tmp_path / "none")
    assert res.code == 0 and "nothing to verify" in res.err


def test_download_data_counts_the_system_copy_train_reads(cli, tmp_path, monkeypatch):
    import dataclasses

    from ganctl.data import catalog

    system = tmp_path / "usr-share-fashion-mnist"
    system.mkdir()
    (system / "train-images-idx3-ubyte.gz").write_bytes(b"x")
    for name in ("fashion-mnist", "fashion-sneakers"):
        monkeypatch.setitem(catalog.CATALOG, name, dataclasses.replace(
            catalog.CATALOG[name], system_paths=(system,)))
    rows = json.loads(cli("download-data", "--list", "--json").out)
    assert {r["name"]: r["local"] for r in rows}["fashion-sneakers"] == str(system)
    res = cli("download-data", "fashion-sneakers")
    assert res.code == 0 and "already present" in res.err and str(system) in res.err
