"""sample: seeds, outputs (file, folder, stdout), weights resolution."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import torch
from PIL import Image

from ganctl import weights
from ganctl.errors import GanctlError
from ganctl.plugins.sneakers import plugin
from tests.conftest import FAST, run_ganctl, trained_copy


@pytest.fixture(scope="module")
def trained_once(tmp_path_factory, shared_data):
    return trained_copy(tmp_path_factory.mktemp("sample"), shared_data,
                        ["train", "sneakers", "--json", "--publish", "always", *FAST])


@pytest.fixture
def trained(trained_once, home, tmp_path):
    """`ganctl train sneakers` as this test's own: run folder here, weights in its cache."""
    return trained_once(home, tmp_path)[0][0]


def test_missing_weights_name_the_train_command(cli):
    res = cli("sample", "faces", "-n", "4")  # faces ships no weights (sneakers does)
    assert res.code == 1
    assert "ganctl train faces" in res.err and "--weights" in res.err
    assert len(res.err.strip().splitlines()) == 1


@pytest.mark.slow  # 4.0 s on a 2-core EPYC: the full suite only
def test_each_image_depends_only_on_its_seed(trained):
    payload = weights.load("sneakers", 1)
    dev = torch.device("cpu")
    many = plugin.generate(payload, list(range(10)), dev, batch=3)
    few = plugin.generate(payload, [7, 2], dev)
    assert many.shape == (10, 3, 28, 28)
    assert many.min() >= -1 and many.max() <= 1
    assert torch.allclose(many[7], few[0], atol=1e-6)
    assert torch.allclose(many[2], few[1], atol=1e-6)
    assert not torch.allclose(many[0], many[1])


def test_grid_folder_and_json(cli, trained, tmp_path):
    res = cli("sample", "sneakers", "-n", "9", "-o", "grid.png")
    assert res.code == 0, res.err
    grid = Image.open(tmp_path / "grid.png")
    assert grid.size == (3 * 30 + 2, 3 * 30 + 2) and grid.mode == "RGB"
    res = cli("sample", "sneakers", "--seeds", "5-7", "-o", "many/", "--json")
    doc = json.loads(res.out)
    assert doc["seeds"] == [5, 6, 7]
    assert [f.split("/")[-1] for f in doc["files"]] == [
        "seed00005.png", "seed00006.png", "seed00007.png"]
    assert Image.open(doc["files"][0]).size == (28, 28)
    a = Image.open(tmp_path / "many" / "seed00006.png").tobytes()
    cli("sample", "sneakers", "--seeds", "6", "-o", "one/")
    assert Image.open(tmp_path / "one" / "seed00006.png").tobytes() == a


def test_seeds_run_in_chunks_with_the_same_images(cli, trained, tmp_path, monkeypatch):
    from ganctl.cli import sample_cmd

    def both(tag):
        assert cli("sample", "sneakers", "-n", "9", "-o", f"{tag}.png").code == 0
        assert cli("sample", "sneakers", "-n", "9", "-o", f"{tag}/").code == 0
        return [(tmp_path / f"{tag}.png").read_bytes(),
                *[f.read_bytes() for f in sorted((tmp_path / tag).iterdir())]]

    whole = both("whole")
    monkeypatch.setattr(sample_cmd, "SAMPLE_CHUNK", 4)  # 9 seeds: chunks of 4, 4, 1
    assert both("chunked") == whole and len(whole) == 10


def test_weights_from_run_folder(cli, trained, home):
    (home / "weights" / "sneakers" / "stage1.pt").unlink()
    res = cli("sample", "sneakers", "-n", "2", "--json")  # the bundled weights stand in
    assert res.code == 0 and json.loads(res.out)["weights"][0]["kind"] == "bundled"
    res = cli("sample", "sneakers", "-n", "2", "--weights", trained["run"], "-o", "x.png",
              "--json")
    assert res.code == 0, res.err
    used = json.loads(res.out)["weights"]
    assert [w["path"] for w in used] == [str(Path(trained["run"]) / "weights.pt")]


@pytest.mark.slow
def test_png_to_stdout_in_a_pipe(trained):
    res = run_ganctl("sample", "sneakers", "-n", "4", "-o", "-")
    assert res.returncode == 0, res.stderr
    img = Image.open(io.BytesIO(res.stdout))
    assert img.format == "PNG" and img.size == (62, 62)


@pytest.mark.parametrize("args,msg", [
    (["--seeds", "9-3"], "bad seed list"),
    (["-n", "3", "--seeds", "1"], "either -n or --seeds"),
    (["-n", "0"], "at least 1"),
    (["--stage", "7"], "there is no stage 7"),
])
def test_bad_sample_options(cli, trained, args, msg):
    res = cli("sample", "sneakers", *args)
    assert res.code == 2 and msg in res.err


def test_weights_of_another_plugin_are_refused(trained, tmp_path):
    from ganctl import checkpoint

    other = tmp_path / "faces.pt"
    checkpoint.save({"kind": "weights", "plugin": "faces", "stage": 1, "nets": {}}, other)
    with pytest.raises(GanctlError, match="belongs to plugin 'faces'"):
        weights.load("sneakers", 1, str(other))


def test_models_list_and_inspect(cli, trained):
    res = cli("models", "list", "--json")
    rows = json.loads(res.out)
    sneakers = next(r for r in rows if r["name"] == "sneakers")
    assert sneakers["stages"][0]["trained_steps"] == 6
    assert sneakers["stages"][0]["trained_on"] == "synthetic:sneakers"
    res = cli("models", "inspect", trained["run"] + "/weights.pt", "--json")
    doc = json.loads(res.out)
    assert doc["kind"] == "weights" and doc["plugin"] == "sneakers" and doc["step"] == 6
    assert doc["parameters"]["g"] > 100_000 and len(doc["sha256"]) == 64
    res = cli("models", "inspect", "sneakers", "--json")
    assert "batch_size" in json.loads(res.out)["stages"]["1"]["config"]
    res = cli("models", "path", "sneakers")
    assert res.out.strip().endswith("weights/sneakers/stage1.pt")
    assert cli("models", "inspect", "nothing-here").code == 1
