"""Shared fixtures: an isolated GANCTL_HOME per test (generated synthetic data is shared),
a working directory per test, and an in-process CLI runner."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

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


def train_runs(root: Path, shared_data: Path, runs: dict[str, list[str]]) -> dict[str, Path]:
    """Train each run once for a whole test module (in this process, in `root`, its own
    GANCTL_HOME); {key: its weights.pt}. A key ending in 2 trains that plugin's stage 2
    when the args say --stage 2."""
    from ganctl.cli import main

    (root / "home" / "data").mkdir(parents=True)
    (root / "home" / "data" / "synthetic").symlink_to(shared_data, target_is_directory=True)
    out = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GANCTL_HOME", str(root / "home"))
        mp.setenv("WANDB_MODE", "disabled")
        mp.chdir(root)
        for key, args in runs.items():
            before = set(root.glob("runs/*/*/weights.pt"))
            try:
                main(["train", key.rstrip("2"), "--data", "synthetic", "--no-publish",
                      "--set", "sample_every=1000", *args])
            except SystemExit as e:
                assert not e.code, f"training {key} failed"
            (out[key],) = set(root.glob("runs/*/*/weights.pt")) - before
    return out
