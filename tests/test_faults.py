"""Faults: kill -9 mid-run (also mid-checkpoint), disk full while checkpointing, and
concurrent writers. Nothing may be lost or left torn."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time

import pytest
import torch

from ganctl import checkpoint, registry, weights
from ganctl.errors import GanctlError
from ganctl.training import engine, rundir

pytestmark = pytest.mark.slow  # kill and signal loops (not in the fast tier)

ARGS = ["train", "sneakers", "--steps", "100000", "--set", "batch_size=8", "log_every=1",
        "checkpoint_every=1", "keep_checkpoints=2", "sample_every=100000"]


def wait_for(predicate, timeout: float = 120.0, what: str = "condition"):
    deadline = time.time() + timeout
    while not (found := predicate()):
        assert time.time() < deadline, f"timed out waiting for {what}"
        time.sleep(0.005)
    return found


def freeze_inside_a_write(proc, folder, timeout: float = 20.0) -> bool:
    """SIGSTOP `proc` while one of its temp files exists in `folder` (it is then frozen
    inside a checkpoint write); False if no write was caught in time."""
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        if list(folder.glob(".*.tmp")):
            proc.send_signal(signal.SIGSTOP)
            if list(folder.glob(".*.tmp")):
                return True
            proc.send_signal(signal.SIGCONT)
    return False


def kill_loop(tmp_path, kills: int, seed: int) -> dict:
    """Kill -9 a training run `kills` times, resuming each time. Each kill waits for a
    checkpoint newer than the last kill's, then strikes at a random moment; every third
    one lands inside a checkpoint write. After every kill: the child died of signal 9,
    every checkpoint on disk reads back whole, the newest is past the previous kill's
    (the resume made progress), and stats.jsonl parses (only its last line may be torn)."""
    rng = random.Random(seed)
    group = tmp_path / "runs" / "sneakers-stage1"
    last, mid_write = 0, 0
    for attempt in range(kills):
        cmd = [sys.executable, "-m", "ganctl", *ARGS] + (["--resume", "auto"] if attempt else [])
        proc = subprocess.Popen(cmd, stderr=subprocess.DEVNULL)
        run = wait_for(lambda: next(group.glob("*/checkpoints"), None), what="a run folder")
        wait_for(lambda run=run, last=last: any(int(p.stem[5:]) > last
                                                for p in run.glob("ckpt-*.pt")),
                 what=f"a checkpoint past step {last}")
        if attempt % 3 == 2 and freeze_inside_a_write(proc, run):
            mid_write += 1
        else:
            time.sleep(rng.uniform(0.0, 0.5))
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
        assert len(list(group.iterdir())) == 1  # every resume continued the same run
        steps = [checkpoint.load(p, kind="training")["step"] for p in checkpoint.training_files(
            run.parent)]  # all of them whole, not just the newest
        assert steps and max(steps) > last
        last = max(steps)
        lines = (run.parent / "stats.jsonl").read_text().splitlines()
        parsed = [json.loads(x) for x in lines[:-1]]
        assert [r["step"] for r in parsed] == list(range(1, len(parsed) + 1))
    return {"run": run.parent, "step": last, "mid_write": mid_write}


def finish_and_count_leftovers(result: dict) -> list:
    """Resume once more in-process and list the temp files still on disk afterwards."""
    run = result["run"]
    done = engine.train(engine.TrainRequest(registry.get("sneakers"),
                                            overrides={"steps": result["step"] + 1},
                                            device="cpu", resume="auto"))
    assert done.step == result["step"] + 1 and done.run.resolve() == run.resolve()
    rows = [json.loads(x) for x in (run / "stats.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == list(range(1, done.step + 1))  # torn tail trimmed
    return list(run.rglob(".*.tmp"))


@pytest.mark.faults
def test_kill_9_fifty_times(tmp_path):
    result = kill_loop(tmp_path, 50, seed=1)
    assert result["mid_write"] >= 10  # 16 of the 50 aim inside a write
    assert finish_and_count_leftovers(result) == []  # 0 files left half-written


def test_kill_9_at_random_moments_and_inside_a_write_then_resume_auto(tmp_path):
    result = kill_loop(tmp_path, 3, seed=0)
    assert result["mid_write"] == 1
    assert finish_and_count_leftovers(result) == []


def test_stale_temp_files_of_dead_processes_are_removed_only(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    ours = tmp_path / f".ckpt-000000001.pt.{checkpoint.HOST}-{os.getpid()}.abc123.tmp"
    gone = tmp_path / f".ckpt-000000002.pt.{checkpoint.HOST}-{dead.pid}.def456.tmp"
    other = tmp_path / f".ckpt-000000003.pt.otherhost-{dead.pid}.ghi789.tmp"
    for p in (ours, gone, other):
        p.write_bytes(b"half")
    assert checkpoint.remove_stale_temps(tmp_path) == [gone]
    assert ours.exists() and other.exists() and not gone.exists()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_checkpoints_exits_128_plus_n_and_resume_is_exact(tmp_path, sig):
    sets = ["batch_size=16", "log_every=1", "checkpoint_every=100000", "sample_every=100000"]
    proc = subprocess.Popen([sys.executable, "-m", "ganctl", "train", "sneakers", "--steps",
                             "100000", "--no-publish", "--set", *sets],
                            stderr=subprocess.PIPE, text=True)
    for line in proc.stderr:
        if line.startswith("step 3"):
            break
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + sig, err
    assert f"{signal.Signals(sig).name} at step" in err and "--resume auto" in err
    assert "Traceback" not in err
    (ckpt,) = (tmp_path / "runs" / "sneakers-stage1").glob("*/checkpoints/ckpt-*.pt")
    step = checkpoint.load(ckpt)["step"]
    overrides = {k: int(v) for k, v in (x.split("=") for x in sets)} | {"steps": step + 2}
    resumed = engine.train(engine.TrainRequest(registry.get("sneakers"),
                                               overrides=overrides, device="cpu",
                                               resume="auto", publish=False))
    straight = engine.train(engine.TrainRequest(registry.get("sneakers"),
                                                overrides=overrides, device="cpu",
                                                publish=False, runs_dir=tmp_path / "straight"))
    a = checkpoint.load(resumed.checkpoint)["nets"]
    b = checkpoint.load(straight.checkpoint)["nets"]
    for net in a:
        for k in a[net]:
            assert torch.equal(a[net][k], b[net][k]), f"{net}.{k}"


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
            registry.get("sneakers"), device="cpu", overrides={"steps": 4, "batch_size": 8,
                                                 "checkpoint_every": 2, "log_every": 1}))
    run = next((tmp_path / "runs" / "sneakers-stage1").iterdir())
    assert [p.name for p in checkpoint.training_files(run)] == ["ckpt-000000002.pt"]
    assert checkpoint.load(checkpoint.training_files(run)[0])["step"] == 2
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
