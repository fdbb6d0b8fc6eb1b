"""Shared fixtures: an isolated GANCTL_HOME per test (generated synthetic data is shared),
a working directory per test, and an in-process CLI runner."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

# Under pytest-xdist (the README's `pytest -n 2`) each worker gets its share of the cores,
# as two trainings on one machine should (docs/performance.md): torch's threads and the
# subprocesses' follow OMP_NUM_THREADS.
if os.environ.get("PYTEST_XDIST_WORKER"):
    _workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // _workers)))

# A small, fast training run used by many tests.
FAST = ["--steps", "6", "--set", "batch_size=16", "log_every=2", "sample_every=3",
        "checkpoint_every=3"]


@pytest.fixture(scope="session")
def shared_data(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("shared-data")


@pytest.fixture(autouse=True)
def home(tmp_path, shared_data, monkeypatch) -> Path:
    h = tmp_path / "home"
    h.mkdir()
    (h / "data").mkdir()  # per test: downloads and imports never leak between tests
    (h / "data" / "synthetic").symlink_to(shared_data, target_is_directory=True)
    monkeypatch.setenv("GANCTL_HOME", str(h))
    monkeypatch.setenv("WANDB_MODE", "disabled")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    # tests never reach the internet: published weights come from `published_host`
    monkeypatch.setenv("GANCTL_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)
    return h


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys):
    """Run `ganctl ARGS...` in this process; returns exit code, stdout, stderr."""
    from ganctl.cli import main

    def run(*args: str) -> Result:
        capsys.readouterr()
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        out = capsys.readouterr()
        return Result(code, out.out, out.err)

    return run


def run_ganctl(*args: str, env: dict | None = None, timeout: float = 300, **kw):
    """Run `python -m ganctl ARGS...` in a subprocess (for signals, stdout bytes, imports)."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "ganctl", *map(str, args)],
                          capture_output=True, env=full_env, timeout=timeout, **kw)


# The smallest training of each plugin's nets, for tests that need trained weights (the
# tiny_runs fixture trains each once per session). pix2pix's args serve every pix2pix name
# (edges2shoes, ...) and cyclegan's every CycleGAN name (horse2zebra, ...).
TINY = {
    "sneakers": ["--steps", "2", "--set", "batch_size=8", "width=8"],
    "sneakers2": ["--stage", "2", "--steps", "2", "--set", "batch_size=4", "n_blocks=1",
                  "width=8", "warmup_steps=1", "content=pixel"],
    "faces": ["--steps", "2", "--set", "ngf=8", "ndf=8", "batch_size=8"],
    "pix2pix": ["--steps", "2", "--set", "net_g=unet_32", "load_size=40", "crop_size=32",
                "ngf=4", "ndf=4", "workers=0"],
    "cyclegan": ["--steps", "2", "--set", "image_size=32", "n_blocks=1", "ngf=4", "ndf=4",
                 "workers=0", "pool_size=4"],
    "leaks": ["--epochs", "1", "--set", "image_size=32", "width=8", "latent=8",
              "batch_size=32"],
}


@pytest.fixture(scope="session")
def tiny_runs(tmp_path_factory, shared_data):
    """train({key: args}) -> {key: weights.pt}: tiny runs trained once for the whole session
    (in this process, in one folder with its own GANCTL_HOME), shared by every module that
    asks for the same plugin and arguments. A key ending in 2 names the plugin without the
    2 (sneakers2 is sneakers with --stage 2 in its args)."""
    from ganctl.cli import main

    root = tmp_path_factory.mktemp("tiny-runs")
    (root / "home" / "data").mkdir(parents=True)
    (root / "home" / "data" / "synthetic").symlink_to(shared_data, target_is_directory=True)
    done: dict[tuple, Path] = {}

    def train(runs: dict[str, list[str]]) -> dict[str, Path]:
        out = {}
        for key, args in runs.items():
            plugin = key.rstrip("2")
            if (plugin, *args) not in done:
                with pytest.MonkeyPatch.context() as mp:
                    mp.setenv("GANCTL_HOME", str(root / "home"))
                    mp.setenv("WANDB_MODE", "disabled")
                    mp.chdir(root)
                    before = set(root.glob("runs/*/*/weights.pt"))
                    try:
                        main(["train", plugin, "--data", "synthetic", "--no-publish",
                              "--set", "sample_every=1000", *args])
                    except SystemExit as e:
                        assert not e.code, f"training {key} failed"
                    (done[(plugin, *args)],) = set(root.glob("runs/*/*/weights.pt")) - before
            out[key] = done[(plugin, *args)]
        return out

    return train


def trained_copy(root: Path, shared_data: Path, *trainings: list[str]):
    """Run each `trainings` CLI call once in `root` (its own GANCTL_HOME); returns
    fn(home, cwd) that gives a test its own copy, as if it had trained itself: the run
    folders under `cwd`, the published weights in `home`'s cache. fn returns (the --json
    result of each training, their stderr)."""
    import contextlib
    import io
    import shutil

    from ganctl.cli import main

    (root / "home" / "data").mkdir(parents=True)
    (root / "home" / "data" / "synthetic").symlink_to(shared_data, target_is_directory=True)
    docs, err = [], io.StringIO()
    for args in trainings:
        out = io.StringIO()
        with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stdout(out), \
                contextlib.redirect_stderr(err):
            mp.setenv("GANCTL_HOME", str(root / "home"))
            mp.setenv("WANDB_MODE", "disabled")
            mp.chdir(root)
            try:
                main(args)
            except SystemExit as e:
                assert not e.code, err.getvalue()[-2000:]
        docs.append(json.loads(out.getvalue()))

    def copy(home: Path, cwd: Path):
        from ganctl import checkpoint, weights

        shutil.copytree(root / "runs", cwd / "runs", dirs_exist_ok=True)
        for pt in (root / "home" / "weights").glob("*/stage*.pt"):
            weights.publish(checkpoint.load(pt), pt.parent.name, int(pt.stem[5:]))
        return docs, err.getvalue()

    return copy


@pytest.fixture
def published_host(monkeypatch):
    """A local HTTP server standing in for the host of the published pix2pix/CycleGAN
    weights: every `ganctl.weights.published` record points at it. Serve a record's file with
    `server.add("/" + record.filename, body)`."""
    import dataclasses

    from ganctl.weights import published
    from tests.httpserver import Server

    monkeypatch.delenv("GANCTL_OFFLINE", raising=False)
    server = Server()
    moved = {name: dataclasses.replace(r, url=f"{server.url}/{r.filename}")
             for name, r in published.PUBLISHED.items()}
    monkeypatch.setattr(published, "PUBLISHED", moved)
    yield server
    server.close()
