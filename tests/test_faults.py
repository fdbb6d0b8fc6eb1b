"""Faults: kill -9 mid-run (also mid-checkpoint), disk full while checkpointing, and
concurrent writers. Nothing may be lost or left torn."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import threading
import time

import pytest
import torch

from ganctl import checkpoint, weights
from ganctl.errors import GanctlError
from ganctl.train import engine, rundir

ARGS = ["train", "sneakers", "--steps", "100000", "--set", "batch_size=8", "log_every=1",
        "checkpoint_every=1", "keep_checkpoints=2", "sample_every=100000"]


def kill_loop(tmp_path, kills: int, seed: int) -> int:
    """Kill -9 a training run `kills` times at random moments, resuming each time; check
    after every kill that a whole checkpoint exists and stats.jsonl parses. Returns the
    newest checkpoint's step."""
    rng = random.Random(seed)
    for attempt in range(kills):
        cmd = [sys.executable, "-m", "ganctl", *ARGS] + (["--resume", "auto"] if attempt else [])
        proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
        for line in proc.stderr:  # wait until it is stepping, then a random extra moment
            if line.startswith("step "):
                break
        time.sleep(rng.uniform(0.0, 0.8))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        runs = list((tmp_path / "runs" / "sneakers-stage1").iterdir())
        assert len(runs) == 1  # every resume continued the same run
        ckpts = rundir.checkpoints(runs[0])
        assert ckpts, "no checkpoint survived"
        newest_ok = engine.newest_loadable(runs[0])  # never raises: one is always whole
        assert torch.load(newest_ok, weights_only=True)["kind"] == "training"
        lines = (runs[0] / "stats.jsonl").read_text().splitlines()
        parsed = [json.loads(x) for x in lines[:-1]]  # only the last line may be torn
        assert [r["step"] for r in parsed] == list(range(1, len(parsed) + 1))
    return torch.load(engine.newest_loadable(runs[0]), weights_only=True)["step"]


@pytest.mark.faults
def test_kill_9_twenty_times(tmp_path):
    assert kill_loop(tmp_path, 20, seed=1) > 20


def test_kill_9_at_random_moments_then_resume_auto(tmp_path):
    step = kill_loop(tmp_path, 3, seed=0)
    runs = list((tmp_path / "runs" / "sneakers-stage1").iterdir())
    done = engine.train(engine.TrainRequest("sneakers", overrides={"steps": step + 1},
                                            device="cpu", resume="auto"))
    assert done.step == step + 1 and done.run.resolve() == runs[0].resolve()
    rows = [json.loads(x) for x in (runs[0] / "stats.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == list(range(1, step + 2))  # torn tail trimmed


def test_disk_full_while_checkpointing_keeps_the_previous_one(monkeypatch, tmp_path):
    real = checkpoint.atomic_write
    calls = {"n": 0}

    def flaky(path, write):
        if str(path).endswith(".pt") and "ckpt-" in str(path):
            calls["n"] += 1
            if calls["n"] == 2:
                raise OSError(28, "No space left on device")
        return real(path, write)

    monkeypatch.setattr(checkpoint, "atomic_write", flaky)
    with pytest.raises(GanctlError, match="No space left on device"):
        engine.train(engine.TrainRequest(
            "sneakers", device="cpu", overrides={"steps": 4, "batch_size": 8,
                                                 "checkpoint_every": 2, "log_every": 1}))
    run = next((tmp_path / "runs" / "sneakers-stage1").iterdir())
    assert [p.name for p in rundir.checkpoints(run)] == ["ckpt-000000002.pt"]
    assert checkpoint.load(rundir.checkpoints(run)[0])["step"] == 2
    assert not list(run.glob("checkpoints/.*.tmp"))  # no temp file left behind


def test_concurrent_runs_get_distinct_folders(tmp_path):
    group = tmp_path / "runs" / "x"
    made = []

    def claim():
        for _ in range(10):
            made.append(rundir.new_run(group, "d"))

    threads = [threading.Thread(target=claim) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(made) == 40 and len(set(made)) == 40


def test_concurrent_publishing_never_exposes_a_torn_file():
    payload = {"kind": "weights", "plugin": "p", "stage": 1, "nets": {"g": {
        "w": torch.zeros(256, 256)}}}
    stop = threading.Event()
    errors = []

    def writer():
        while not stop.is_set():
            weights.publish(payload, "p", 1)

    def reader():
        deadline = time.time() + 3
        while time.time() < deadline:
            path = weights.cache_path("p", 1)
            if path.exists():
                try:
                    checkpoint.load(path)
                except GanctlError as e:
                    errors.append(str(e))
        stop.set()

    threads = [threading.Thread(target=writer), threading.Thread(target=writer),
               threading.Thread(target=reader)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_disk_full_while_writing_an_output_keeps_the_batch_going(cli, monkeypatch, tmp_path):
    from PIL import Image

    from ganctl.infer import io as infer_io

    assert cli("train", "sneakers", "--stage", "2", "--steps", "1", "--set", "batch_size=2",
               "n_blocks=1", "width=8", "content=pixel").code == 0
    (tmp_path / "in").mkdir()
    for name in ("a", "b", "c"):
        Image.new("RGB", (8, 8), (10, 20, 30)).save(tmp_path / "in" / f"{name}.png")
    real = infer_io.atomic_write

    def full_on_b(path, write):
        if path.name.startswith("b"):
            raise OSError(28, "No space left on device")
        return real(path, write)

    monkeypatch.setattr(infer_io, "atomic_write", full_on_b)
    res = cli("upscale", str(tmp_path / "in"), "-o", "out/")
    assert res.code == 1 and "No space left on device" in res.err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a-x4.png", "c-x4.png"]
    assert not list((tmp_path / "out").glob(".*"))  # no temp file left
