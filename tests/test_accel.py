"""Speed options: mixed precision, channels-last, torch.compile's fallback, loss scaling."""

from __future__ import annotations

import json
import math

import pytest
import torch

from ganctl import registry
from ganctl.errors import GanctlError
from ganctl.training import accel, dist, engine


def train(steps: int, resume=None, **sets):
    overrides = {"batch_size": 16, "log_every": 1, "sample_every": 100, "steps": steps,
                 "precision": "fp32", "channels_last": False, "ema": 0.0, **sets}
    return engine.train(engine.TrainRequest(registry.get("sneakers"),
                                            overrides=overrides, device="cpu",
                                            resume=resume, publish=False))


def rows(run):
    return [json.loads(x) for x in (run / "stats.jsonl").read_text().splitlines()]


@pytest.mark.slow
def test_bf16_trains_on_cpu_and_keeps_fp32_weights():
    res = train(3, precision="bf16")
    losses = [r["loss_g"] for r in rows(res.run)]
    assert len(losses) == 3 and all(math.isfinite(v) for v in losses)
    state = torch.load(res.checkpoint, weights_only=True)
    assert all(v.dtype in (torch.float32, torch.int64) for v in state["nets"]["g"].values())
    fp32 = rows(train(1).run)[0]
    # same init, data and noise: bf16 is close to fp32, not equal
    assert rows(res.run)[0]["loss_d"] == pytest.approx(fp32["loss_d"], rel=0.05)
    assert rows(res.run)[0]["loss_d"] != fp32["loss_d"]


def test_fp16_is_refused_off_cuda(cli):
    res = cli("train", "sneakers", "--steps", "1", "--precision", "fp16")
    assert res.code == 2
    assert "fp16 needs a CUDA GPU" in res.err and "Traceback" not in res.err
    bad = cli("train", "sneakers", "--steps", "1", "--precision", "fp8")
    assert bad.code == 2 and "not one of fp32, bf16, fp16" in bad.err


@pytest.mark.slow
def test_channels_last_matches_contiguous_and_resumes_either_way():
    plain = train(2)
    last = train(2, channels_last=True)
    for a, b in zip(rows(plain.run), rows(last.run)):
        assert b["loss_d"] == pytest.approx(a["loss_d"], rel=1e-4)
        assert b["loss_g"] == pytest.approx(a["loss_g"], rel=1e-4)
    more = train(4, resume=str(last.run), channels_last=False)
    whole = train(4)  # the same four steps in one contiguous run
    assert more.step == 4 and [r["step"] for r in rows(more.run)] == [1, 2, 3, 4]
    # After the switch the runs agree up to the layouts' float differences (under 1e-3 at
    # step 3, 2e-3 at step 4); Adam moments left in the old layout put loss_g 10 % off at step 3.
    for a, b in zip(rows(whole.run)[2:], rows(more.run)[2:]):
        assert b["loss_d"] == pytest.approx(a["loss_d"], rel=1e-2)
        assert b["loss_g"] == pytest.approx(a["loss_g"], rel=1e-2)


@pytest.mark.slow  # over 0.9 s: the full suite only (fast tier under 90 s)
def test_compile_falls_back_with_a_warning(cli, monkeypatch):
    monkeypatch.setattr(accel, "compile_problem", lambda device: "RuntimeError: no compiler")
    res = cli("train", "sneakers", "--steps", "2", "--compile", "--set", "batch_size=8")
    assert res.code == 0, res.err
    assert "torch.compile does not work here (RuntimeError: no compiler)" in res.err
    assert "training without it" in res.err


@pytest.mark.slow  # 0.9 s on a 2-core EPYC: the full suite only
def test_loss_scaler_skips_an_overflowing_update_and_backs_off():
    plugin = registry.get("sneakers")
    cfg = plugin.config_class(1)(batch_size=8)
    data = plugin.load_data(cfg, "synthetic", 1)
    recipe = plugin.setup(cfg, data, 1, torch.device("cpu"))
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**16)
    recipe.scalers = {"g": scaler}
    g = recipe.nets["g"]
    before = [p.detach().clone() for p in g.parameters()]
    loss = g(torch.randn(4, cfg.z_dim)).mean()
    recipe.update(loss * float("inf"), "g")
    assert all(torch.equal(a, b) for a, b in zip(before, g.parameters()))  # skipped
    assert scaler.get_scale() == 2.0**15
    recipe.update(g(torch.randn(4, cfg.z_dim)).mean(), "g")
    assert any(not torch.equal(a, b) for a, b in zip(before, g.parameters()))


def test_a_recipe_with_its_own_backward_is_stopped_when_it_matters():
    cfg = registry.get("sneakers").config_class(1)()

    class OwnBackward:
        updates = 0

    engine.check_updates(OwnBackward(), cfg, dist.Dist())  # plain fp32: fine
    with pytest.raises(GanctlError, match="distributed training needs"):
        engine.check_updates(OwnBackward(), cfg, dist.Dist(rank=0, world=2))


def test_distributed_device_choices_are_checked_before_joining(monkeypatch):
    from ganctl.errors import UsageError

    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    with pytest.raises(UsageError, match="cuda:LOCAL_RANK"):
        dist.start("cuda:1")
    with pytest.raises(UsageError, match="runs on cuda or cpu"):
        dist.start("mps")
    monkeypatch.setenv("WORLD_SIZE", "1")
    assert dist.start("cpu")[0].world == 1  # a plain run never joins a group


@pytest.mark.slow  # 1.7 s on a 2-core EPYC: the full suite only
def test_sync_bn_alone_is_ignored_with_a_warning(cli):
    res = cli("train", "sneakers", "--steps", "1", "--set", "batch_size=8", "sync_bn=true",
              "--no-publish")
    assert res.code == 0 and "sync_bn only matters for several processes" in res.err


def test_usable_cores_follow_the_container_quota(tmp_path):
    from ganctl.device import cgroup_cpu_quota, usable_cores

    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert cgroup_cpu_quota(tmp_path) is None
    assert usable_cores(tmp_path) == len(__import__("os").sched_getaffinity(0))
    (tmp_path / "cpu.max").write_text("150000 100000\n")  # 1.5 cores: one thread
    assert cgroup_cpu_quota(tmp_path) == 1.5 and usable_cores(tmp_path) == 1
    v1 = tmp_path / "v1"
    (v1 / "cpu").mkdir(parents=True)
    (v1 / "cpu" / "cpu.cfs_quota_us").write_text("-1\n")
    (v1 / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert cgroup_cpu_quota(v1) is None
    (v1 / "cpu" / "cpu.cfs_quota_us").write_text("100000\n")
    assert usable_cores(v1) == 1
    assert cgroup_cpu_quota(tmp_path / "absent") is None


def test_thread_count_prefers_the_flag_then_omp_then_cores_per_local_process():
    from ganctl.device import thread_count
    from ganctl.errors import UsageError

    assert thread_count(3, {"OMP_NUM_THREADS": "8"}, cores=16)[0] == 3
    assert thread_count(None, {"OMP_NUM_THREADS": "8"}, cores=16)[0] == 8
    assert thread_count(None, {}, cores=16)[0] == 16
    # torchrun's placeholder OMP_NUM_THREADS=1 for 4 local processes: 16 cores / 4
    torchrun = {"OMP_NUM_THREADS": "1", "LOCAL_WORLD_SIZE": "4"}
    assert thread_count(None, torchrun, cores=16)[0] == 4
    assert thread_count(None, {**torchrun, "OMP_NUM_THREADS": "2"}, cores=16)[0] == 2
    assert thread_count(None, {"LOCAL_WORLD_SIZE": "4"}, cores=2)[0] == 1
    assert thread_count(None, {"OMP_NUM_THREADS": "junk"}, cores=6)[0] == 6
    with pytest.raises(UsageError, match="at least 1"):
        thread_count(0, {}, cores=4)


@pytest.mark.slow  # over 0.9 s: the full suite only (fast tier under 90 s)
def test_threads_flag_sets_torch_and_is_recorded(cli, tmp_path):
    before = torch.get_num_threads()
    try:
        res = cli("train", "sneakers", "--data", "synthetic", "--steps", "1", "--threads",
                  "1", "--no-publish", "--runs-dir", str(tmp_path))
        assert res.code == 0, res.err
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
    (cfg,) = tmp_path.glob("*/*/config.json")
    assert json.loads(cfg.read_text())["threads"] == 1
    bad = cli("train", "sneakers", "--threads", "0")
    assert bad.code == 2 and "--threads must be at least 1" in bad.err


def test_busy_cpus_get_a_threads_hint_unless_threads_were_chosen(monkeypatch):
    from ganctl import device

    monkeypatch.setattr(device, "usable_cores", lambda: 4)
    monkeypatch.setattr(device.os, "getloadavg", lambda: (4.2, 1.0, 0.5))
    msg = device.busy_cpus_warning(None, {})
    assert "load 4.2 on 4 usable cores" in msg and "--threads 2" in msg
    assert device.busy_cpus_warning(2, {}) is None
    assert device.busy_cpus_warning(None, {"OMP_NUM_THREADS": "2"}) is None
    assert device.busy_cpus_warning(None, {"LOCAL_WORLD_SIZE": "2"}) is None
    monkeypatch.setattr(device.os, "getloadavg", lambda: (1.5, 1.0, 0.5))
    assert device.busy_cpus_warning(None, {}) is None
