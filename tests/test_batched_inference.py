"""upscale and translate on a folder: same-size inputs run through the net together
(on a GPU; here with the GPU's group size), with exactly the outputs one-by-one
processing gives; on the CPU they run one by one."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from ganctl.cli import batch

CASES = {"sneakers2": ["upscale"], "pix2pix": ["translate", "pix2pix"],
         "cyclegan": ["translate", "cyclegan"]}


@pytest.fixture(scope="module")
def runs(tiny_runs):
    from tests.conftest import TINY

    return tiny_runs({k: TINY[k] for k in CASES})


def folder(root, sizes):
    root.mkdir()
    rng = np.random.default_rng(0)
    for i, (w, h) in enumerate(sizes):
        Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(
            root / f"{i}.png")
    return root


@pytest.mark.parametrize("key", list(CASES))
@pytest.mark.slow  # 2.5 s on a 2-core EPYC: the full suite only
def test_a_folder_runs_in_groups_with_the_outputs_of_single_images(cli, runs, key,
                                                                  tmp_path, monkeypatch):
    sizes = [(24, 20)] * 5 + [(17, 23)] + [(24, 20)] * 2  # groups of 5, 1 and 2
    src = folder(tmp_path / "in", sizes)
    calls: list[int] = []
    apply = batch.apply

    def spy(fn, imgs, label):
        calls.append(len(imgs))
        return apply(fn, imgs, label)

    monkeypatch.setattr(batch, "apply", spy)
    monkeypatch.setitem(batch.GROUP_PIXELS, "cpu", 1 << 20)  # the GPU's grouping, here

    def run(out):
        res = cli(*CASES[key], str(src), "-o", f"{out}/", "--weights", str(runs[key]),
                  "--json")
        assert res.code == 0, res.err
        return json.loads(res.out), {p.name: p.read_bytes()
                                     for p in sorted((tmp_path / out).iterdir())}

    doc, grouped = run("grouped")
    assert calls == [5, 1, 2]
    assert doc["processed"] == 8 and doc["images_per_s"] > 0
    assert doc["output_megapixels_per_s"] > 0
    calls.clear()
    monkeypatch.setattr(batch, "GROUP_IMAGES", 1)
    _, single = run("single")
    assert calls == [1] * 8
    assert grouped == single and len(grouped) == 8


def test_a_failing_group_is_retried_image_by_image(cli, runs, tmp_path, monkeypatch):
    monkeypatch.setitem(batch.GROUP_PIXELS, "cpu", 1 << 20)
    src = folder(tmp_path / "in", [(24, 20)] * 3)
    from ganctl.infer import upscale

    real = upscale.upscale_images

    def flaky(imgs, *args, **kw):
        if len(imgs) > 1:
            raise RuntimeError("out of memory for the group")
        return real(imgs, *args, **kw)

    monkeypatch.setattr("ganctl.infer.upscale.upscale_images", flaky)
    res = cli("upscale", str(src), "-o", "out/", "--weights", str(runs["sneakers2"]),
              "--json")
    assert res.code == 0, res.err
    assert json.loads(res.out)["processed"] == 3
    assert len(list((tmp_path / "out").iterdir())) == 3


def test_on_the_cpu_images_run_one_by_one(cli, runs, tmp_path, monkeypatch):
    src = folder(tmp_path / "in", [(24, 20)] * 3)
    calls: list[int] = []
    apply = batch.apply
    monkeypatch.setattr(batch, "apply", lambda fn, imgs, label: calls.append(len(imgs))
                        or apply(fn, imgs, label))
    res = cli("upscale", str(src), "-o", "out/", "--weights", str(runs["sneakers2"]))
    assert res.code == 0, res.err
    assert calls == [1, 1, 1]
