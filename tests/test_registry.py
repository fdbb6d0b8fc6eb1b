"""The plugin registry, including a third-party plugin installed as a throw-away
distribution on sys.path and driven through the CLI like a built-in."""

from __future__ import annotations

import json
import textwrap

import pytest

from ganctl import registry
from ganctl.errors import UsageError
from tests.conftest import run_ganctl

TOY = textwrap.dedent('''
    from dataclasses import dataclass

    import torch
    from torch import nn

    from ganctl import nets
    from ganctl.config import TrainConfig, opt
    from ganctl.data import sources
    from ganctl.registry import Plugin
    from ganctl.training.recipe import Recipe
    from ganctl.kit.noise import fixed_noise
    from ganctl.tensors import to_unit


    class ToyG(nn.Module):
        def __init__(self, z_dim=4):
            super().__init__()
            self.z_dim = z_dim
            self.fc = nn.Linear(z_dim, 64)

        def forward(self, z):
            return torch.tanh(self.fc(z)).view(-1, 1, 8, 8)


    nets.register("toy_g", ToyG)


    @dataclass
    class ToyConfig(TrainConfig):
        batch_size: int = opt(8, "batch")
        steps: int = opt(3, "steps")


    class ToyRecipe(Recipe):
        def __init__(self, cfg, data, device):
            super().__init__(cfg, data, device)
            self.nets = {"g": ToyG().to(device)}
            self.optimizers = {"g": torch.optim.SGD(self.nets["g"].parameters(), lr=cfg.lr)}

        def arch(self):
            return {"g": nets.arch("toy_g", z_dim=4)}

        def step(self, batch):
            real = to_unit(batch[0])
            fake = self.nets["g"](torch.randn(len(real), 4, device=self.device))
            loss = (fake.mean() - real.mean()) ** 2
            self.optimizers["g"].zero_grad()
            loss.backward()
            self.optimizers["g"].step()
            return {"loss_g": loss.detach()}

        def samples(self, nets_):
            return nets_["g"](fixed_noise(4, 4, 0, self.device))


    class Toy(Plugin):
        name = "toy"
        summary = "a third-party test plugin"

        def config_class(self, stage):
            return ToyConfig

        def load_data(self, cfg, data, stage):
            g = torch.Generator().manual_seed(0)
            images = torch.randint(0, 256, (32, 1, 8, 8), dtype=torch.uint8, generator=g)
            info = sources.DataInfo("toy-noise", 1, (8, 8), 32, "0", synthetic=True)
            return sources.TrainData(sources.ImageTensors(images), info)

        def setup(self, cfg, data, stage, device):
            return ToyRecipe(cfg, data, device)

        def generate(self, weights, seeds, device, **_):
            g = weights.build("g", device)  # the net from its Arch, weights loaded, eval
            z = torch.stack([torch.randn(4, generator=torch.Generator().manual_seed(s))
                             for s in seeds])
            with torch.no_grad():
                return g(z.to(device)).cpu()


    plugin = Toy()
''')


@pytest.fixture
def toy_path(tmp_path):
    site = tmp_path / "site"
    dist = site / "toyplug-0.1.dist-info"
    dist.mkdir(parents=True)
    (site / "toyplug.py").write_text(TOY)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: toyplug\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[ganctl.plugins]\ntoy = toyplug:plugin\n")
    return site


@pytest.mark.slow
def test_third_party_plugin_lists_trains_and_samples(toy_path, tmp_path):
    env = {"PYTHONPATH": str(toy_path)}
    res = run_ganctl("models", "list", "--json", env=env)
    assert res.returncode == 0, res.stderr
    toy = next(r for r in json.loads(res.stdout) if r["name"] == "toy")
    assert toy["source"] == "toyplug" and toy["stages"][0]["weights"] is None
    res = run_ganctl("train", "toy", "--json", env=env)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["step"] == 3
    assert (tmp_path / "home" / "weights" / "toy" / "stage1.pt").is_file()
    res = run_ganctl("sample", "toy", "-n", "4", "-o", "toy.png", env=env)
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "toy.png").is_file()


@pytest.mark.slow
def test_broken_third_party_plugin_is_one_line(toy_path):
    (toy_path / "toyplug.py").write_text("raise ImportError('missing dependency zzz')\n")
    res = run_ganctl("train", "toy", env={"PYTHONPATH": str(toy_path)})
    assert res.returncode == 1
    err = res.stderr.decode()
    assert "plugin 'toy'" in err and "missing dependency zzz" in err
    assert "Traceback" not in err


def test_builtins_are_entry_points():
    assert "sneakers" in registry.names()
    assert registry.entries()["sneakers"].value == "ganctl.plugins.sneakers:plugin"
    assert registry.get("sneakers").task == "generate"
    assert registry.names("sneak*") == ["sneakers"]
    with pytest.raises(UsageError, match="unknown plugin"):
        registry.get("zzz")


def test_a_taken_net_name_is_refused():
    import pytest
    import torch

    from ganctl import nets

    class Other(torch.nn.Module):
        pass

    with pytest.raises(ValueError, match="already registered"):
        nets.register("dcgan_g", Other)


def test_a_plugin_declaring_a_task_without_its_hook_is_refused(monkeypatch):
    import pytest

    from ganctl.errors import GanctlError

    class NoHook(registry.Plugin):
        name = "nohook"
        task = "translate"

    entry = registry.Entry("nohook", "x:y", "dist")
    monkeypatch.setattr(registry, "EntryPoint", lambda **kw: type("E", (), {
        "load": lambda self: NoHook()})())
    with pytest.raises(GanctlError, match="declares task 'translate' but does not define "
                                          "translator"):
        entry.load()


def test_the_entry_points_are_the_declared_names():
    """pyproject.toml's entry points (as installed) list each built-in name once; the
    CycleGAN ones are derived from its datasets (both directions), and every published
    record names a registered one."""
    from ganctl.plugins import cyclegan, pix2pix
    from ganctl.weights import published

    points = {n: e.value for n, e in registry.entries().items()}
    cycle = {n for n, v in points.items() if v.startswith("ganctl.plugins.cyclegan:")}
    assert cycle == {"cyclegan", *cyclegan.PRESETS}
    assert all(points[n] == f"ganctl.plugins.cyclegan:{n}" for n in cycle)
    assert all(isinstance(getattr(pix2pix, v.split(":")[1]), pix2pix.Pix2Pix)
               for v in points.values() if v.startswith("ganctl.plugins.pix2pix:"))
    assert set(published.PUBLISHED) <= set(points)
