"""Every CycleGAN and pix2pix preset name translates with its published generator
(`--weights pretrained`, served locally) and with an imported reference file, each
name with its own net and its own direction."""

from __future__ import annotations

import hashlib
import io
import json

import pytest
import torch
from PIL import Image

from ganctl import nets
from ganctl.plugins import cyclegan
from ganctl.weights import published


def reference_file(kind: str, seed: int) -> bytes:
    torch.manual_seed(seed)
    net = (nets.build("resnet_generator", n_blocks=6, ngf=4) if kind == "cyclegan"
           else nets.build("unet", size=32, ngf=4))
    buf = io.BytesIO()
    torch.save(net.state_dict(), buf)
    return buf.getvalue()


@pytest.fixture
def served(published_host):
    files = {}
    for i, r in enumerate(sorted(published.PUBLISHED.values(), key=lambda r: r.model)):
        files[r.model] = reference_file("cyclegan" if "cyclegan" in r.url else "pix2pix", i)
        published_host.add(f"/{r.filename}", files[r.model])
    return files


def test_every_published_name_is_a_plugin_of_its_kind():
    from ganctl import registry

    for name, r in published.PUBLISHED.items():
        plugin = registry.get(name)
        assert plugin.does("translate") and r.url.endswith(f"/{r.model}.pth"), name
        assert r.direction == plugin.direction, name
        assert ("cyclegan" in r.url) == (name in cyclegan.PRESETS), name


@pytest.mark.slow  # over 0.9 s: the full suite only (fast tier under 90 s)
def test_every_preset_with_pretrained_and_with_an_imported_file(cli, served, tmp_path):
    Image.new("RGB", (40, 30), (90, 140, 60)).save(tmp_path / "in.png")
    names = {r.name: r.model for r in published.PUBLISHED.values()}
    outputs = {}
    for name, model in sorted(names.items()):
        res = cli("translate", name, "in.png", "-o", f"{name}.png", "--weights", "pretrained")
        assert res.code == 0, f"{name}: {res.err}"
        out = (tmp_path / f"{name}.png").read_bytes()
        assert Image.open(io.BytesIO(out)).size == (40, 30)
        outputs[name] = hashlib.sha256(out).hexdigest()
        # the same reference file imported by hand gives the same result
        (tmp_path / f"{model}.pth").write_bytes(served[model])
        assert cli("models", "import", f"{model}.pth", "--as", name).code == 0
        assert cli("translate", name, "in.png", "-o", f"{name}-imported.png").code == 0
        assert (tmp_path / f"{name}-imported.png").read_bytes() == out, name
        # and the bare reference file given straight to --weights
        assert cli("translate", name, "in.png", "-o", f"{name}-direct.png", "--weights",
                   f"{model}.pth").code == 0
        assert (tmp_path / f"{name}-direct.png").read_bytes() == out, name
    # every name ran its own generator: zebra2horse is not horse2zebra's net
    assert len(set(outputs.values())) == len(outputs)


@pytest.mark.slow  # 0.9 s on a 2-core EPYC: the full suite only
def test_direction_is_honoured_or_refused(cli, served, tmp_path):
    Image.new("RGB", (40, 30), (90, 140, 60)).save(tmp_path / "in.png")
    for name, wrong in (("horse2zebra", "BtoA"), ("zebra2horse", "AtoB"),
                        ("edges2shoes", "BtoA")):
        res = cli("translate", name, "in.png", "-o", "x.png", "--weights", "pretrained",
                  "--direction", wrong)
        assert res.code == 2 and "only" in res.err and "--direction" in res.err, name
    # a generator imported for one way is not used for the other
    (tmp_path / "g.pth").write_bytes(served["horse2zebra"])
    assert cli("models", "import", "g.pth", "--as", "horse2zebra").code == 0
    res = cli("translate", "zebra2horse", "in.png", "-o", "y.png")
    assert res.code == 2 and "maps A -> B only" in res.err
    assert cli("models", "import", "g.pth", "--as", "horse2zebra", "--direction",
               "sideways").code == 2
    # names without a published generator say so
    res = cli("translate", "dslr2iphone_flower", "in.png", "--weights", "pretrained")
    assert res.code == 1 and "no published pretrained generator" in res.err


def test_a_two_way_run_serves_both_names(cli, tmp_path):
    assert cli("train", "horse2zebra", "--data", "synthetic", "--steps", "1", "--publish",
               "always", "--set", "image_size=32", "n_blocks=1", "ngf=4", "ndf=4",
               "workers=0").code == 0
    Image.new("RGB", (40, 30), (90, 140, 60)).save(tmp_path / "in.png")
    for args in (("zebra2horse",), ("horse2zebra", "--direction", "BtoA"),
                 ("horse2zebra",)):
        assert cli("translate", *args, "in.png", "-o", f"{'-'.join(args)}.png").code == 0
    back = (tmp_path / "zebra2horse.png").read_bytes()
    assert back == (tmp_path / "horse2zebra---direction-BtoA.png").read_bytes()
    assert back != (tmp_path / "horse2zebra.png").read_bytes()


def test_the_back_name_takes_its_run_by_path(cli, tmp_path):
    res = cli("train", "horse2zebra", "--data", "synthetic", "--steps", "1", "--no-publish",
              "--json", "--set", "image_size=32", "n_blocks=1", "ngf=4", "ndf=4", "workers=0")
    run = json.loads(res.out)["run"]
    Image.new("RGB", (40, 30), (90, 140, 60)).save(tmp_path / "in.png")
    assert cli("translate", "zebra2horse", "in.png", "-o", "a.png", "--weights", run).code == 0
    assert cli("translate", "horse2zebra", "in.png", "-o", "b.png", "--weights", run,
               "--direction", "BtoA").code == 0
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()
