"""`ganctl demo`'s handlers, called directly (no browser): each gives what the CLI gives
for the same input and the same weights."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from ganctl import registry
from ganctl.demo import handlers
from ganctl.errors import GanctlError
from tests.conftest import TINY

RUNS = {"sneakers": TINY["sneakers"], "sneakers2": TINY["sneakers2"], "faces": TINY["faces"],
        "edges2shoes": TINY["pix2pix"], "horse2zebra": TINY["cyclegan"], "leaks": TINY["leaks"]}


@pytest.fixture(scope="module")
def runs(tiny_runs) -> dict[str, Path]:
    return tiny_runs(RUNS)


def pixels(img_or_path) -> np.ndarray:
    img = img_or_path if isinstance(img_or_path, Image.Image) else Image.open(img_or_path)
    return np.asarray(img.convert("RGB"))


def sketch_layer(size=256) -> Image.Image:
    """What the sketch pad hands over: black strokes on a transparent layer."""
    img = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    ImageDraw.Draw(img).line([(40, 200), (120, 90), (220, 180)], fill=(0, 0, 0, 255), width=4)
    return img


@pytest.mark.slow  # 4.6 s on a 2-core EPYC: the full suite only
def test_a_drawing_translates_like_its_png_through_the_cli(cli, runs, tmp_path):
    h = handlers.Translation(registry.get("edges2shoes"), str(runs["edges2shoes"]))
    img = handlers.drawing({"background": None, "layers": [], "composite": sketch_layer()})
    assert img.mode == "RGB" and pixels(img)[0, 0].tolist() == [255, 255, 255]  # on white
    (out,) = h(img)
    img.save(tmp_path / "drawing.png")
    res = cli("translate", "edges2shoes", tmp_path / "drawing.png", "--weights",
              runs["edges2shoes"], "-o", tmp_path / "cli.png")
    assert res.code == 0, res.err
    assert (pixels(out) == pixels(tmp_path / "cli.png")).all()
    with pytest.raises(GanctlError, match="draw something first"):
        handlers.drawing({"background": None, "layers": [], "composite": None})


def test_a_two_way_run_shows_both_directions(cli, runs, tmp_path):
    h = handlers.Translation(registry.get("horse2zebra"), str(runs["horse2zebra"]))
    assert h.labels == ["horse2zebra (AtoB)", "horse2zebra (BtoA)"]
    photo = Image.fromarray(np.random.default_rng(0).integers(0, 256, (30, 40, 3), np.uint8))
    photo.save(tmp_path / "p.png")
    outs = h(photo)
    for way, out in zip(("AtoB", "BtoA"), outs):
        res = cli("translate", "horse2zebra", tmp_path / "p.png", "--weights",
                  runs["horse2zebra"], "--direction", way, "-o", tmp_path / f"{way}.png")
        assert res.code == 0, res.err
        assert (pixels(out) == pixels(tmp_path / f"{way}.png")).all(), way
    assert not (pixels(outs[0]) == pixels(outs[1])).all()


@pytest.mark.parametrize("key,extra", [("sneakers", []), ("faces", ["--truncation", "1.5"])])
def test_generated_grids_equal_sample_seeds(cli, runs, tmp_path, key, extra):
    h = handlers.Generation(registry.get(key), str(runs[key]))
    grid = h.grid("3,7,0-5", None, float(extra[1]) if extra else None)
    res = cli("sample", key, "--weights", runs[key], "--seeds", "3,7,0-5", *extra, "-o",
              tmp_path / "cli.png")
    assert res.code == 0, res.err
    assert (pixels(grid) == pixels(tmp_path / "cli.png")).all()
    with pytest.raises(GanctlError, match="at most 256"):
        h.grid("0-300")
    assert 0 <= h.random_seed() < 2**31


def test_interpolation_gif_equals_sample_interpolate(cli, runs, tmp_path):
    h = handlers.Generation(registry.get("faces"), str(runs["faces"]))
    gif = h.animation(2, 9, 5, tmp_path)
    res = cli("sample", "faces", "--weights", runs["faces"], "--interpolate", "2", "9",
              "--steps", "5", "-o", tmp_path / "cli.gif")
    assert res.code == 0, res.err
    assert Path(gif).read_bytes() == (tmp_path / "cli.gif").read_bytes()
    with pytest.raises(GanctlError, match="no latent interpolation"):
        handlers.Generation(registry.get("sneakers"), str(runs["sneakers"])).animation(
            0, 1, 3, tmp_path)


def test_upscaling_equals_the_cli(cli, runs, tmp_path):
    h = handlers.Upscaling(registry.get("sneakers"), str(runs["sneakers2"]))
    src = Image.fromarray(np.random.default_rng(1).integers(0, 256, (20, 24, 3), np.uint8))
    src.save(tmp_path / "small.png")
    big = h(handlers.open_upload(str(tmp_path / "small.png"), None), 256)
    res = cli("upscale", tmp_path / "small.png", "--weights", runs["sneakers2"], "-o",
              tmp_path / "cli.png")
    assert res.code == 0, res.err
    assert big.size == (96, 80) and (pixels(big) == pixels(tmp_path / "cli.png")).all()


def test_detection_rows_equal_detect_leaks_and_bad_files_are_rows(cli, runs, tmp_path):
    rng = np.random.default_rng(2)
    files = []
    for i in range(4):
        p = tmp_path / f"photo{i}.png"
        Image.fromarray(rng.integers(0, 256, (40 + i, 50, 3), np.uint8)).save(p)
        files.append(str(p))
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    (tmp_path / "ann.txt").write_text("".join(f"photo{i}.png {i % 2}\n" for i in range(4)))
    h = handlers.Detection(registry.get("leaks"), str(runs["leaks"]))
    rows, heatmaps, plots = h([*files, str(tmp_path / "broken.png")],
                              str(tmp_path / "ann.txt"), tmp_path)
    res = cli("detect-leaks", *files, "--weights", runs["leaks"], "--json")
    assert res.code == 0, res.err
    want = {Path(r["input"]).name: r for r in json.loads(res.out)["results"]}
    good = [r for r in rows if r[1] is not None]
    assert len(good) == 4 and len(heatmaps) == 4
    for name, score, verdict in good:
        assert score == want[name]["score"]
        assert verdict == ("leak" if want[name]["leak"] else "normal")
    (bad,) = [r for r in rows if r[1] is None]
    assert bad[0] == "broken.png" and bad[2].startswith("unreadable")
    assert sorted(Path(p).name for p in plots) == ["pr.png", "roc.png"]


def test_runs_dashboard_reads_a_run_that_is_still_writing(runs, tmp_path):
    import shutil

    run = tmp_path / "live"
    shutil.copytree(runs["sneakers"].parent, run)
    with open(run / "stats.jsonl", "a") as f:
        f.write('{"step": 99, "loss_g": 0.')  # a torn last line
    (tmp_path / "out").mkdir()
    png, grids = handlers.Runs.under(tmp_path).refresh(tmp_path / "out")
    assert png and Image.open(png).size[0] > 100
    assert [name for _, name in grids] == ["live"]
    with pytest.raises(GanctlError, match="no run folders"):
        handlers.Runs.under(tmp_path / "out")


def test_missing_weights_say_how_to_train_them():
    with pytest.raises(GanctlError, match="ganctl train edges2shoes"):
        handlers.Translation(registry.get("edges2shoes"))


def test_demo_command_refusals(cli, monkeypatch):
    import sys

    res = cli("demo", "sneakers", "leaks", "--weights", "x.pt", "--no-browser")
    assert res.code == 2 and "give one target" in res.err
    res = cli("demo", "nonesuch", "--no-browser")
    assert res.code == 2 and "unknown plugin" in res.err
    monkeypatch.setitem(sys.modules, "gradio", None)
    res = cli("demo", "sneakers", "--no-browser")
    assert res.code == 1 and "pip install 'ganctl[demo]'" in res.err


def test_uploads_keep_the_cli_pixel_limit(runs, tmp_path, monkeypatch):
    import PIL.Image

    Image.new("RGB", (64, 64), "gray").save(tmp_path / "big.png")
    monkeypatch.setattr(PIL.Image, "MAX_IMAGE_PIXELS", 1000)  # 4096 px is a "bomb" now
    with pytest.raises(GanctlError, match="too many pixels"):
        handlers.open_upload(str(tmp_path / "big.png"))
    h = handlers.Detection(registry.get("leaks"), str(runs["leaks"]))
    rows, heatmaps, _ = h([str(tmp_path / "big.png")], None, tmp_path)
    assert rows[0][0] == "big.png" and "too many pixels" in rows[0][2] and not heatmaps


def test_serve_listens_where_asked_warns_off_localhost_and_cleans_up(capsys, monkeypatch):
    """demo.serve with a stand-in page: what it hands Gradio, and what it leaves behind."""
    import os
    import sys
    import types

    from ganctl import demo
    from ganctl.demo import app

    launches = []

    class Page:
        def queue(self):
            return self

        def launch(self, **kw):
            launches.append({**kw, "temp": os.environ["GRADIO_TEMP_DIR"]})
            raise KeyboardInterrupt  # Ctrl-C while serving

        def close(self):
            launches[-1]["closed"] = True

    monkeypatch.setitem(sys.modules, "gradio", types.ModuleType("gradio"))
    for var in ("GRADIO_TEMP_DIR", "GRADIO_ANALYTICS_ENABLED"):  # restored afterwards
        monkeypatch.setenv(var, "")
    monkeypatch.setattr(app, "build", lambda gr, targets, out, weights, device: Page())
    for host in ("127.0.0.1", "0.0.0.0"):
        demo.serve(["sneakers"], host=host, port=7999, open_browser=False)
        err = capsys.readouterr().err
        assert ("anyone who can reach this machine" in err) == (host == "0.0.0.0")
        assert "demo stopped" in err
        got = launches[-1]
        assert got["server_name"] == host and got["server_port"] == 7999
        assert got["max_file_size"] == "25mb" and got["closed"] and not got["inbrowser"]
        temp = Path(got["temp"]).parent
        assert temp.name.startswith("ganctl-demo-") and not temp.exists()  # removed
        assert str(temp / "out") in got["allowed_paths"]


def test_the_pages_run_a_clip_as_the_cli_does(cli, runs, tmp_path):
    av = pytest.importorskip("av")
    from tests.test_video import decoded_frames, make_clip

    clip = make_clip(tmp_path / "clip.mp4", frames=6, size=(32, 24))
    h = handlers.Translation(registry.get("horse2zebra"), str(runs["horse2zebra"]))
    out = Path(h.video(str(clip), tmp_path))
    res = cli("translate", "horse2zebra", clip, "--weights", runs["horse2zebra"], "-o",
              tmp_path / "cli.mp4")
    assert res.code == 0, res.err
    ours, theirs = decoded_frames(out), decoded_frames(tmp_path / "cli.mp4")
    assert len(ours) == len(theirs) == 6  # the same frames, up to the lossy codec:
    assert all(np.abs(pixels(a).astype(int) - pixels(b)).mean() < 4 for a, b in zip(ours, theirs))
    up = handlers.Upscaling(registry.get("sneakers"), str(runs["sneakers2"]))
    with av.open(up.video(str(clip), tmp_path)) as c:
        assert (c.streams.video[0].width, c.streams.video[0].frames) == (128, 6)
    with pytest.raises(GanctlError, match="upload a video"):
        h.video(None, tmp_path)
