"""Two-process data-parallel training with torchrun and the gloo backend on CPU."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from tests.conftest import run_ganctl

pytestmark = pytest.mark.slow  # two-process torchrun runs (not in the fast tier)

ARGS = ["train", "sneakers", "--data", "synthetic", "--set", "batch_size=8", "log_every=2",
        "sample_every=100", "checkpoint_every=2", "keep_checkpoints=5", "--json"]


def torchrun(*args: str, nproc: int = 2) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                           "--nproc-per-node", str(nproc), "-m", "ganctl", *args],
                          capture_output=True, text=True, env=env, timeout=300)


def files_under(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def test_distributed_resume_equals_uninterrupted_run(tmp_path, home):
    """Two ranks end bit-identical and only rank 0 writes; resumed from its step-4
    checkpoint, the run reaches the same step-6 weights again."""
    # published: rank 0 alone writes the cache
    res = torchrun(*ARGS, "--steps", "6", "--publish", "always")
    assert res.returncode == 0, res.stderr[-3000:]
    summary = json.loads(res.stdout)  # one JSON document: rank 1 printed nothing
    assert summary["step"] == 6
    assert res.stderr.count("now the default for sneakers") == 1

    runs = list((tmp_path / "runs" / "sneakers-stage1").iterdir())
    assert len(runs) == 1  # one run folder, numbered once
    run = runs[0]
    assert files_under(run) == {
        "config.json", "stats.jsonl", "weights.pt", "samples/fakes000000006.png",
        *(f"checkpoints/ckpt-00000000{s}.pt" for s in (2, 4, 6))}
    assert json.loads((run / "config.json").read_text())["world_size"] == 2
    assert files_under(home / "weights") == {"sneakers/stage1.pt", "sneakers/stage1.json"}

    weights = torch.load(run / "weights.pt", weights_only=True)
    sums = weights["distributed"]["checksums"]
    assert len(sums) == 2 and sums[0] == sums[1]  # both ranks ended bit-identical
    rows = [json.loads(line) for line in (run / "stats.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [2, 4, 6]
    # each rank takes its own slice of a batch: 2 x 8 images per step
    assert summary["epoch"] == round(6 / (512 // 16), 4)

    # the same run cut back to its step-4 checkpoint, as if stopped there, then resumed
    run_a, run_b = run, tmp_path / "cut" / run.name
    shutil.copytree(run_a, run_b)
    for name in ("weights.pt", "checkpoints/ckpt-000000006.pt", "samples/fakes000000006.png"):
        (run_b / name).unlink()
    resumed = torchrun(*ARGS, "--steps", "6", "--no-publish", "--resume", str(run_b))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    a = torch.load(run_a / "checkpoints" / "ckpt-000000006.pt", weights_only=True)
    b = torch.load(run_b / "checkpoints" / "ckpt-000000006.pt", weights_only=True)
    for net in ("g", "d"):
        for k, v in a["nets"][net].items():
            assert torch.equal(v, b["nets"][net][k]), (net, k)
    assert len(b["ranks"]) == 2 and b["ranks"][0]["rng"]["torch"].shape == a["rng"]["torch"].shape

    alone = run_ganctl(*ARGS, "--steps", "8", "--no-publish", "--resume", run_b)
    assert alone.returncode == 2  # a plain run cannot continue a 2-process run's state
    assert b"written by 2 process(es)" in alone.stderr and b"Traceback" not in alone.stderr


def test_one_process_under_torchrun_equals_a_plain_run(tmp_path):
    one = torchrun(*ARGS, "--steps", "4", "--no-publish", "--runs-dir", "one", nproc=1)
    assert one.returncode == 0, one.stderr[-3000:]
    plain = run_ganctl(*ARGS, "--steps", "4", "--no-publish", "--runs-dir", "plain",
                       env={"OMP_NUM_THREADS": "1"})
    assert plain.returncode == 0, plain.stderr[-3000:]
    a = torch.load(Path(json.loads(one.stdout)["checkpoint"]), weights_only=True)
    b = torch.load(Path(json.loads(plain.stdout)["checkpoint"]), weights_only=True)
    for net in ("g", "d"):
        for k, v in a["nets"][net].items():
            assert torch.equal(v, b["nets"][net][k]), (net, k)


def test_cyclegan_ranks_keep_their_own_image_pools(tmp_path):
    res = torchrun("train", "horse2zebra", "--data", "synthetic", "--steps", "3", "--json",
                   "--no-publish", "--set", "image_size=32", "n_blocks=1", "ngf=4", "ndf=4",
                   "workers=0", "batch_size=1", "pool_size=4", "checkpoint_every=3",
                   "sample_every=100")
    assert res.returncode == 0, res.stderr[-3000:]
    ckpt = torch.load(Path(json.loads(res.stdout)["checkpoint"]), weights_only=True)
    pools = [r["recipe"]["pool_a"] for r in ckpt["ranks"]]
    assert len(pools) == 2
    images = [torch.stack(p) for p in pools]
    assert images[0].shape == images[1].shape and images[0].shape[0] == 3  # 3 fakes each
    assert not torch.equal(images[0], images[1])  # each rank pooled its own fakes
