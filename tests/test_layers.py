"""Imports only go down (docs/architecture.md): a module may import its own layer's
modules and the layers below, never one above, and there is no cycle between layers."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "ganctl"
# Layers from the top; a module's layer is its first name under ganctl/.
LAYERS = [
    {"__main__", "cli", "demo", "__init__"},  # the shell, the browser, and Python (lazily)
    {"tasks"},
    {"plugins"},
    {"registry", "plots"},
    {"training"},
    {"infer", "metrics", "weights", "export", "card"},
    {"data"},
    {"config", "checkpoint"},
    {"kit"},
    {"nets", "tensors", "console", "progress", "errors", "paths", "device"},
]
RANK = {name: i for i, layer in enumerate(LAYERS) for name in layer}


def imports(path: Path) -> set[str]:
    """ganctl modules `path` imports (at the top or inside functions)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "ganctl":  # a submodule, or a name of the package itself
                found |= {f"ganctl.{a.name}" if (PACKAGE / a.name).is_dir() or
                          (PACKAGE / f"{a.name}.py").is_file() else "ganctl"
                          for a in node.names}
            elif node.module.startswith("ganctl."):
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("ganctl.")}
    return found


def layer_of(module_path: str) -> str:
    return module_path.split(".")[1] if "." in module_path else "__init__"


def test_no_module_imports_from_a_layer_above_it():
    back = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        me = layer_of(".".join(rel.parts))
        assert me in RANK, f"{path}: layer {me!r} is not in LAYERS"
        for mod in imports(path):
            other = layer_of(mod)
            assert other in RANK, f"{path} imports {mod}: layer {other!r} not in LAYERS"
            if RANK[other] < RANK[me]:
                back.append(f"{'/'.join(rel.parts)} ({me}) imports {mod} ({other})")
    assert not back, "imports that go up:\n" + "\n".join(back)


def test_the_two_front_ends_stand_side_by_side():
    """cli/ and demo/ share a layer but not each other: both use the library below, and
    the CLI reaches the demo only through the `demo` verb."""
    for path in (PACKAGE / "demo").rglob("*.py"):
        assert not {m for m in imports(path) if layer_of(m) == "cli"}, path
    for path in (PACKAGE / "cli").rglob("*.py"):
        allowed = {"ganctl.demo"} if path.name == "demo_cmd.py" else set()
        assert {m for m in imports(path) if layer_of(m) == "demo"} <= allowed, path


def test_nets_import_nothing_of_ganctl():
    for path in (PACKAGE / "nets").rglob("*.py"):
        assert {m for m in imports(path) if not m.startswith("ganctl.nets")} == set(), path


def test_verbs_find_plugins_by_task_never_by_module():
    for path in [*(PACKAGE / "cli").rglob("*.py"), *(PACKAGE / "tasks").rglob("*.py")]:
        assert not {m for m in imports(path) if m.startswith("ganctl.plugins")}, path


def test_the_engine_folder_names_no_gan():
    """training/ is the loop and its services; GAN parts live in kit/ and the plugins."""
    words = ("vgg", "srgan", "cyclegan", "pix2pix", "lsgan", "image pool", "random_crop")
    for path in (PACKAGE / "training").rglob("*.py"):
        text = path.read_text().lower()
        assert not [w for w in words if w in text], (path, [w for w in words if w in text])


def test_cli_functions_stay_short():
    """The front-ends parse, call the library and write: no function of cli/ has a body
    (after its docstring) over 60 lines; what grows goes into the library floors."""
    long = []
    for path in sorted((PACKAGE / "cli").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef):
                body = node.body
                if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                    body = body[1:] or body
                lines = node.end_lineno - body[0].lineno + 1
                if lines > 60:
                    long.append(f"{path.name}:{node.name} ({lines} lines)")
    assert not long, "cli functions over 60 lines: " + ", ".join(long)


# Benchmarks that time the training engine's own parts (a recipe step, autocast, the
# loader), for which there is no public equivalent.
ENGINE_TIMING = {"vs_reference", "train_speed", "flops"}


def test_benches_and_tools_use_the_public_interfaces():
    """bench/ and tools/ work as a user's script would: through `ganctl`, `ganctl.tasks`,
    the CLI, metrics and data, never a plugin's internals; the engine only where its own
    speed is measured."""
    inside = []
    for folder in ("bench", "tools"):
        for path in sorted((PACKAGE.parent / folder).glob("*.py")):
            for mod in imports(path):
                if mod.startswith("ganctl.plugins") or (
                        mod.startswith("ganctl.training") and path.stem not in ENGINE_TIMING):
                    inside.append(f"{folder}/{path.name} imports {mod}")
    assert not inside, "\n".join(inside)
