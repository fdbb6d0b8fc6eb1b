"""Config: typed --set overrides, validation, config files, --dry-run."""

from __future__ import annotations

import json

import pytest

from ganctl import config
from ganctl.errors import UsageError
from ganctl.plugins.sneakers.stage1 import Stage1Config


def test_overrides_are_typed():
    cfg = config.build(Stage1Config, dict(config.parse_sets(
        ["batch_size=32 lr=1e-3", "spectral_norm=yes", "ema=0.99"])))
    assert (cfg.batch_size, cfg.lr, cfg.spectral_norm, cfg.ema) == (32, 1e-3, True, 0.99)
    assert config.build(Stage1Config, {"arch": "mlp"}).arch == "mlp"
    with pytest.raises(UsageError, match="apply to arch=dcgan"):  # checked across fields
        config.build(Stage1Config, {"arch": "mlp", "spectral_norm": "yes"})


@pytest.mark.parametrize("pair,msg", [
    ("batch_size=lots", "bad value for batch_size"),
    ("arch=resnet", "is not one of dcgan, original, mlp"),
    ("batch_size=0", "below the minimum"),
    ("spectral_norm=maybe", "expected true or false"),
    ("batchsize=3", "unknown config key 'batchsize'"),
    ("lr=__import__('os').system('true')", "bad value for lr"),
    ("lr=nan", "not a finite number"),
    ("lr=inf", "not a finite number"),
    ("ema=1.5", "above the maximum"),
    ("ema=1", "above the maximum"),
    ("beta1=5", "above the maximum"),
    ("beta2=-0.1", "below the minimum"),
])
def test_bad_overrides_are_usage_errors(pair, msg):
    with pytest.raises(UsageError, match=msg.replace("(", r"\(")):
        config.build(Stage1Config, dict(config.parse_sets([pair])))


def test_set_without_equals_is_rejected():
    with pytest.raises(UsageError, match="key=value"):
        config.parse_sets(["lr"])


def test_config_files_toml_and_json(tmp_path):
    (tmp_path / "a.toml").write_text('batch_size = 8\nloss = "hinge"\nlr = 1\n')
    (tmp_path / "b.json").write_text(json.dumps({"batch_size": 4, "ema": 0.5}))
    a = config.build(Stage1Config, config.read_config_file(tmp_path / "a.toml"))
    b = config.build(Stage1Config, config.read_config_file(tmp_path / "b.json"))
    assert (a.batch_size, a.loss, a.lr) == (8, "hinge", 1.0)
    assert isinstance(a.lr, float)
    assert (b.batch_size, b.ema) == (4, 0.5)
    (tmp_path / "bad.toml").write_text("batch_size = [")
    with pytest.raises(UsageError, match="cannot parse config file"):
        config.read_config_file(tmp_path / "bad.toml")
    (tmp_path / "typed.json").write_text(json.dumps({"batch_size": "eight"}))
    with pytest.raises(UsageError, match="batch_size"):
        config.build(Stage1Config, config.read_config_file(tmp_path / "typed.json"))


def test_dry_run_prints_resolved_config(cli, tmp_path):
    (tmp_path / "c.toml").write_text("batch_size = 8\n")
    res = cli("train", "sneakers", "--dry-run", "--json", "--config", "c.toml", "--lr", "0.001",
              "--set", "arch=mlp", "loss=lsgan")
    assert res.code == 0, res.err
    doc = json.loads(res.out)
    assert doc["config"]["batch_size"] == 8 and doc["config"]["lr"] == 0.001
    assert doc["config"]["arch"] == "mlp" and doc["config"]["loss"] == "lsgan"
    assert doc["data"] == "synthetic"
    assert not (tmp_path / "runs").exists()


def test_dry_run_bad_key_exits_2(cli):
    res = cli("train", "sneakers", "--dry-run", "--set", "nope=1")
    assert res.code == 2 and "unknown config key 'nope'" in res.err


def test_precedence_defaults_then_file_then_flags_then_set(cli, tmp_path):
    (tmp_path / "c.toml").write_text("lr = 0.1\nbatch_size = 8\nema = 0.5\n")
    res = cli("train", "sneakers", "--dry-run", "--json", "--config", "c.toml",
              "--lr", "0.01", "--batch-size", "4", "--set", "lr=0.001")
    assert res.code == 0, res.err
    cfg = json.loads(res.out)["config"]
    assert cfg["lr"] == 0.001  # --set beats the flag and the file
    assert cfg["batch_size"] == 4  # the flag beats the file
    assert cfg["ema"] == 0.5  # the file beats the default
    assert cfg["z_dim"] == config.build(Stage1Config).z_dim  # untouched: the default


def test_a_named_stopping_rule_replaces_the_default_ones(cli):
    res = cli("train", "sneakers", "--dry-run", "--json", "--steps", "150")
    cfg = json.loads(res.out)["config"]
    assert (cfg["steps"], cfg["epochs"], cfg["minutes"]) == (150, 0, 0)
    default = json.loads(cli("train", "sneakers", "--dry-run", "--json").out)["config"]
    assert default["epochs"] > 0  # the plugin's own rule when none is named
    both = json.loads(cli("train", "sneakers", "--dry-run", "--json", "--steps", "9",
                          "--epochs", "2").out)["config"]
    assert (both["steps"], both["epochs"]) == (9, 2)
