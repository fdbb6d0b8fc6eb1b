"""What a new user ran into, each fixed: file-like -o for a folder, non-pair images,
help examples cut in two, three lines for one missing file, padded piped tables, short
runs that log once, and bright speckles from the bundled upscaler on JPEG inputs."""

from __future__ import annotations

import inspect
import io
import re
from pathlib import Path

import pytest
import torch
from PIL import Image

from tests.conftest import run_ganctl

PHOTO = Path(__file__).parent.parent / "docs/img/coffee-small.png"


def pictures(folder: Path, n: int = 2, size=(20, 16)) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        Image.new("RGB", size, (40 * i, 90, 120)).save(folder / f"p{i}.png")
    return folder


def test_a_folder_into_a_file_name_is_refused_before_any_work(cli, tmp_path):
    src = pictures(tmp_path / "in")
    res = cli("upscale", src, "-o", "d.png")
    assert res.code == 2 and "-o d.png names one image, but the inputs hold 2" in res.err
    assert "-o d/" in res.err and not Path("d.png").exists()


def test_outputs_inside_the_input_folder_are_not_inputs_next_time(cli, tmp_path):
    src = pictures(tmp_path / "in")
    for _ in range(2):
        res = cli("upscale", src, "-o", src / "big/", "--json")
        assert res.code == 0 and '"processed": 2' in res.out


def test_a_missing_input_is_one_line(cli):
    res = cli("upscale", "missing.png")
    assert res.code == 2 and res.err.strip() == "ganctl: error: missing.png: no such file or folder"


@pytest.mark.slow
def test_images_that_are_not_pairs_are_refused_for_pix2pix(cli, tmp_path):
    pictures(tmp_path / "faces", 12, size=(178, 218))
    res = cli("train", "pix2pix", "--data", tmp_path / "faces", "--steps", "1")
    assert res.code == 1 and "11 of 11 images checked" in res.err  # 1 held out for val
    assert "not A|B pairs" in res.err and "p0.png (178x218)" in res.err


def test_a_few_non_pairs_are_counted_in_a_warning(tmp_path):
    from ganctl.data import layouts

    pictures(tmp_path / "pairs", 9, size=(64, 32))
    pictures(tmp_path / "odd", 1, size=(50, 50))
    files = sorted((tmp_path / "pairs").glob("*.png")) + [tmp_path / "odd" / "p0.png"]
    text = layouts.check_pairs(files, tmp_path)
    assert text.startswith("1 of 10 images checked") and "p0.png (50x50)" in text


def test_out_of_domain_images_get_a_note():
    from ganctl.cli.detect import out_of_domain

    meta = {"calibration": {"highest": 2.0}}
    rows = [{"input": "a.png", "score": 1.0}, {"input": "cat.png", "score": 50.0}]
    note = out_of_domain(rows, meta)
    assert note.startswith("1 of 2 image(s) score over 3x the highest") and "cat.png" in note
    assert out_of_domain(rows[:1], meta) is None and out_of_domain(rows, {}) is None


def help_examples() -> dict[str, list[str]]:
    """{command path: its docstring's example lines} for every verb and models command."""
    from ganctl.cli import app, models_cmd

    found = {}
    groups = [((), app), (("models",), models_cmd.models_app)]
    for prefix, group in groups:
        for cmd in group.registered_commands:
            doc = inspect.getdoc(cmd.callback) or ""
            lines = [ln.strip() for ln in doc.splitlines()
                     if re.match(r"\s*(ganctl|torchrun|cat|GANCTL)\b", ln)]
            if lines:
                found[" ".join((*prefix, cmd.name or cmd.callback.__name__))] = lines
    return found


@pytest.mark.slow
def test_help_examples_never_break_inside_a_command_at_80_columns():
    examples = help_examples()
    assert len(examples) >= 10
    for command, lines in examples.items():
        res = run_ganctl(*command.split(), "--help", env={"COLUMNS": "80"}, timeout=60)
        shown = {ln.strip() for ln in res.stdout.decode().splitlines()}
        broken = [ln for ln in lines if ln not in shown]
        assert not broken, f"{command}: {broken}"


@pytest.mark.slow
def test_piped_tables_are_as_wide_as_their_content():
    res = run_ganctl("models", "list", timeout=60)
    lines = res.stdout.decode().splitlines()
    assert lines and all(ln == ln.rstrip() for ln in lines)
    assert max(map(len, lines)) < 200


def test_short_runs_log_often_and_asked_intervals_stand():
    from ganctl.plugins.sneakers.stage1 import Stage1Config
    from ganctl.training.limits import Limits

    assert Limits(Stage1Config(steps=20, epochs=0), 10).log_every == 1
    assert Limits(Stage1Config(steps=400, epochs=0), 10).log_every == 20
    assert Limits(Stage1Config(steps=100000, epochs=0), 10).log_every == 50
    assert Limits(Stage1Config(steps=20, epochs=0, log_every=7), 10).log_every == 7
    assert Limits(Stage1Config(minutes=1, epochs=0), 10).log_every == 50


def test_without_a_terminal_progress_is_a_plain_line_every_few_seconds(capsys, monkeypatch):
    from ganctl import progress

    monkeypatch.setattr(progress.Reporter, "PLAIN_EVERY_S", 0.0)
    bar = progress.Reporter(100, 0.0, 0, 0.0, "x")
    bar.step(25, 0.5, 10.0)
    assert "25/100 steps  epoch 0.50  10 s  about 30 s left" in capsys.readouterr().err


def test_upscaled_pixels_stay_within_their_neighbourhood():
    """A net that adds a bright spike (what photo-x4 did to JPEG noise in dark areas)."""
    from ganctl.infer.upscale import RANGE_MARGIN, upscale_images

    class Spiky(torch.nn.Module):
        def forward(self, x):
            y = torch.nn.functional.interpolate(x, scale_factor=4, mode="nearest")
            y[..., 10, 10] = 1.0  # white, in a dark image
            return y

    dark = Image.new("RGB", (16, 16), (20, 20, 20))
    out = upscale_images([dark], Spiky(), 4, 3, torch.device("cpu"), tile=0, pad=1)[0]
    top = max(out.getextrema()[c][1] for c in range(3))
    assert top <= 20 + round(RANGE_MARGIN * 255 / 2) + 1  # margin is on the [-1, 1] scale


def test_the_bundled_upscaler_leaves_no_speckles_on_a_dark_jpeg(cli, tmp_path):
    rng = torch.Generator().manual_seed(0)
    noise = (torch.rand(96, 96, 3, generator=rng) * 30).to(torch.uint8).numpy()
    buf = io.BytesIO()
    Image.fromarray(noise).save(buf, format="JPEG", quality=60)
    (tmp_path / "dark.jpg").write_bytes(buf.getvalue())
    res = cli("upscale", tmp_path / "dark.jpg", "-o", tmp_path / "big.png")
    assert res.code == 0, res.err
    big = torch.from_numpy(__import__("numpy").asarray(Image.open(tmp_path / "big.png")))
    lr = Image.open(tmp_path / "dark.jpg")
    assert int(big.max()) <= max(v[1] for v in lr.getextrema()) + 16


@pytest.mark.parametrize("flag", ["--offline"])
def test_offline_errors_name_the_flag(cli, flag, monkeypatch):
    monkeypatch.delenv("GANCTL_OFFLINE", raising=False)
    res = cli(flag, "translate", "horse2zebra", PHOTO, "-o", "z.png")
    assert res.code == 1 and "offline (--offline)" in res.err
    assert "GANCTL_OFFLINE is set" not in res.err
