"""Real photographs from ../shared/data (research sets, never committed; required in CI,
skipped elsewhere when missing): pix2pix trains on real facades and edges2shoes pairs
with the CPU recipe and `translate` gives each real input back at its own size."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not (SHARED / "facades").is_dir(),
                                 reason=f"no real photos at {SHARED} (see its README)")]
# The CPU recipe, shrunk to seconds: 64-px crops of a U-Net 64 of width 16.
SMALL = ["net_g=unet_64", "load_size=72", "crop_size=64", "ngf=16", "ndf=16",
         "sample_every=40", "log_every=10", "lr=1e-3"]


def pairs(tmp: Path, name: str, n_train: int, n_val: int) -> Path:
    files = sorted((SHARED / name / "train").glob("*.jpg"))
    for sub, chosen in (("train", files[:n_train]), ("val", files[-n_val:])):
        (tmp / name / sub).mkdir(parents=True)
        for f in chosen:
            (tmp / name / sub / f.name).symlink_to(f)
    return tmp / name


@pytest.mark.parametrize("name", ["facades", "edges2shoes"])
def test_pix2pix_learns_real_pairs_and_translates_at_the_inputs_size(cli, tmp_path, name):
    root = pairs(tmp_path, name, 12, 3)
    res = cli("train", name, "--data", str(root), "--steps", "120", "--json", "--publish", "always",
              "--set", *SMALL)
    assert res.code == 0, res.err
    run = Path(json.loads(res.out)["run"])
    cfg = json.loads((run / "config.json").read_text())["config"]
    assert cfg["recipe"] == "cpu" and cfg["direction"] == ("BtoA" if name == "facades"
                                                           else "AtoB")
    rows = [json.loads(x) for x in (run / "stats.jsonl").read_text().splitlines()]
    l1 = [r["loss_g_l1"] for r in rows if "loss_g_l1" in r]
    assert len(l1) == 12 and sum(l1[-3:]) < sum(l1[:3])  # the L1 term falls on real pairs
    assert len([r for r in rows if "val_l1" in r]) == 3  # validated on the val pairs

    pair = np.asarray(Image.open(sorted((root / "val").iterdir())[0]).convert("RGB"))
    half = pair.shape[1] // 2
    inp, truth = (pair[:, half:], pair[:, :half]) if name == "facades" else \
        (pair[:, :half], pair[:, half:])
    Image.fromarray(inp).save(tmp_path / "in.png")
    res = cli("translate", name, str(tmp_path / "in.png"), "-o", str(tmp_path / "out.png"))
    assert res.code == 0, res.err
    out = np.asarray(Image.open(tmp_path / "out.png").convert("RGB")).astype(float)
    assert out.shape == truth.shape
    if name == "edges2shoes":  # 120 small steps make a shoe-shaped fill, not yet a facade
        # A quarter closer to the true photo than its own mean colour is (measured 59 vs
        # 101 on this pair; an untrained net: 107).
        flat = truth.reshape(-1, 3).mean(0)
        assert np.abs(out - truth).mean() < 0.75 * np.abs(flat - truth).mean()
    else:  # facades generalise: each val label map's output is nearer its own photo
        assert generalises(cli, root, tmp_path, name)


def generalises(cli, root: Path, tmp_path: Path, name: str) -> bool:
    """Translate every val input; True when the outputs are on average closer (L1) to
    their own true photos than to the other val pairs' photos."""
    ins, truths = [], []
    for i, f in enumerate(sorted((root / "val").iterdir())):
        pair = np.asarray(Image.open(f).convert("RGB"))
        half = pair.shape[1] // 2
        Image.fromarray(pair[:, half:]).save(tmp_path / f"v{i}.png")  # labels (BtoA)
        ins.append(tmp_path / f"v{i}.png")
        truths.append(pair[:, :half].astype(float))
    assert cli("translate", name, *ins, "-o", tmp_path / "outs/").code == 0
    outs = [np.asarray(Image.open(tmp_path / "outs" / f"{p.stem}-{name}.png").convert("RGB"))
            .astype(float) for p in ins]
    own = np.mean([np.abs(o - t).mean() for o, t in zip(outs, truths)])
    other = np.mean([np.abs(o - truths[(i + 1) % len(truths)]).mean()
                     for i, o in enumerate(outs)])
    return own < other
