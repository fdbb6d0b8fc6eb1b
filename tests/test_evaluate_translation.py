"""`ganctl evaluate NAME --pairs` and `--source/--target`, and LPIPS against the `lpips`
package (an independent implementation, from PyPI) on the same random backbone."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from tests.conftest import TINY
from tests.test_evaluate import scripted_extractor


def make_pairs(root, n=3, side=32):
    root.mkdir()
    g = np.random.default_rng(0)
    for i in range(n):
        arr = g.integers(0, 255, (side, 2 * side, 3)).astype(np.uint8)
        Image.fromarray(arr).save(root / f"{i}.png")
    return root


@pytest.fixture
def pix2pix_run(tiny_runs):
    return tiny_runs({"pix2pix": TINY["pix2pix"]})["pix2pix"]


def test_pairs_scores_each_pair_against_its_true_output(cli, tmp_path, pix2pix_run):
    root = make_pairs(tmp_path / "pairs")
    res = cli("evaluate", "pix2pix", "--pairs", "pairs", "--weights", pix2pix_run,
              "--lpips", "none", "--json", "--csv", "s.csv")
    assert res.code == 0, res.err
    doc = json.loads(res.out)
    assert doc["pairs"] == 3 and doc["direction"] == "AtoB" and "lpips" not in doc["mean"]
    assert doc["weights"]["path"] == str(pix2pix_run)
    # the first pair by hand: translate its left half, compare with its right half
    pair = Image.open(root / "0.png")
    pair.crop((0, 0, 32, 32)).save(tmp_path / "a.png")
    assert cli("translate", "pix2pix", "a.png", "-o", "out.png", "--weights",
               pix2pix_run).code == 0
    out = np.asarray(Image.open(tmp_path / "out.png").convert("RGB"), np.float64) / 255
    truth = np.asarray(pair.crop((32, 0, 64, 32)), np.float64) / 255
    row = doc["per_image"][0]
    assert abs(row["l1"] - np.abs(out - truth).mean()) < 1e-6
    assert abs(row["psnr"] - 10 * np.log10(1 / np.mean((out - truth) ** 2))) < 1e-4
    assert (tmp_path / "s.csv").read_text().splitlines()[0] == "image,l1,psnr,ssim"
    # the same pairs as A/ and B/ folders matched by name give the same scores
    for side, box in (("A", (0, 0, 32, 32)), ("B", (32, 0, 64, 32))):
        (tmp_path / "ab" / side).mkdir(parents=True)
        for p in sorted(root.iterdir()):
            Image.open(p).crop(box).save(tmp_path / "ab" / side / p.name)
    res = cli("evaluate", "pix2pix", "--pairs", "ab", "--weights", pix2pix_run, "--lpips",
              "none", "--json")
    assert json.loads(res.out)["mean"] == doc["mean"]


def test_pairs_needs_lpips_weights_offline_and_says_how_to_skip(cli, tmp_path, pix2pix_run):
    make_pairs(tmp_path / "pairs", n=1)
    res = cli("evaluate", "pix2pix", "--pairs", "pairs", "--weights", pix2pix_run)
    assert res.code == 1 and "offline" in res.err and "--lpips none" in res.err
    assert len(res.err.strip().splitlines()) == 1


def test_translation_options_are_refused_where_they_do_nothing(cli, tmp_path):
    res = cli("evaluate", "sneakers", "--pairs", str(tmp_path))
    assert res.code == 2 and "score translation plugins" in res.err
    res = cli("evaluate", "horse2zebra", "--source", str(tmp_path))
    assert res.code == 2 and "both --source and --target" in res.err
    res = cli("evaluate", "pix2pix", "--pairs", str(tmp_path), "--metric", "fd")
    assert res.code == 2
    res = cli("evaluate", "upscale", "--hr", str(tmp_path), "--pairs", str(tmp_path))
    assert res.code == 2 and "--pairs: not for `evaluate upscale`" in res.err


@pytest.mark.slow  # translates and embeds two folders
def test_unpaired_translates_the_sources_and_scores_them_against_the_targets(
        cli, tmp_path, tiny_runs):
    run = tiny_runs({"cyclegan": TINY["cyclegan"]})["cyclegan"]
    src, tgt = make_pairs(tmp_path / "src", 6), make_pairs(tmp_path / "tgt", 8)
    ext = scripted_extractor(tmp_path / "ext.pt")
    res = cli("evaluate", "cyclegan", "--source", src, "--target", tgt, "--weights", run,
              "--extractor", f"torchscript:{ext}@32", "--json")
    assert res.code == 0, res.err
    doc = json.loads(res.out)
    assert doc["n_translated"] == 6 and doc["n_target"] == 8 and doc["fd"] > 0
    assert "kid" in doc and doc["weights"]["path"] == str(run)


@pytest.mark.slow  # AlexNet and VGG16 at 64 px, twice each
@pytest.mark.parametrize("net", ["alex", "vgg"])
def test_lpips_equals_the_lpips_package(net):
    lpips_pkg = pytest.importorskip("lpips")
    from ganctl.metrics.lpips import LPIPS

    torch.manual_seed(0)
    theirs = lpips_pkg.LPIPS(net=net, pnet_rand=True, verbose=False).eval()
    ours = LPIPS(net)
    ours.features.load_state_dict({k.split(".", 1)[1]: v
                                   for k, v in theirs.net.state_dict().items()})
    ours.lins.load_state_dict({f"{i}.weight": theirs.state_dict()[f"lin{i}.model.1.weight"]
                               for i in range(5)})
    x, y = torch.rand(3, 3, 64, 48) * 2 - 1, torch.rand(3, 3, 64, 48) * 2 - 1
    with torch.no_grad():
        a, b = ours(x, y), theirs(x, y).flatten()
        assert torch.allclose(a, b, rtol=1e-5, atol=1e-7) and (a > 0).all()
        assert ours(x, x).abs().max() < 1e-6


def put_lpips_files(home) -> None:
    """Random AlexNet and LPIPS layers in the published files' names and layouts."""
    from torchvision.models import AlexNet_Weights, alexnet

    from ganctl.metrics.lpips import LPIPS

    folder = home / "weights" / "extractors"
    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    torch.save(alexnet().state_dict(), folder / AlexNet_Weights.IMAGENET1K_V1.url.rsplit("/")[-1])
    lins = LPIPS("alex").lins
    torch.save({f"lin{i}.model.1.weight": lin.weight for i, lin in enumerate(lins)},
               folder / "lpips-v0.1-alex.pth")


def val_rows(run) -> list[dict]:
    rows = [json.loads(line) for line in (run / "stats.jsonl").read_text().splitlines()]
    return [r for r in rows if "val_psnr" in r]


@pytest.mark.slow  # two tiny 64-px trainings
def test_validation_logs_lpips_only_when_its_files_are_here(cli, home, tmp_path):
    args = ["train", "edges2shoes", "--data", "synthetic", "--steps", "2", "--publish", "never",
            "--json", "--set", "net_g=unet_64", "load_size=72", "crop_size=64", "ngf=4",
            "ndf=4", "workers=0"]
    res = cli(*args)
    assert res.code == 0, res.err
    assert val_rows(Path(json.loads(res.out)["run"])) and \
        all("val_lpips" not in r for r in val_rows(Path(json.loads(res.out)["run"])))
    put_lpips_files(home)  # offline all along: training never downloads them
    res = cli(*args)
    rows = val_rows(Path(json.loads(res.out)["run"]))
    assert rows and all(0 < r["val_lpips"] < 2 for r in rows)
