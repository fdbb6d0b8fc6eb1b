"""stats.jsonl schema, wandb offline mirroring with resume, and plot-losses."""

from __future__ import annotations

import json
import os

import pytest
from PIL import Image

from ganctl import plots
from tests.conftest import FAST, run_ganctl, trained_copy


@pytest.fixture(scope="module")
def two_runs_once(tmp_path_factory, shared_data):
    return trained_copy(tmp_path_factory.mktemp("observability"), shared_data,
                        *(["train", "sneakers", "--json", "--seed", seed, "--no-publish", *FAST]
                          for seed in ("1", "2")))


@pytest.fixture
def two_runs(two_runs_once, home, tmp_path):
    """Two short sneakers runs (seeds 1 and 2), this test's own copies."""
    docs, _ = two_runs_once(home, tmp_path)
    return [str(tmp_path / d["run"]) for d in docs]


@pytest.mark.slow  # 6.8 s on a 2-core EPYC: the full suite only
def test_stats_schema_is_shared(two_runs):
    rows = plots.load(two_runs[0]).rows
    for row in rows:
        assert {"step", "epoch", "time", "imgs_per_s", "data_wait_frac", "lr_g",
                "lr_d"} <= set(row)
        assert 0 <= row["data_wait_frac"] < 1
        assert all(isinstance(v, (int, float)) for v in row.values())
    assert [r["step"] for r in rows] == sorted(r["step"] for r in rows)


@pytest.mark.slow  # 1.1 s on a 2-core EPYC: the full suite only
def test_plot_one_and_many_runs_with_globs(cli, two_runs, tmp_path):
    res = cli("plot-losses", two_runs[0], "-o", "one.png")
    assert res.code == 0, res.err
    img = Image.open(tmp_path / "one.png")
    assert img.width >= 1000 and img.height >= 700  # two panels: losses, D outputs
    res = cli("plot-losses", *two_runs, "--keys", "loss_*", "--smooth", "0.5", "--x", "epoch",
              "-o", "cmp.png", "--html", "report.html")
    assert res.code == 0, res.err
    assert Image.open(tmp_path / "cmp.png").height < img.height  # one panel only
    html = (tmp_path / "report.html").read_text()
    assert html.count("data:image/png;base64") >= 3 and "samples over time" in html
    res = cli("plot-losses", two_runs[0], "--keys", "nothing_*")
    assert res.code == 2 and "no keys match" in res.err


@pytest.mark.slow  # the two training runs take 5.7 s here: fast tier under 90 s
def test_malformed_line_is_skipped_with_a_warning(cli, two_runs, tmp_path):
    stats = os.path.join(two_runs[0], "stats.jsonl")
    with open(stats, "a") as f:
        f.write('{"step": 99, "loss_g": 1.0, "tor')  # a torn last line
    res = cli("plot-losses", stats, "-o", "x.png")
    assert res.code == 0 and "skipped a malformed line" in res.err


def test_wandb_csv_input(cli, tmp_path):
    csv = tmp_path / "export.csv"
    csv.write_text('"Step","run-a - loss_g","run-a - loss_g__MIN","run-a - loss_g__MAX",'
                   '"run-a - loss_d"\n0,1.0,0.9,1.1,0.7\n10,0.8,0.7,0.9,0.6\n20,0.6,,,0.5\n')
    run = plots.load(str(csv))
    assert [r["loss_g"] for r in run.rows] == [1.0, 0.8, 0.6]
    assert "loss_g__MIN" not in run.rows[0]
    assert cli("plot-losses", str(csv), "-o", "w.png").code == 0


@pytest.mark.slow  # the two training runs take 5.7 s here: fast tier under 90 s
def test_terminal_plot_fits_the_terminal(two_runs):
    loaded = [plots.load(r) for r in two_runs]
    text = plots.plot_terminal(loaded, plots.select_keys(loaded, ["loss_*"]), width=60,
                               height=8)
    lines = text.rstrip("\n").splitlines()
    assert max(len(line) for line in lines) <= 60
    assert sum(1 for line in lines if "|" in line) == 8
    assert "*" in text and "loss_g" in text


@pytest.mark.slow  # 2.1 s on a 2-core EPYC: the full suite only
def test_png_to_stdout(two_runs, cli, monkeypatch):
    res = run_ganctl("plot-losses", two_runs[0], "-o", "-")
    assert res.returncode == 0 and res.stdout[:8] == b"\x89PNG\r\n\x1a\n"
    import sys

    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)  # a terminal: no PNG bytes
    res = cli("plot-losses", str(two_runs[0]), "-o", "-")
    assert res.code == 2 and "refusing to write PNG bytes to a terminal" in res.err


@pytest.mark.slow
def test_wandb_offline_mirrors_and_resume_keeps_the_run_id(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    res = cli("train", "sneakers", "--json", "--wandb", "--wandb-mode", "offline",
              "--no-publish", *FAST)
    assert res.code == 0, res.err
    run = tmp_path / json.loads(res.out)["run"]
    offline = list((run / "wandb").glob("offline-run-*"))
    assert len(offline) == 1
    run_id = offline[0].name.rsplit("-", 1)[-1]
    import torch

    ckpt = sorted((run / "checkpoints").glob("*.pt"))[-1]
    assert torch.load(ckpt, weights_only=True)["wandb_id"] == run_id
    # what wandb recorded: every stats.jsonl row with the same keys and values, the
    # sample grids at their steps (files included), the final weights as an artifact
    from tests import wandb_records

    (run_file,) = offline[0].glob("run-*.wandb")
    logged = wandb_records.history(run_file)
    for row in (json.loads(x) for x in (run / "stats.jsonl").read_text().splitlines()):
        mirrored = {k: v for k, v in logged[row["step"]].items()
                    if not k.startswith(("_", "samples/"))}
        assert mirrored == pytest.approx({k: v for k, v in row.items() if k != "step"})
    grids = {s: r["samples/path"] for s, r in logged.items() if "samples/path" in r}
    assert sorted(grids) == [3, 6]
    assert all((offline[0] / "files" / path).is_file() for path in grids.values())
    (art,) = wandb_records.artifacts(run_file)
    assert (art.name, art.type) == ("sneakers-stage1", "model")
    assert [f.path for f in art.manifest.contents] == ["weights.pt"]
    assert json.loads(art.metadata)["step"] == 6
    res = cli("train", "sneakers", "--resume", str(run), "--steps", "8", "--wandb",
              "--wandb-mode", "offline", "--no-publish")
    assert res.code == 0, res.err
    ids = {p.name.rsplit("-", 1)[-1] for p in (run / "wandb").glob("offline-run-*")}
    assert ids == {run_id}


@pytest.mark.slow  # over 0.9 s: the full suite only (fast tier under 90 s)
def test_wandb_failure_warns_and_training_continues(cli, monkeypatch, tmp_path):
    import wandb

    def broken(*a, **k):
        raise RuntimeError("no network")

    monkeypatch.setattr(wandb, "init", broken)
    res = cli("train", "sneakers", "--json", "--wandb", "--no-publish", *FAST)
    assert res.code == 0, res.err
    assert "wandb online failed (RuntimeError: no network); logging offline" in res.err
    assert "offline failed too" in res.err
    assert json.loads(res.out)["step"] == 6
