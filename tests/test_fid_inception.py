"""The FID Inception network against pytorch-fid (an independent implementation, from PyPI):
the same random weights in the published layout give the same features and, on the same
two folders, the same FID; the weights come through the one download path."""

from __future__ import annotations

import functools
import hashlib
import io
import json

import numpy as np
import pytest
import torch
from PIL import Image

from ganctl.nets.fid_inception import FIDInception

pfi = pytest.importorskip("pytorch_fid.inception")


@functools.lru_cache(maxsize=2)
def random_weights(seed: int = 0) -> dict[str, torch.Tensor]:
    """Random weights in the published file's layout, batch-norm statistics set by one pass
    over noise (so the features vary with the image, as trained ones do)."""
    torch.manual_seed(seed)
    net = FIDInception()
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.momentum = None  # the plain average of the batches seen
    with torch.no_grad():
        net.train()(torch.rand(6, 3, 64, 64) * 2 - 1)
    return net.state_dict()


@pytest.fixture
def theirs(monkeypatch):
    """pytorch-fid's InceptionV3 (pool3 block, its resizing and normalisation) built with the
    random weights instead of the download."""
    sd = random_weights()
    monkeypatch.setattr(pfi, "load_state_dict_from_url", lambda *a, **k: sd)
    net = pfi.InceptionV3([pfi.InceptionV3.BLOCK_INDEX_BY_DIM[2048]], resize_input=True,
                          normalize_input=True, use_fid_inception=True).eval()
    return net, sd


@pytest.mark.slow  # Inception at 299 px on a CPU
def test_features_equal_pytorch_fids(theirs):
    net, sd = theirs
    ours = FIDInception().eval()
    ours.load_state_dict(sd, strict=True)  # the published key set, exactly
    x = torch.rand(3, 3, 45, 37)
    with torch.no_grad():
        a = ours(x * 2 - 1)
        b = net(x)[0].flatten(1)
    # float32 sums in another order: equal to 1e-5 of the features' scale
    assert a.shape == (3, 2048) and (a - b).abs().max() <= 1e-5 * b.abs().max()


def folder(root, seed: int, n: int, shift: int):
    root.mkdir()
    g = np.random.default_rng(seed)
    for i in range(n):
        arr = np.clip(g.normal(110 + shift, 50, (24, 24, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(arr).save(root / f"{i:03d}.png")
    return root


@pytest.mark.slow  # 40 Inception passes
def test_fid_of_two_folders_equals_pytorch_fids(theirs, tmp_path, home):
    """ganctl's `inception` extractor, with the weights file where the download puts it,
    and pytorch-fid's `calculate_fid_given_paths` agree on the FID of two folders."""
    from pytorch_fid import fid_score

    from ganctl.metrics import evaluate as ev
    from ganctl.metrics.frechet import fd_from_features
    from ganctl.tensors import from_pil

    _, sd = theirs
    dest = home / "weights" / "extractors" / ev.FID_WEIGHTS_URL.rsplit("/", 1)[1]
    dest.parent.mkdir(parents=True)
    torch.save(sd, dest)
    a, b = folder(tmp_path / "a", 0, 10, 0), folder(tmp_path / "b", 1, 10, 40)
    ext = ev.extractor("inception", torch.device("cpu"))

    def feats(root):
        return ext(from_pil([Image.open(p).convert("RGB") for p in sorted(root.iterdir())]),
                   torch.device("cpu"))

    ours = fd_from_features(feats(a), feats(b))
    ref = fid_score.calculate_fid_given_paths([str(a), str(b)], 10, "cpu", 2048, 0)
    assert ours > 0 and abs(ours - ref) <= 1e-3 * ref


@pytest.mark.slow  # Inception at 299 px on a CPU
def test_fid_weights_come_through_the_download_path(cli, tmp_path, monkeypatch):
    """First use fetches the file once (size announced), checked against the SHA-256 prefix
    in its name; a file whose bytes do not match its name is refused; offline refuses."""
    from ganctl.metrics import evaluate as ev
    from tests.httpserver import Server

    buf = io.BytesIO()
    torch.save(random_weights(1), buf)
    body = buf.getvalue()
    name = f"pt_inception-2015-12-05-{hashlib.sha256(body).hexdigest()[:8]}.pth"
    res = cli("evaluate", "sneakers", "-n", "4", "--real", "synthetic", "--extractor",
              "inception")
    assert res.code == 1 and "offline" in res.err and "Traceback" not in res.err
    monkeypatch.delenv("GANCTL_OFFLINE")
    server = Server()
    try:
        monkeypatch.setattr(ev, "FID_WEIGHTS_URL", server.add("/" + name, body))
        res = cli("evaluate", "sneakers", "-n", "4", "--real", "synthetic", "--extractor",
                  "inception", "--json")
        assert res.code == 0, res.err
        assert "downloading the FID Inception network" in res.err
        doc = json.loads(res.out)
        assert doc["extractor"].startswith("fid-inception") and "bilinear" in doc["resize"]
        assert doc["extractor_sha256"] == hashlib.sha256(body).hexdigest()
        assert cli("evaluate", "sneakers", "-n", "4", "--real", "synthetic", "--extractor",
                   "inception").code == 0
        assert server.count("/" + name) == 1
        bad = "pt_inception-2015-12-05-00000000.pth"
        monkeypatch.setattr(ev, "FID_WEIGHTS_URL", server.add("/" + bad, body))
        res = cli("evaluate", "sneakers", "-n", "4", "--real", "synthetic", "--extractor",
                  "inception")
        assert res.code == 1 and "SHA-256" in res.err
    finally:
        server.close()
