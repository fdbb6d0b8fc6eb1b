"""ganctl from Python: the task objects give what the CLI verbs give, byte for byte, on
the same inputs and weights; `import ganctl` stays cheap; `ganctl.train` is the CLI's
`train`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import ganctl
from tests.conftest import TINY

RUNS = {"edges2shoes": TINY["pix2pix"], "horse2zebra": TINY["cyclegan"], "leaks": TINY["leaks"],
        "sneakers2": TINY["sneakers2"]}


@pytest.fixture(scope="module")
def runs(tiny_runs) -> dict[str, Path]:
    return tiny_runs(RUNS)


def pixels(img) -> np.ndarray:
    return np.asarray(img if isinstance(img, Image.Image) else Image.open(img))


def photo(path: Path, size=(40, 30)) -> Path:
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(path)
    return path


def test_import_ganctl_loads_no_torch():
    code = ("import sys, ganctl; assert 'torch' not in sys.modules, 'torch imported'; "
            "ganctl.__version__; ganctl.Upscaler; print('ok')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


def test_the_api_names_resolve_and_unknown_ones_fail():
    assert ganctl.load is ganctl.tasks.load
    assert {"load", "train", "list_models", "Upscaler", "Translator", "Generator",
            "Detector"} <= set(dir(ganctl))
    with pytest.raises(AttributeError):
        ganctl.nothing_of_that_name  # noqa: B018


def test_upscale_from_python_equals_the_cli(cli, tmp_path):
    src = photo(tmp_path / "in.png")
    assert cli("upscale", src, "-o", tmp_path / "cli.png").code == 0
    up = ganctl.load("photo-x4", device="cpu")
    assert isinstance(up, ganctl.Upscaler) and up.used.record["name"] == "photo-x4"
    out = up(src)
    assert out.size == (160, 120)
    assert np.array_equal(pixels(out), pixels(tmp_path / "cli.png"))
    # the same image as a PIL image, an 8-bit array, a float tensor, and in a list
    import torch

    arr = pixels(src)
    assert np.array_equal(pixels(up(Image.open(src))), pixels(out))
    assert np.array_equal(pixels(up(arr)), pixels(out))
    t = torch.from_numpy(arr.copy()).permute(2, 0, 1).float() / 255
    assert np.array_equal(pixels(up(t)), pixels(out))
    many = up([src, arr])
    assert isinstance(many, list) and all(np.array_equal(pixels(m), pixels(out)) for m in many)


def test_upscale_with_trained_weights_and_outscale_equals_the_cli(cli, runs, tmp_path):
    src = photo(tmp_path / "in.png")
    w = str(runs["sneakers2"])
    assert cli("upscale", src, "--weights", w, "--outscale", "3", "--tile", "16",
               "-o", tmp_path / "cli.png").code == 0
    up = ganctl.Upscaler.load(weights=w, device="cpu", tile=16)
    assert np.array_equal(pixels(up(src, outscale=3)), pixels(tmp_path / "cli.png"))


@pytest.mark.parametrize("name", ["edges2shoes", "horse2zebra"])
def test_translate_from_python_equals_the_cli(cli, runs, tmp_path, name):
    src = photo(tmp_path / "in.png", (48, 36))
    res = cli("translate", name, src, "--weights", runs[name], "-o", tmp_path / "cli.png",
              "--json")
    assert res.code == 0
    t = ganctl.load(name, weights=str(runs[name]), device="cpu")
    assert isinstance(t, ganctl.Translator)
    out = t(src)
    assert out.size == (48, 36)
    assert np.array_equal(pixels(out), pixels(tmp_path / "cli.png"))
    assert t.used.record == json.loads(res.out)["weights"]


def test_sample_from_python_equals_the_cli(cli, tmp_path):
    assert cli("sample", "sneakers", "--seeds", "3,5-7", "--nrow", "2",
               "-o", tmp_path / "cli.png").code == 0
    g = ganctl.load("sneakers", device="cpu")
    assert isinstance(g, ganctl.Generator)
    assert np.array_equal(pixels(g.grid("3,5-7", nrow=2)), pixels(tmp_path / "cli.png"))
    one = g([6])[0]  # an image depends only on its seed
    assert np.array_equal(pixels(one), pixels(g.grid([6])))
    assert one.size == (112, 112) and len(g.used.lines()) == 2  # generator + the x4 stage
    assert ganctl.Generator.load("sneakers", stage=1)(2)[0].size == (28, 28)


def test_detect_from_python_equals_the_cli(cli, runs, tmp_path):
    files = [photo(tmp_path / f"{i}.png", (32, 32)) for i in range(3)]
    res = cli("detect-leaks", *files, "--weights", runs["leaks"], "--json")
    assert res.code == 0
    doc = json.loads(res.out)
    d = ganctl.Detector.load(weights=str(runs["leaks"]), device="cpu")
    got = d(files)
    assert [r.score for r in got] == [r["score"] for r in doc["results"]]
    assert [r.leak for r in got] == [r["leak"] for r in doc["results"]]
    assert d.threshold == doc["threshold"] and d.rule == doc["threshold_rule"]
    assert got[0].heatmap.size == (32, 32)


def test_bad_inputs_are_one_line_errors():
    from ganctl.errors import GanctlError, UsageError

    up = ganctl.load("photo-x4", device="cpu")
    with pytest.raises(UsageError, match="not an image: dict"):
        up({})
    with pytest.raises(UsageError, match="H x W or H x W x 1/3/4"):
        up(np.zeros((4, 4, 2), np.uint8))
    with pytest.raises(GanctlError, match="no such file"):
        up("missing.png")
    with pytest.raises(UsageError, match="does not translate"):
        ganctl.Translator.load("sneakers")


@pytest.mark.slow  # 1.0 s on a 2-core EPYC: the full suite only
def test_train_from_python_is_the_cli_train(tmp_path, capsys):
    done = ganctl.train("sneakers", "synthetic", steps=3, runs_dir=tmp_path, publish="never",
                        progress=False, batch_size=8, width=8, seed=1)
    assert done.step == 3 and done.stopped_by == "--steps 3"
    assert done.weights.is_file() and done.published is None
    assert {"loss_d", "loss_g"} <= set(done.scores)
    config = json.loads((done.run / "config.json").read_text())["config"]
    assert config["batch_size"] == 8 and config["width"] == 8 and config["seed"] == 1
    assert capsys.readouterr().err == ""  # progress=False: nothing printed
    g = ganctl.Generator.load("sneakers", weights=str(done.run), device="cpu")
    assert g([0])[0].size == (28, 28)  # a stage-1 run alone stops at 28 px


def test_list_models_is_models_list_json(cli):
    assert ganctl.list_models() == json.loads(cli("models", "list", "--json").out)
    available = ganctl.list_models(available=True)
    assert {"photo-x4", "realesrgan-x4plus", "horse2zebra"} <= {r["name"] for r in available}
