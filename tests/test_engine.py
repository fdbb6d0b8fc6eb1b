"""The training engine: run folders, stats, checkpoints, exact resume, signals, publishing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from ganctl import checkpoint, registry
from ganctl.training import engine
from tests.conftest import FAST


def train(steps: int, resume=None, publish=True, **sets):
    overrides = {"batch_size": 16, "log_every": 2, "sample_every": 4, "checkpoint_every": 4,
                 "steps": steps, **sets}
    return engine.train(engine.TrainRequest(registry.get("sneakers"),
                                            overrides=overrides, device="cpu",
                                            resume=resume, publish=publish))


@pytest.mark.slow
def test_run_folder_contents(cli, tmp_path):
    res = cli("train", "sneakers", "--data", "synthetic", "--json", *FAST)
    assert res.code == 0, res.err
    summary = json.loads(res.out)
    run = tmp_path / summary["run"]
    assert run.parent == tmp_path / "runs" / "sneakers-stage1"
    assert run.name.startswith("00000-")
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["plugin"] == "sneakers" and cfg["config"]["batch_size"] == 16
    assert cfg["dataset"]["synthetic"] is True
    rows = [json.loads(line) for line in (run / "stats.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [2, 4, 6]
    for key in ("epoch", "time", "imgs_per_s", "data_wait_frac", "lr_g", "lr_d", "loss_g",
                "loss_d", "d_real", "d_fake"):
        assert key in rows[0], key
    assert sorted(p.name for p in (run / "samples").iterdir()) == [
        "fakes000000003.png", "fakes000000006.png"]
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == [
        "ckpt-000000003.pt", "ckpt-000000006.pt"]
    assert (run / "weights.pt").is_file()
    # a second run gets the next number
    res2 = cli("train", "sneakers", "--json", *FAST)
    assert json.loads(res2.out)["run"].split("/")[-1].startswith("00001-")


@pytest.mark.slow  # over 0.9 s: the full suite only (fast tier under 90 s)
def test_checkpoints_describe_themselves_and_load_weights_only(tmp_path):
    result = train(4)
    payload = torch.load(result.checkpoint, weights_only=True)
    assert payload["format"] == "ganctl" and payload["format_version"] == 1
    assert payload["kind"] == "training" and payload["plugin"] == "sneakers"
    assert payload["stage"] == 1 and payload["step"] == 4
    assert payload["arch"]["g"]["name"] == "dcgan_g"
    assert payload["preprocess"] == {"size": [28, 28], "channels": 3, "range": [-1.0, 1.0]}
    assert payload["dataset"]["fingerprint"] and payload["versions"]["torch"]
    assert set(payload["optimizers"]) == {"g", "d"} and "rng" in payload
    w = torch.load(result.run / "weights.pt", weights_only=True)
    assert w["kind"] == "weights" and set(w["nets"]) == {"g"}


@pytest.mark.slow
def test_keep_checkpoints_prunes_old_ones():
    result = train(12, keep_checkpoints=2)
    names = sorted(p.name for p in (result.run / "checkpoints").iterdir())
    assert names == ["ckpt-000000008.pt", "ckpt-000000012.pt"]


def _all_weights(payload):
    return {f"{n}.{k}": v for n, sd in payload["nets"].items() for k, v in sd.items()} | {
        f"ema.{n}.{k}": v for n, sd in payload["ema"].items() for k, v in sd.items()}


@pytest.mark.slow
def test_resume_equals_uninterrupted_run(tmp_path):
    full = train(10, ema=0.9)
    straight = torch.load(full.checkpoint, weights_only=True)
    part = train(6, ema=0.9, publish=False)
    resumed = train(10, resume=str(part.run), ema=0.9)
    assert resumed.run == part.run and resumed.step == 10
    again = torch.load(resumed.checkpoint, weights_only=True)
    a, b = _all_weights(straight), _all_weights(again)
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    opt_a = straight["optimizers"]["g"]["state"][0]["exp_avg"]
    assert torch.equal(opt_a, again["optimizers"]["g"]["state"][0]["exp_avg"])
    # the logged curves agree too (stats lines after the resume point are rewritten)
    rows_a = [json.loads(x) for x in (full.run / "stats.jsonl").read_text().splitlines()]
    rows_b = [json.loads(x) for x in (part.run / "stats.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows_b] == [2, 4, 6, 8, 10]
    assert [r["loss_g"] for r in rows_a] == [r["loss_g"] for r in rows_b]


@pytest.mark.slow
def test_resume_auto_picks_latest_run_and_refuses_changes(cli):
    assert cli("train", "sneakers", *FAST).code == 0
    res = cli("train", "sneakers", "--resume", "auto", "--steps", "8", "--json")
    assert res.code == 0, res.err
    assert json.loads(res.out)["step"] == 8
    assert "resuming" in res.err
    bad = cli("train", "sneakers", "--resume", "auto", "--steps", "9", "--set", "arch=mlp")
    assert bad.code == 2 and "cannot change arch when resuming" in bad.err


@pytest.mark.slow
def test_resume_skips_a_damaged_newest_checkpoint(tmp_path, capsys):
    part = train(8, publish=False)
    older, newest = sorted((part.run / "checkpoints").glob("ckpt-*.pt"))
    assert older.name == "ckpt-000000004.pt"
    newest.write_bytes(newest.read_bytes()[:1000])  # torn file
    capsys.readouterr()
    resumed = train(10, resume=str(part.run), publish=False)
    err = capsys.readouterr().err
    assert "skipping unreadable checkpoint" in err and "from step 4" in err
    straight = engine.train(engine.TrainRequest(
        registry.get("sneakers"), device="cpu", publish=False, runs_dir=tmp_path / "straight",
        overrides={"batch_size": 16, "log_every": 2, "sample_every": 4,
                   "checkpoint_every": 4, "steps": 10}))
    a = _all_weights(torch.load(resumed.checkpoint, weights_only=True))
    b = _all_weights(torch.load(straight.checkpoint, weights_only=True))
    assert resumed.step == 10 and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.slow
def test_ctrl_c_to_the_process_group_with_loader_workers_still_checkpoints(tmp_path):
    """A terminal's Ctrl-C reaches every process of the group, DataLoader workers too."""
    cmd = [sys.executable, "-m", "ganctl", "train", "edges2shoes", "--data", "synthetic",
           "--steps", "100000", "--set", "net_g=unet_64", "load_size=72", "crop_size=64",
           "workers=2", "log_every=1", "checkpoint_every=100000", "val_images=0"]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.time() + 120
    for line in proc.stderr:
        if line.startswith("step 3") or time.time() > deadline:
            break
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "SIGINT at step" in err and "Traceback" not in err
    assert "ganctl: stopped: SIGINT" in err and "ganctl: error" not in err  # a stop, not a failure
    assert list((tmp_path / "runs").glob("*/*/checkpoints/ckpt-*.pt"))


def test_unsafe_and_foreign_checkpoints_are_refused(tmp_path):
    import pickle

    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            import os
            return (os.system, (f"touch {marker}",))

    evil = tmp_path / "evil.pt"
    evil.write_bytes(pickle.dumps({"format": "ganctl", "x": Evil()}))
    torch_evil = tmp_path / "evil2.pt"
    torch.save({"format": "ganctl", "x": Evil()}, torch_evil)
    for path in (evil, torch_evil):
        with pytest.raises(checkpoint.GanctlError, match="refusing to load .*system"):
            checkpoint.load(path)  # the message names the global it refused (os.system)
    assert not marker.exists()

    newer = tmp_path / "newer.pt"
    torch.save({"format": "ganctl", "format_version": 99, "kind": "weights"}, newer)
    with pytest.raises(checkpoint.GanctlError, match="newer than this ganctl"):
        checkpoint.load(newer)
    bare = tmp_path / "bare.pt"
    torch.save({"weight": torch.zeros(2)}, bare)
    with pytest.raises(checkpoint.GanctlError, match="not a ganctl checkpoint"):
        checkpoint.load(bare)
    other = tmp_path / "other.pt"
    checkpoint.save({"kind": "weights", "plugin": "faces", "stage": 1}, other)
    with pytest.raises(checkpoint.GanctlError, match="belongs to plugin 'faces'"):
        checkpoint.load(other, plugin="sneakers")


def test_atomic_write_gives_files_the_usual_permissions(tmp_path):
    path = tmp_path / "out.png"
    checkpoint.atomic_write(path, lambda f: f.write(b"x"))
    assert path.stat().st_mode & 0o777 == 0o666 & ~checkpoint.UMASK


def test_atomic_write_keeps_the_old_file_on_failure(tmp_path):
    path = tmp_path / "out" / "ckpt.pt"
    checkpoint.save({"kind": "weights", "plugin": "p", "v": 1}, path)

    def failing(f):
        f.write(b"partial")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        checkpoint.atomic_write(path, failing)
    assert checkpoint.load(path)["v"] == 1
    assert [p.name for p in path.parent.iterdir()] == ["ckpt.pt"]  # no temp file left


@pytest.mark.slow  # over 0.9 s: the full suite only (fast tier under 90 s)
def test_ema_weights_are_published(home):
    result = train(4, ema=0.5)
    published = torch.load(result.weights, weights_only=True)
    ckpt = torch.load(result.checkpoint, weights_only=True)
    assert published["ema_nets"] == ["g"]
    for k, v in published["nets"]["g"].items():
        assert torch.equal(v, ckpt["ema"]["g"][k]), k
    assert str(result.weights).startswith(str(home / "weights" / "sneakers"))
    meta = json.loads(result.weights.with_suffix(".json").read_text())
    assert meta["step"] == 4 and meta["plugin"] == "sneakers"


@pytest.mark.slow
def test_loss_d_goes_down_on_fixed_seed(tmp_path):
    result = train(40, log_every=10, seed=3, sample_every=1000, checkpoint_every=1000)
    rows = [json.loads(x) for x in (result.run / "stats.jsonl").read_text().splitlines()]
    assert rows[-1]["loss_d"] < rows[0]["loss_d"]
    assert rows[-1]["d_real"] > rows[-1]["d_fake"]


@pytest.mark.slow
def test_the_end_says_which_rule_stopped_and_a_spent_budget_says_how_to_go_on(cli):
    res = cli("train", "sneakers", "--json", *FAST)
    assert res.code == 0 and json.loads(res.out)["stopped_by"] == "--steps 6"
    again = cli("train", "sneakers", "--resume", "auto")
    assert again.code == 0 and "already reached --steps 6" in again.err
    assert "--resume auto --steps 12" in again.err and "done: 6 steps" in again.err
    more = cli("train", "sneakers", "--resume", "auto", "--epochs", "0.5", "--json")
    doc = json.loads(more.out)  # the named rule replaces the saved --steps 6
    assert doc["stopped_by"] == "--epochs 0.5" and doc["step"] == 16  # 32 batches/epoch


def test_progress_fraction_follows_whichever_limit_is_nearer():
    from ganctl.progress import Reporter, rate

    r = Reporter(100, 60.0, 0, 0.0, "x", enabled=False)
    assert r.fraction(10, 30.0) == 0.5 and r.fraction(80, 6.0) == 0.8
    assert Reporter(None, 60.0, 0, 0.0, "x", False).fraction(999, 15.0) == 0.25
    assert Reporter(None, 0.0, 0, 0.0, "x", False).fraction(5, 5.0) == 0.0
    assert (rate(0.83), rate(3.14159), rate(1234.5)) == ("0.83", "3.1", "1234")
