"""Leak detection: metrics by hand, threshold rules, the VAE, training on synthetic
normal/anomalous data, and `detect-leaks` with every output."""

from __future__ import annotations

import csv
import json
import re

import numpy as np
import pytest
import torch
from PIL import Image

from ganctl import nets
from ganctl.errors import GanctlError
from ganctl.metrics import detection
from ganctl.plugins.leaks import calibrate
from ganctl.plugins.leaks.scores import RECORDED
from tests.conftest import trained_copy

# what threshold=auto reports choosing with proliv/ images: best-f1 or its cap
AUTO_RULE = r"(?:best-f1|quantile:0\.93 of normals \(auto's cap; best-f1 was higher\))"
TINY = ["--set", "image_size=32", "width=8", "latent=8", "batch_size=32", "log_every=5",
        "sample_every=20", "checkpoint_every=1000", "lr=3e-3"]


def test_metrics_by_hand():
    y = [0, 0, 1, 1]
    s = [0.1, 0.4, 0.35, 0.8]
    assert detection.roc_auc(y, s) == pytest.approx(0.75)  # 3 of 4 (normal, leak) pairs
    # AP: thresholds 0.8 (P=1, R=.5), 0.4 (P=.5), 0.35 (P=2/3, R=1)
    assert detection.average_precision(y, s) == pytest.approx(0.5 * 1 + 0.5 * (2 / 3))
    assert detection.roc_auc([0, 1], [0.5, 0.5]) == pytest.approx(0.5)  # ties count half
    rep = detection.report(y, s, 0.3)
    assert rep["confusion"] == [[1, 1], [0, 2]]
    assert rep["accuracy"] == 0.75
    assert rep["classes"]["leak"] == {"precision": 2 / 3, "recall": 1.0, "f1": 0.8,
                                      "support": 2}
    assert rep["classes"]["normal"]["recall"] == 0.5
    t = detection.best_f1_threshold(y, s)
    # flags both leaks and one normal (F1 0.8 is the best there is): scores above 0.1
    assert t == 0.1
    # the operating point drawn on roc.png and pr.png
    assert detection.operating_point(y, s, 0.3) == {"fpr": 0.5, "recall": 1.0,
                                                    "precision": 2 / 3}
    assert detection.operating_point(y, s, 0.9)["precision"] is None  # nothing flagged


def test_threshold_rules():
    normal, leak = np.array([1.0, 2, 3, 4, 5]), np.array([4.5, 9.0])
    assert calibrate("mean-proliv", normal, leak) == (6.75, "mean-proliv")
    assert calibrate("quantile:0.5", normal, leak) == (3.0, "quantile:0.5")
    t, rule = calibrate("auto", normal, leak)
    # flags 4.5, 5 and 9 (F1 0.8): the threshold is the low end of that gap, 4.0 itself
    assert rule == "best-f1" and t == 4.0
    assert calibrate("best-f1", normal, np.array([7.0, 9.0]))[0] == 5.0  # separated
    # ... where auto caps it at the 93rd percentile of the normal scores
    t, rule = calibrate("auto", normal, np.array([7.0, 9.0]))
    assert t == pytest.approx(4.72) and rule.startswith("quantile:0.93 of normals (auto's cap")
    assert calibrate("auto", normal, np.empty(0))[1] == "quantile:0.99"
    with pytest.raises(GanctlError, match="needs images in proliv"):
        calibrate("mean-proliv", normal, np.empty(0))


def test_vae_shapes_and_conditioning():
    vae = nets.build("vae", channels=3, size=64, latent=16, width=8, cond_dim=2).eval()
    x = torch.rand(2, 3, 64, 64)
    recon, mu, logvar = vae(x, torch.zeros(2, 2))
    assert recon.shape == x.shape and mu.shape == (2, 16) and 0 <= recon.min() <= recon.max() <= 1
    with pytest.raises(ValueError):
        nets.build("vae", size=48)


def test_feature_score_is_the_mahalanobis_distance_to_the_normal_images():
    from ganctl.plugins.leaks import RIDGE, fit_feature_stats

    torch.manual_seed(0)
    vae = nets.build("vae", channels=1, size=16, latent=4, width=4, feature_stats=True)
    images = torch.randint(0, 256, (300, 1, 16, 16), dtype=torch.uint8)
    fit_feature_stats(vae, images, torch.zeros(300, 2), False, "cpu")
    with torch.no_grad():
        feats = vae.features(images.float() / 255).double()
        d = feats - feats.mean(0)
        cov = torch.cov(feats.T)
        cov += RIDGE * cov.diagonal().mean() * torch.eye(len(cov), dtype=cov.dtype)
        expect = ((d @ torch.linalg.inv(cov)) * d).sum(1)
        got = vae.mahalanobis(images.float() / 255).double()
    assert torch.allclose(got, expect, rtol=1e-3)
    # stored with the weights: a rebuilt net scores the same
    again = nets.build("vae", channels=1, size=16, latent=4, width=4, feature_stats=True)
    again.load_state_dict(vae.state_dict())
    with torch.no_grad():
        assert torch.equal(again.eval().mahalanobis(images[:5].float() / 255),
                           vae.eval().mahalanobis(images[:5].float() / 255))


def test_with_a_leak_head_the_score_adds_both_standardised_scores():
    from ganctl.plugins.leaks import fit_feature_stats

    torch.manual_seed(0)
    vae = nets.build("vae", channels=1, size=16, latent=4, width=4, feature_stats=True,
                     leak_head=True)
    images = torch.randint(0, 256, (300, 1, 16, 16), dtype=torch.uint8)
    fit_feature_stats(vae, images, torch.zeros(300, 2), False, "cpu")
    with torch.no_grad():
        x = images.float() / 255
        m, logit = vae.mahalanobis(x), vae.leak_logit(x)
        expect = (m - m.mean()) / m.std() + (logit - logit.mean()) / logit.std()
        got = vae.anomaly(x)
    assert torch.allclose(got, expect, atol=1e-3)
    assert abs(float(got.mean())) < 1e-3  # on the normal images it was fitted to: centred
    plain = nets.build("vae", channels=1, size=16, latent=4, width=4, feature_stats=True)
    plain.load_state_dict(vae.state_dict(), strict=False)
    fit_feature_stats(plain, images, torch.zeros(300, 2), False, "cpu")
    with torch.no_grad():  # without a head the score is the distance alone
        assert torch.equal(plain.anomaly(x), plain.mahalanobis(x))


def test_the_leak_head_trains_on_two_thirds_of_proliv_and_calibration_sees_the_rest():
    from ganctl import config, registry
    from ganctl.data import sources
    from ganctl.plugins.leaks import LeaksConfig

    plugin = registry.get("leaks")
    root = sources.synthetic_root("leaks", n_train=256, n_proliv=16, n_test=64)
    data = plugin.load_data(config.build(LeaksConfig, {"image_size": 32}), str(root), 1)
    fit, cal = data.extra["proliv_fit"][0], data.extra["proliv"][0]
    assert (len(fit), len(cal)) == (11, 5)
    assert not any(torch.equal(a, b) for a in fit for b in cal)  # disjoint
    off = plugin.load_data(config.build(LeaksConfig, {"image_size": 32, "leak_weight": 0}),
                           str(root), 1)
    assert "proliv_fit" not in off.extra and len(off.extra["proliv"][0]) == 16


def test_auto_shape_follows_the_training_images(tmp_path):
    from ganctl import config
    from ganctl.plugins.leaks import LeaksConfig
    from ganctl.plugins.leaks.recipe import resolve_shape

    def files(folder, size, mode, n=5):
        folder.mkdir()
        for i in range(n):
            Image.new(mode, size).save(folder / f"{i}.png")
        return sorted(folder.glob("*.png"))

    small_gray = files(tmp_path / "fm", (28, 28), "L")
    photos = files(tmp_path / "ph", (300, 200), "RGB")
    auto = config.build(LeaksConfig, {})
    cfg, note = resolve_shape(auto, small_gray)
    assert (cfg.image_size, cfg.channels) == (32, 1) and "median side 28" in note
    cfg, _ = resolve_shape(auto, photos)
    assert (cfg.image_size, cfg.channels) == (64, 3)
    cfg, _ = resolve_shape(auto, small_gray + photos * 2)  # mixed: the median, colour
    assert (cfg.image_size, cfg.channels) == (64, 3)
    chosen = config.build(LeaksConfig, {"image_size": 16, "channels": 3})
    assert resolve_shape(chosen, small_gray) == (chosen, "")


def test_large_feature_maps_are_pooled_to_bound_the_precision_matrix():
    vae = nets.build("vae", channels=3, size=64, width=32, feature_stats=True)
    assert vae.feat_precision.shape == (1024, 1024)  # 256 x 2 x 2, not 256 x 4 x 4
    assert vae.features(torch.rand(2, 3, 64, 64)).shape == (2, 1024)


@pytest.fixture(scope="module")
def trained_once(tmp_path_factory, shared_data):
    return trained_copy(tmp_path_factory.mktemp("leaks"), shared_data,
                        ["train", "leaks", "--data", "synthetic", "--json", "--epochs", "12",
                         *TINY])


@pytest.fixture
def trained(trained_once, home, tmp_path):
    """`ganctl train leaks` as this test's own: (its --json result, its stderr)."""
    (doc,), err = trained_once(home, tmp_path)
    return doc, err


@pytest.mark.slow  # 2.5 s on a 2-core EPYC: the full suite only
def test_training_separates_synthetic_leaks(trained, tmp_path):
    doc, err = trained
    assert "threshold" in err and "test split" in err
    run = tmp_path / doc["run"]
    rows = [json.loads(x) for x in (run / "stats.jsonl").read_text().splitlines()]
    losses = [r["loss"] for r in rows if "loss" in r]
    assert losses[-1] < losses[0]
    val = [r for r in rows if "val_auc" in r]
    assert val and {"val_feature_normal", "val_feature_leak", "val_psnr"} <= set(val[-1])
    assert val[-1]["val_feature_leak"] > val[-1]["val_feature_normal"]
    w = torch.load(doc["weights"], weights_only=True)
    meta = w["recipe_meta"]
    assert re.fullmatch(AUTO_RULE, meta["rule"]) and meta["threshold"] > 0
    # the leak head trained (its loss fell) and the threshold saw only held-out proliv/
    assert meta["leak_head"] and w["arch"]["vae"]["kwargs"]["leak_head"]
    head = [r["loss_leak"] for r in rows if "loss_leak" in r]
    assert head[-1] < head[0]
    assert meta["calibration"]["leak_images"] == 16 // 3 and "held-out proliv" in err
    assert meta["test"]["roc_auc"] > 0.75
    assert sum(map(sum, meta["test"]["confusion"])) == 64


@pytest.mark.slow  # 1.2 s on a 2-core EPYC: the full suite only
def test_detect_leaks_outputs(cli, trained, home, tmp_path):
    data = home / "data" / "synthetic"
    root = next(data.glob("leaks-*"))
    res = cli("detect-leaks", str(root), "--json", "--csv", "new/dir/s.csv", "--heatmaps", "heat",
              "--plots", "plots")
    assert res.code == 0, res.err
    doc = json.loads(res.out)
    assert doc["images"] == 64 and doc["failed"] == 0
    m = doc["metrics"]
    assert m["images"] == 64 and m["roc_auc"] > 0.75
    assert {"precision", "recall", "f1"} <= set(m["classes"]["leak"])
    assert (tmp_path / "plots" / "roc.png").is_file() and (tmp_path / "plots" / "pr.png").is_file()
    rows = list(csv.DictReader(open(tmp_path / "new" / "dir" / "s.csv")))  # folders made
    assert len(rows) == 64 and {"score", "leak", "label"} <= set(rows[0])
    first = doc["results"][0]
    src = Image.open(first["input"])
    assert Image.open(first["heatmap"]).size == src.size
    assert "leak(s) in 64 image(s)" in res.err and "ROC AUC" in res.err
    # which rule chose the threshold, on what, in the summary and the JSON
    assert re.fullmatch(AUTO_RULE + r" on \d+ held-out normal and 5 held-out proliv images",
                        doc["threshold_rule"]), doc["threshold_rule"]
    assert f"{doc['threshold_rule']}" in res.err.replace("\n", " ")
    # exit codes for scripts
    huge = cli("detect-leaks", str(root / "test" / "imgs"), "--threshold", "1e9",
               "--fail-on-leak")
    assert huge.code == 0 and "threshold 1e+09: --threshold" in huge.err
    zero = cli("detect-leaks", str(root / "test" / "imgs"), "--threshold", "0",
               "--fail-on-leak")
    assert zero.code == 3


def test_one_class_or_mismatched_annotations_give_valid_json(cli, trained, home, tmp_path):
    root = next((home / "data" / "synthetic").glob("leaks-*"))
    imgs = sorted((root / "test" / "imgs").iterdir())[:6]
    ann = tmp_path / "ann.txt"
    ann.write_text("".join(f"{p.name} 0\n" for p in imgs[:5]) + "ghost.png 1\n")
    res = cli("detect-leaks", *map(str, imgs), "--annotations", str(ann), "--json",
              "--plots", "plots")
    assert res.code == 0, res.err
    doc = json.loads(res.out, parse_constant=lambda c: pytest.fail(f"{c} in --json"))
    assert doc["metrics"]["images"] == 5 and doc["metrics"]["roc_auc"] is None
    assert "1 scored image(s) without a label, 1 labelled file(s) not among" in res.err
    assert "all one class" in res.err and "ROC AUC n/a" in res.err


def test_detect_leaks_bad_files_and_missing_weights(cli, trained, tmp_path):
    (tmp_path / "imgs").mkdir()
    Image.new("RGB", (90, 60), (140, 140, 140)).save(tmp_path / "imgs" / "ok.png")
    (tmp_path / "imgs" / "bad.png").write_bytes(b"")
    res = cli("detect-leaks", str(tmp_path / "imgs"), "--json")
    assert res.code == 1
    doc = json.loads(res.out)
    assert doc["images"] == 1 and doc["failed"] == 1
    assert "empty file" in res.err


def test_detect_without_weights_names_the_train_command(cli, tmp_path):
    Image.new("RGB", (8, 8)).save(tmp_path / "x.png")
    res = cli("detect-leaks", "x.png")
    assert res.code == 1 and "ganctl train leaks" in res.err


@pytest.mark.slow  # a second 12-epoch tiny training
def test_the_threshold_never_sees_the_test_labels(cli, trained, home, tmp_path):
    """Training calibrates on proliv/ and held-out normal images only, and detect-leaks
    applies the stored threshold: flipping every test label changes the test metrics,
    never the threshold or a verdict."""
    import shutil

    doc, _ = trained
    root = next((home / "data" / "synthetic").glob("leaks-*"))
    flipped = tmp_path / "flipped"
    shutil.copytree(root, flipped)
    ann = flipped / "test" / "test_annotation.txt"
    ann.write_text("".join(f"{name} {1 - int(label)}\n" for name, label in
                           (line.split() for line in ann.read_text().splitlines() if line)))
    res = cli("train", "leaks", "--data", str(flipped), "--json", "--epochs", "12",
              "--publish", "never", *TINY)
    assert res.code == 0, res.err
    again = torch.load(json.loads(res.out)["weights"], weights_only=True)["recipe_meta"]
    first = torch.load(doc["weights"], weights_only=True)["recipe_meta"]
    assert again["threshold"] == first["threshold"] and again["rule"] == first["rule"]
    # the other rules' thresholds, recorded for --threshold, come from the same scores
    rules = first["calibration"]["rules"]
    assert again["calibration"]["rules"] == rules
    assert sorted(rules) == sorted(RECORDED)
    assert rules["quantile:0.9"] <= rules["quantile:0.95"] <= rules["quantile:0.99"]
    if first["rule"] == "best-f1":
        assert rules["best-f1"] == first["threshold"]
    assert again["test"]["confusion"] != first["test"]["confusion"]  # the labels did change
    a = json.loads(cli("detect-leaks", str(root), "--json").out)
    b = json.loads(cli("detect-leaks", str(flipped), "--json").out)
    assert a["threshold"] == b["threshold"] and a["metrics"] != b["metrics"]
    assert [r["leak"] for r in a["results"]] == [r["leak"] for r in b["results"]]
