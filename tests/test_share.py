"""Weights that travel: safetensors and .pt round trips give identical outputs, ONNX
exports agree with PyTorch (and with the verbs' own outputs), Hub folders hold exactly
what they promise. One tiny run per plugin, trained once for the module."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from tests.conftest import TINY

onnxruntime = pytest.importorskip("onnxruntime")

# One tiny run of every plugin's inference net (pix2pix: batch-size-1 batch norm, so
# per-image statistics; leaks: Mahalanobis score and aspect conditioning).
RUNS = {**TINY, "leaks": [*TINY["leaks"], "condition=aspect"]}


@pytest.fixture(scope="module")
def runs(tiny_runs) -> dict[str, Path]:
    return tiny_runs(RUNS)


def photo(path: Path, size=(32, 32), seed=0) -> Path:
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(path)
    return path


def outputs(cli, key: str, weights: Path, tmp: Path, tag: str):
    """What the plugin's verb makes with these weights: PNG bytes or detection scores."""
    src = photo(tmp / "in.png")
    if key in ("sneakers", "faces"):
        res = cli("sample", key, "--weights", weights, "--seeds", "0-3", "-o", tmp / f"{tag}.png")
    elif key == "sneakers2":
        res = cli("upscale", src, "--weights", weights, "-o", tmp / f"{tag}.png")
    elif key == "leaks":
        res = cli("detect-leaks", src, "--weights", weights, "--json")
        assert res.code == 0, res.err
        return [r["score"] for r in json.loads(res.out)["results"]]
    else:
        res = cli("translate", key, src, "--weights", weights, "-o", tmp / f"{tag}.png")
    assert res.code == 0, res.err
    return (tmp / f"{tag}.png").read_bytes()


@pytest.mark.parametrize("key", list(RUNS))
@pytest.mark.slow  # 1.9 s on a 2-core EPYC: the full suite only
def test_safetensors_and_pt_exports_give_identical_outputs(cli, runs, key, tmp_path):
    pt = runs[key]
    stage = ["--stage", "2"] if key.endswith("2") else []
    assert cli("models", "export", pt.parent, "-o", tmp_path / "st", *stage).code == 0
    assert cli("models", "export", pt.parent, "-o", tmp_path / "copy.pt", "--format", "pt",
               *stage).code == 0
    st = tmp_path / "st" / "model.safetensors"
    record = json.loads((tmp_path / "st" / "config.json").read_text())
    assert record["plugin"] == key.rstrip("2") and record["arch"] and record["preprocess"]
    want = outputs(cli, key, pt, tmp_path, "pt")
    assert outputs(cli, key, st, tmp_path, "st") == want
    assert outputs(cli, key, tmp_path / "st", tmp_path, "folder") == want  # a Hub folder
    assert outputs(cli, key, tmp_path / "copy.pt", tmp_path, "copy") == want


def test_safetensors_holds_the_record_and_loads_without_pickle(cli, runs, tmp_path,
                                                                monkeypatch):
    from safetensors import safe_open

    from ganctl import weights

    st = tmp_path / "sneakers.safetensors"
    assert cli("models", "export", runs["sneakers"], "-o", st).code == 0
    with safe_open(str(st), framework="pt") as f:
        header = json.loads(f.metadata()["ganctl"])
        keys = set(f.keys())
    assert header["arch"]["g"]["name"] == "dcgan_g" and header["dataset"]["fingerprint"]
    assert "versions" in header and "config" in header and "g/project.0.weight" in keys
    assert json.loads((tmp_path / "sneakers.json").read_text()) == header
    original = torch.load(runs["sneakers"], weights_only=True)

    def no_pickle(*a, **k):
        raise AssertionError("torch.load (pickle) used for a safetensors file")

    monkeypatch.setattr(torch, "load", no_pickle)
    loaded = weights.load("sneakers", 1, str(st))
    assert set(loaded.nets) == set(original["nets"]) == {"g"}
    for net, sd in original["nets"].items():
        assert sd.keys() == loaded.nets[net].keys()
        for k, t in sd.items():
            assert torch.equal(loaded.nets[net][k], t), (net, k)


def test_a_foreign_safetensors_file_is_one_clear_error(cli, tmp_path):
    from safetensors.torch import save_file

    save_file({"w": torch.zeros(2)}, str(tmp_path / "plain.safetensors"))
    res = cli("sample", "sneakers", "--weights", tmp_path / "plain.safetensors", "-n", "1",
              "-o", tmp_path / "x.png")
    assert res.code == 1 and "without ganctl's metadata" in res.err
    (tmp_path / "torn.safetensors").write_bytes(
        (tmp_path / "plain.safetensors").read_bytes()[:-3])
    res = cli("sample", "sneakers", "--weights", tmp_path / "torn.safetensors", "-n", "1")
    assert res.code == 1 and "cannot read safetensors" in res.err
    assert "Traceback" not in res.err


def reference_output(key: str, weights, inputs: dict[str, torch.Tensor]) -> list:
    """The library's own inference on the same inputs, in the deployable's terms."""
    from ganctl import registry
    from ganctl.tensors import to_pil

    plugin = registry.get(key.rstrip("2"))
    with torch.inference_mode():
        if key in ("sneakers", "faces"):
            g = weights.build("g", "cpu")
            return [(g(inputs["z"]).clamp(-1, 1) + 1) / 2]
        if key == "sneakers2":
            net, *_ = plugin.upscaler(weights, "cpu")
            return [(net(inputs["image"] * 2 - 1).clamp(-1, 1) + 1) / 2]
        if key == "leaks":
            from ganctl.plugins.leaks import score_batch

            u8 = (inputs["image"] * 255).round().to(torch.uint8)
            x = {"image": u8.float() / 255, "condition": inputs["condition"]}
            s, maps = score_batch(weights.build("vae", "cpu"), u8, inputs["condition"],
                                  weights.meta["score"], "cpu")
            return [torch.from_numpy(s).float(), maps], x
    # translation: the verb's own path (PIL in, PIL out) on an image of the working size
    img = to_pil(inputs["image"][0] * 2 - 1)
    (out,) = plugin.translator(weights, "cpu")([img])
    return [torch.from_numpy(np.array(out)).permute(2, 0, 1)[None].float() / 255], \
        {"image": torch.from_numpy(np.array(img)).permute(2, 0, 1)[None].float() / 255}


@pytest.mark.slow  # 1.6 s on a 2-core EPYC: the full suite only
def test_an_onnx_export_that_disagrees_is_refused_and_nothing_is_written(cli, runs,
                                                                         tmp_path,
                                                                         monkeypatch):
    """PyTorch's side of the check made 0.01 off: the real comparison must catch it."""
    from ganctl.infer import deploy

    run = deploy.Deployable.run
    monkeypatch.setattr(deploy.Deployable, "run",
                        lambda self, inputs: [t + 0.01 for t in run(self, inputs)])
    (tmp_path / "out").mkdir()
    res = cli("models", "export", runs["sneakers"], "-o", tmp_path / "out" / "m.onnx",
              "--format", "onnx")
    assert res.code == 1 and "differs from PyTorch by up to 1.00e-02" in res.err
    assert "not written" in res.err and list((tmp_path / "out").iterdir()) == []


@pytest.mark.parametrize("key", list(RUNS))
@pytest.mark.slow  # 1.6 s on a 2-core EPYC: the full suite only
def test_onnx_export_matches_the_library(cli, runs, key, tmp_path):
    import onnx

    from ganctl import weights

    stage = 2 if key.endswith("2") else 1
    dest = tmp_path / "m.onnx"
    res = cli("models", "export", runs[key], "-o", dest, "--format", "onnx", "--stage",
              stage, "--json")
    assert res.code == 0, res.err
    report = json.loads(res.out)
    assert report["max_diff"] <= 1e-3 and report["checked_inputs"] >= 2
    assert report["opset"] == 17
    meta = {p.key: p.value for p in onnx.load(str(dest)).metadata_props}
    assert json.loads(meta["ganctl"])["plugin"] == key.rstrip("2")

    w = weights.open_file(str(runs[key]), stage=stage)
    session = onnxruntime.InferenceSession(str(dest), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    gen = torch.Generator().manual_seed(1)
    if key in ("sneakers", "faces"):
        inputs = {"z": torch.randn(3, session.get_inputs()[0].shape[1], generator=gen)}
    elif key == "leaks":
        inputs = {"image": torch.rand(3, 3, 32, 32, generator=gen),
                  "condition": torch.zeros(3, 2)}
    else:
        inputs = {"image": torch.rand(1, 3, 32, 32, generator=gen)}
    want = reference_output(key, w, inputs)
    if isinstance(want, tuple):  # the library saw 8-bit pixels: give ONNX the same ones
        want, inputs = want
    got = session.run(None, {n: inputs[n].numpy() for n in names})
    # translation goes through an 8-bit PNG in the library: half a level of rounding
    tol = 1e-3 + (0.5 / 255 if key in ("pix2pix", "cyclegan") else 0)
    for w_, g_ in zip(want, got):
        assert tuple(w_.shape) == g_.shape
        scale = np.maximum(1.0, np.abs(w_.numpy()))  # anomaly scores are ~1e5
        assert (np.abs(w_.numpy() - g_) / scale).max() <= tol, key


def test_onnx_of_a_two_way_run_takes_either_direction(cli, runs, tmp_path):
    for way in ("AtoB", "BtoA"):
        res = cli("models", "export", runs["cyclegan"], "-o", tmp_path / f"{way}.onnx",
                  "--format", "onnx", "--direction", way)
        assert res.code == 0, res.err
    a, b = ((tmp_path / f"{w}.onnx").read_bytes() for w in ("AtoB", "BtoA"))
    assert a != b
    res = cli("models", "export", runs["sneakers"], "-o", tmp_path / "x.onnx", "--format",
              "onnx", "--direction", "AtoB")
    assert res.code == 2 and "translation plugins" in res.err


def test_hub_folder_holds_exactly_the_promised_files(cli, runs, tmp_path):
    out = tmp_path / "hub"
    assert cli("models", "export", runs["sneakers2"].parent, "--stage", "2", "--format", "hub",
               "-o", out).code == 0
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "config.json",
                                                     "model.safetensors", "samples.png"]
    card = (out / "README.md").read_text()
    front = card.split("---\n")[1]
    assert "library_name: ganctl" in front and "pipeline_tag: image-to-image" in front
    assert "# license:" in front  # left for the user, never guessed
    assert "ganctl upscale photo.png --weights hf://OWNER/REPO" in card
    # the run's own validation scores, as measured
    stats = [json.loads(x) for x in (runs["sneakers2"].parent / "stats.jsonl").read_text()
             .splitlines()]
    last = [r for r in stats if "val_psnr" in r][-1]
    assert f"| val_psnr | {last['val_psnr']:.6g} |" in card
    assert "steps: 2" in card and "hardware: cpu, 1 process" in card
    with Image.open(out / "samples.png") as img:
        assert img.size[0] > 0


def test_the_docs_onnxruntime_snippet_runs_and_matches_translate(cli, runs, tmp_path,
                                                                 monkeypatch):
    import re

    readme = (Path(__file__).resolve().parent.parent / "docs" / "usage.md").read_text()
    (snippet,) = [b for b in re.findall(r"```python\n(.*?)```", readme, re.S)
                  if "onnxruntime" in b]
    assert len(snippet.strip().splitlines()) <= 10
    assert cli("models", "export", runs["cyclegan"], "--format", "onnx", "-o",
               tmp_path / "h2z.onnx").code == 0
    photo(tmp_path / "horse.jpg", size=(300, 200), seed=4)
    monkeypatch.chdir(tmp_path)
    exec(compile(snippet, "README snippet", "exec"), {})  # noqa: S102 - our own README
    with Image.open(tmp_path / "horse.jpg") as img:
        img.convert("RGB").resize((256, 256)).save(tmp_path / "resized.png")
    assert cli("translate", "cyclegan", "resized.png", "--weights", runs["cyclegan"], "-o",
               "ganctl.png").code == 0
    ours = np.asarray(Image.open(tmp_path / "ganctl.png"), dtype=int)
    theirs = np.asarray(Image.open(tmp_path / "zebra.png"), dtype=int)
    assert theirs.shape == ours.shape == (256, 256, 3)
    assert np.abs(ours - theirs).max() <= 1  # rounding of the last 8-bit level


def test_export_refuses_what_it_cannot_do(cli, runs, tmp_path):
    res = cli("models", "export", runs["sneakers"], "--stage", "2", "-o", tmp_path / "x")
    assert res.code == 2 and "holds stage 1 weights, not --stage 2" in res.err
    res = cli("models", "export", runs["sneakers"], "--format", "zip", "-o", tmp_path / "x")
    assert res.code == 2 and "--format must be one of" in res.err
    res = cli("models", "export", runs["sneakers"], "--format", "onnx", "-o", tmp_path / "x.pt")
    assert res.code == 2 and "ends in .onnx" in res.err
    res = cli("models", "export", runs["sneakers"], "--direction", "BtoA", "-o", tmp_path / "y")
    assert res.code == 2 and "keeps every net" in res.err
    res = cli("models", "export", tmp_path / "absent.pt", "-o", tmp_path / "z")
    assert res.code == 1 and "no such file" in res.err
    assert not any(tmp_path.glob("[xyz]*"))  # nothing half-written


def test_inspect_reads_a_safetensors_file(cli, runs, tmp_path):
    assert cli("models", "export", runs["faces"], "-o", tmp_path / "f.safetensors").code == 0
    res = cli("models", "inspect", tmp_path / "f.safetensors", "--json")
    assert res.code == 0, res.err
    doc = json.loads(res.out)
    assert doc["plugin"] == "faces" and doc["kind"] == "weights" and doc["parameters"]["g"] > 0
