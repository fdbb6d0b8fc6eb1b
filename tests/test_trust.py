"""Defaults you can trust: which weights a name uses is one visible, reversible rule that
every verb and `models list` follow, and every verb names the weights it used."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from ganctl import checkpoint, registry, weights
from ganctl.weights import bundled, choice
from tests.conftest import TINY

TINY1 = ["--data", "synthetic", *TINY["sneakers"], "--set", "sample_every=1000", "--json"]
TINY2 = ["--data", "synthetic", *TINY["sneakers2"], "--set", "sample_every=1000", "--json"]


def uses(cli, name: str) -> list[dict]:
    """What `models list NAME --json` says each stage uses."""
    rows = json.loads(cli("models", "list", name, "--json").out)
    return [s["uses"] for s in rows[0]["stages"]]


def sample_weights(cli) -> list[dict]:
    res = cli("sample", "sneakers", "-n", "2", "-o", "g.png", "--json")
    assert res.code == 0, res.err
    return json.loads(res.out)["weights"]


@pytest.mark.slow
def test_a_throwaway_run_keeps_the_shipped_weights_and_says_how_to_use_it(cli):
    res = cli("train", "sneakers", *TINY1)
    doc = json.loads(res.out)
    assert res.code == 0 and doc["published"] is None
    assert "NOT made the default" in res.err and "ganctl models use sneakers" in res.err
    assert [u["kind"] for u in uses(cli, "sneakers")] == ["bundled", "bundled"]
    used = sample_weights(cli)  # the listing and the verb agree
    assert [w["kind"] for w in used] == ["bundled", "bundled"]
    assert used[0]["path"] == str(bundled.path("sneakers-stage1"))


@pytest.mark.slow
def test_models_use_then_reset_switches_every_verb_and_never_deletes(cli, home):
    run = Path(json.loads(cli("train", "sneakers", *TINY1).out)["run"])
    res = cli("models", "use", "sneakers", run)
    assert res.code == 0 and "now uses" in res.err
    assert uses(cli, "sneakers")[0]["kind"] == "yours"
    used = sample_weights(cli)
    assert used[0]["kind"] == "yours" and used[0]["run"] == str(run)
    assert len(used) == 1  # the bundled photo-x4 follows only the bundled generator ...
    stage2 = json.loads(cli("models", "list", "sneakers", "--json").out)[0]["stages"][1]
    assert stage2["applied_by_sample"] is False  # ... and the listing says so
    res = cli("models", "reset", "sneakers", "--json")
    moved = json.loads(res.out)["stages"][0]["moved_aside"]
    assert res.code == 0 and len(moved) == 1 and Path(moved[0]).is_file()
    assert [w["kind"] for w in sample_weights(cli)] == ["bundled", "bundled"]
    assert (run / "weights.pt").is_file()


def test_stage2_below_bicubic_is_kept_and_above_becomes_the_default():
    plugin = registry.get("sneakers")
    worse = weights.Weights.of({"stage": 2, "recipe_meta": {"validation": {
        "val_psnr": 20.0, "val_psnr_bicubic": 20.5, "images": 8}}})
    better = weights.Weights.of({"stage": 2, "recipe_meta": {"validation": {
        "val_psnr": 22.0, "val_psnr_bicubic": 20.5, "images": 8}}})
    ok, why = choice.publish_decision(plugin, 2, worse, "if-better")
    assert not ok and "-0.50 dB over bicubic" in why
    ok, why = choice.publish_decision(plugin, 2, better, "if-better")
    assert ok and "+1.50 dB" in why
    assert choice.publish_decision(plugin, 2, worse, "always")[0]
    assert not choice.publish_decision(plugin, 2, better, "never")[0]
    stage1 = weights.Weights.of({"stage": 1})
    assert not choice.publish_decision(plugin, 1, stage1, "if-better")[0]  # ships, no check
    # nothing ships for faces or leaks: a finished run is their default
    assert choice.publish_decision(registry.get("faces"), 1, stage1, "if-better")[0]
    # the authors' generator ships for edges2shoes, for the generic pix2pix nothing
    assert not choice.publish_decision(registry.get("edges2shoes"), 1, stage1, "if-better")[0]
    assert choice.publish_decision(registry.get("pix2pix"), 1, stage1, "if-better")[0]


@pytest.mark.slow
def test_a_stage2_run_that_fails_its_check_does_not_replace_photo_x4(cli, monkeypatch):
    plugin = registry.get("sneakers")  # a 2-step run's gain over bicubic is noise: fix it
    monkeypatch.setattr(plugin, "baseline_check", lambda w: (
        False, "PSNR -0.01 dB over bicubic on 8 validation images") if w.stage == 2
        else None)
    res = cli("train", "sneakers", *TINY2)
    assert res.code == 0 and json.loads(res.out)["published"] is None
    assert "did not pass its check" in res.err
    res = cli("upscale", Path(__file__).parent.parent / "docs/img/coffee-small.png", "-o",
              "c.png", "--json")
    assert json.loads(res.out)["weights"]["name"] == "photo-x4"


@pytest.mark.slow
def test_publish_always_makes_the_run_the_default_and_names_it(cli):
    res = cli("train", "sneakers", *TINY1, "--publish", "always")
    doc = json.loads(res.out)
    assert doc["published"] and doc["published_why"] == "--publish always"
    assert uses(cli, "sneakers")[0]["kind"] == "yours"
    res = cli("sample", "sneakers", "-n", "2", "-o", "g.png", "--stage", "1")
    assert res.code == 0 and f"weights: your run {doc['run']}" in res.err
    assert "--weights bundled:sneakers-stage1 for the shipped one" in res.err
    assert "ganctl models reset sneakers" in res.err


def test_publish_takes_only_its_three_words(cli):
    res = cli("train", "sneakers", *TINY1, "--publish", "sometimes")
    assert res.code == 2 and "--publish must be one of if-better, always, never" in res.err


@pytest.mark.slow
def test_a_name_with_nothing_shipped_uses_its_finished_run(cli):
    res = cli("train", "faces", "--data", "synthetic", *TINY["faces"], "--json")
    assert json.loads(res.out)["published"]
    assert "now the default for faces" in res.err
    assert uses(cli, "faces")[0]["kind"] == "yours"


@pytest.mark.parametrize("verb", ["upscale", "sample", "evaluate"])
def test_each_verb_names_its_weights_with_their_hash(cli, verb):
    photo = Path(__file__).parent.parent / "docs/img/coffee-small.png"
    args = {"upscale": ["upscale", photo, "-o", "c.png"],
            "sample": ["sample", "sneakers", "-n", "2", "-o", "g.png"],
            "evaluate": ["evaluate", "sneakers", "-n", "20", "--real", "synthetic"]}[verb]
    res = cli(*args, "--json")
    assert res.code == 0, res.err
    doc = json.loads(res.out)
    used = doc["weights"][0] if isinstance(doc["weights"], list) else doc["weights"]
    assert used["kind"] == "bundled"
    assert used["sha256"] == checkpoint.sha256_of(Path(used["path"]))
    assert res.err.startswith("weights: bundled ")


@pytest.mark.slow
def test_translate_and_detect_name_a_chosen_run(cli, tiny_runs):
    runs = tiny_runs({"leaks": TINY["leaks"]})
    res = cli("train", "edges2shoes", "--data", "synthetic", *TINY["pix2pix"], "--json")
    assert json.loads(res.out)["published"] is None  # the authors' generator ships
    res = cli("models", "use", "edges2shoes", json.loads(res.out)["run"])
    assert res.code == 0, res.err
    photo = Path(__file__).parent.parent / "docs/img/shoe-sketch.png"
    res = cli("translate", "edges2shoes", photo, "-o", "s.png", "--json")
    used = json.loads(res.out)["weights"]
    assert res.code == 0 and used["kind"] == "yours" and used["step"] == 2
    assert "--weights pretrained for the shipped one" in res.err
    res = cli("detect-leaks", photo, "--weights", runs["leaks"], "--json")
    used = json.loads(res.out)["weights"]
    assert used["kind"] == "file" and used["path"] == str(runs["leaks"])


@pytest.mark.slow
def test_models_use_refuses_weights_of_another_plugin(cli, tiny_runs):
    runs = tiny_runs({"faces": TINY["faces"]})
    res = cli("models", "use", "sneakers", runs["faces"])
    assert res.code == 1 and "belongs to plugin 'faces'" in res.err
    assert not weights.cache_path("sneakers", 1).exists()


def test_bundled_weights_are_inspectable(cli):
    res = cli("models", "inspect", "bundled:photo-x4", "--json")
    doc = json.loads(res.out)
    assert res.code == 0 and doc["plugin"] == "sneakers" and doc["stage"] == 2
    assert doc["card"].startswith("# photo-x4")


def test_detect_leaks_without_a_detector_gives_a_command_that_works(cli):
    res = cli("detect-leaks", Path(__file__).parent.parent / "docs/img/coffee-small.png")
    assert res.code == 1 and "ganctl train leaks --data synthetic" in res.err
    assert len(res.err.strip().splitlines()) == 1


@pytest.mark.slow
def test_training_says_device_and_precision(cli):
    res = cli("train", "sneakers", *TINY1)
    assert "on cpu in fp32" in res.err or "on cpu in bf16" in res.err


def test_evaluate_uses_the_bundled_classifier_and_says_so(cli):
    from ganctl.metrics.classifier import BUNDLED

    if bundled.path(BUNDLED) is None:
        pytest.skip("this checkout has no bundled classifier")
    res = cli("evaluate", "sneakers", "-n", "20", "--real", "synthetic", "--json")
    doc = json.loads(res.out)
    assert res.code == 0 and doc["extractor"].startswith("fashion-classifier (bundled")
    assert doc["extractor_sha256"] == checkpoint.sha256_of(bundled.path(BUNDLED))
    assert "training the Fashion-MNIST feature classifier" not in res.err


def test_a_missing_classifier_trains_with_a_bar_and_is_cached(monkeypatch, tmp_path, capsys):
    from ganctl.metrics import classifier

    monkeypatch.setattr(classifier, "bundled_classifier", lambda device="cpu": None)
    monkeypatch.setattr(classifier, "train_classifier",
                        lambda *a, **k: (classifier.SmallCNN().eval(), 0.5))
    root = tmp_path / "fmnist"
    root.mkdir()
    from ganctl.data import layouts

    monkeypatch.setattr(layouts, "fashion_mnist", lambda r, split: (
        torch.zeros(4, 1, 28, 28, dtype=torch.uint8).numpy(), torch.zeros(4).numpy()))
    _, meta = classifier.fashion_classifier(root)
    assert meta["origin"] == "trained here" and Path(meta["file"]).is_file()
    assert "training one once" in capsys.readouterr().err
    _, again = classifier.fashion_classifier(root)
    assert again["sha256"] == meta["sha256"]  # cached: not trained twice
