"""CLI behaviour: help without torch, exit codes, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from tests.conftest import run_ganctl

VERBS = ["download-data", "train", "sample", "upscale", "translate", "detect-leaks",
         "evaluate", "plot-losses", "demo", "models", "models list", "models export"]
# What the help path must never import: the heavy libraries (torch alone is seconds on a
# cold cache) and pydantic, which typer pulls in to coerce values (~50 ms).
HEAVY = ("torch", "numpy", "PIL", "gradio", "huggingface_hub", "pydantic", "rich.markdown")


def help_imports(*argv: str) -> tuple[list[str], float, str]:
    """(heavy modules imported, seconds, stdout) of `ganctl ARGV` in a fresh process."""
    code = ("import sys, time; t = time.perf_counter()\n"
            "from ganctl.cli import main\n"
            f"try:\n    main({list(argv)!r})\nexcept SystemExit as e:\n"
            "    assert e.code in (0, None), e.code\n"
            "took = time.perf_counter() - t\n"
            f"print('HEAVY', [m for m in {HEAVY!r} if m in sys.modules], took)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    line = res.stdout.strip().splitlines()[-1]
    heavy, took = line.removeprefix("HEAVY ").rsplit(" ", 1)
    return eval(heavy), float(took), res.stdout  # noqa: S307 - our own repr of a list


def test_help_imports_nothing_heavy_and_is_fast():
    heavy, took, out = help_imports("--help")
    assert heavy == [] and "Commands" in out
    # bench/help_time.py measures it properly (median of 10, alone); here the parallel
    # suite may share the CPU
    assert took < 1.0


@pytest.mark.parametrize("verb", VERBS)
@pytest.mark.slow  # 2.5 s on a 2-core EPYC: the full suite only
def test_every_verb_help_lists_examples_without_heavy_imports(verb):
    heavy, _, out = help_imports(*verb.split(), "--help")
    assert heavy == [], heavy
    if verb not in ("models", "plot-losses"):
        assert "Examples" in out


def test_unknown_verb_is_usage_error(cli):
    assert cli("no-such-verb").code == 2


def test_unknown_plugin_is_one_line(cli):
    res = cli("train", "no-such-plugin")
    assert res.code == 2
    assert "Traceback" not in res.err
    assert res.err.strip().splitlines() == [
        "ganctl: error: unknown plugin 'no-such-plugin'; `ganctl models list` shows the "
        f"{len(__import__('ganctl.registry').registry.names())} installed"]
    res = cli("train", "edges2shoe")
    assert "did you mean edges2shoes?" in res.err


def test_version(cli):
    res = cli("--version")
    assert res.code == 0 and res.out.startswith("ganctl ")


def test_internal_errors_have_no_traceback_unless_debug(cli, monkeypatch):
    import ganctl.registry as registry

    def boom(*a, **k):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(registry, "names", boom)
    res = cli("models", "list")
    assert res.code == 1
    assert "internal error: RuntimeError: kaboom" in res.err and "Traceback" not in res.err
    with pytest.raises(RuntimeError):
        cli("--debug", "models", "list")


def test_python_dash_m_entry_point():
    t = time.perf_counter()
    res = run_ganctl("--version")
    assert res.returncode == 0 and res.stdout.startswith(b"ganctl ")
    assert time.perf_counter() - t < 10


def test_set_takes_several_pairs():
    from ganctl.cli import expand_sets

    assert expand_sets(["train", "x", "--set", "a=1", "b=2", "--steps", "3", "pos=1"]) == [
        "train", "x", "--set", "a=1", "--set", "b=2", "--steps", "3", "pos=1"]


def test_outputs_of_same_named_inputs_do_not_collide(cli, tmp_path):  # bundled photo-x4
    from PIL import Image

    for sub, colour in (("a", (200, 0, 0)), ("b", (0, 0, 200))):
        (tmp_path / "up" / sub).mkdir(parents=True)
        Image.new("RGB", (8, 8), colour).save(tmp_path / "up" / sub / "x.png")
    res = cli("upscale", "up/a", "up/b", "-o", "out/")
    assert res.code == 0, res.err
    a, b = Image.open(tmp_path / "out/a/x-x4.png"), Image.open(tmp_path / "out/b/x-x4.png")
    assert a.getpixel((16, 16))[0] > 100 and b.getpixel((16, 16))[2] > 100  # not overwritten


@pytest.mark.parametrize("name, fmt", [("o.gif", "GIF"), ("o.tif", "TIFF"), ("o.webp", "WEBP"),
                                       ("o.jpg", "JPEG"), ("o", "PNG")])
def test_output_suffix_decides_the_format(cli, tmp_path, name, fmt):
    from PIL import Image

    Image.new("RGB", (8, 8), (1, 2, 3)).save(tmp_path / "i.png")
    assert cli("upscale", "i.png", "-o", name).code == 0
    assert Image.open(tmp_path / name).format == fmt
    bad = cli("upscale", "i.png", "-o", "o.xyz")
    assert bad.code == 2 and "cannot write .xyz files" in bad.err


@pytest.mark.slow
def test_models_list_keeps_whole_names_when_piped():
    out = run_ganctl("models", "list").stdout.decode()
    assert "iphone2dslr_flower" in out and "summer2winter_yosemite" in out and "…" not in out


@pytest.mark.slow  # over 0.9 s: the full suite only (fast tier under 90 s)
def test_no_publish_json_names_the_run_weights(cli, tmp_path):
    from tests.conftest import FAST

    doc = json.loads(cli("train", "sneakers", "--no-publish", "--json", *FAST).out)
    assert doc["published"] is None and (tmp_path / doc["weights"]).is_file()
