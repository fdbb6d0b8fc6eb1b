"""docs/python.md's examples run, in order, as a reader would paste them (offline, in a
fresh GANCTL_HOME), and the example notebook runs from top to bottom."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BLOCK = re.compile(r"```python\n(.*?)```", re.S)


@pytest.mark.slow  # 3.3 s on a 2-core EPYC: the full suite only
def test_every_python_block_of_the_docs_runs(tmp_path, capsys):
    (tmp_path / "docs").symlink_to(ROOT / "docs", target_is_directory=True)
    blocks = BLOCK.findall((ROOT / "docs" / "python.md").read_text())
    assert len(blocks) >= 5
    namespace: dict = {}
    for i, code in enumerate(blocks):
        exec(compile(code, f"docs/python.md block {i + 1}", "exec"), namespace)  # noqa: S102
    out = capsys.readouterr().out
    assert "(400, 300)" in out and "photo-x4" in out  # the upscaled coffee, the weights
    assert (tmp_path / "coffee-x4.png").is_file()


@pytest.mark.slow
def test_the_example_notebook_runs(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    path = ROOT / "examples" / "quickstart.ipynb"
    nb = nbformat.read(path, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), \
        "commit the notebook with its outputs stripped"
    (tmp_path / "docs").symlink_to(ROOT / "docs", target_is_directory=True)
    nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    text = "".join(o.get("text", "") + o.get("data", {}).get("text/plain", "")
                   for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "photo-x4" in text and "(112, 112)" in text
    assert "training sneakers stage 1 on synthetic" in text  # progress shows in a notebook
