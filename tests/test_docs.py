"""The docs name tests as evidence; every test they name must exist."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NAMED = re.compile(r"\btest_[a-z0-9_]+\*?(\.[a-z]+)?")


def defined_tests() -> tuple[set[str], set[str]]:
    files = {p.stem for p in (ROOT / "tests").glob("test_*.py")}
    funcs = {m for p in (ROOT / "tests").glob("test_*.py")
             for m in re.findall(r"^def (test_\w+)", p.read_text(), re.M)}
    return files, funcs


def test_every_test_the_docs_name_exists():
    files, funcs = defined_tests()
    missing = []
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        found = {m.group(0) for m in NAMED.finditer(doc.read_text())}
        for name in {n.removesuffix(".py") for n in found if not re.search(r"\.(?!py$)", n)}:
            if name.endswith("*"):
                ok = any(f.startswith(name[:-1]) for f in funcs | files)
            else:
                ok = name in funcs or name in files
            if not ok:
                missing.append(f"{doc.relative_to(ROOT)}: {name}")
    assert not missing, "\n".join(sorted(missing))


def test_every_test_the_code_names_exists():
    """Comments and docstrings cite tests in backticks (`test_name`); each must exist (a
    name the file itself defines, such as a parameter, is not a citation)."""
    files, funcs = defined_tests()
    code = [*sorted((ROOT / "ganctl").rglob("*.py")), *sorted((ROOT / "bench").glob("*.py")),
            *sorted((ROOT / "tools").glob("*.py"))]
    missing = []
    for p in code:
        text = p.read_text()
        missing += [f"{p.relative_to(ROOT)}: {name}"
                    for name in re.findall(r"`(test_[a-z0-9_]+)`", text)
                    if name not in funcs | files and not re.search(rf"\b{name}\s*[:=,)]", text)]
    assert not missing, "\n".join(missing)


def test_generated_tables_are_what_the_bench_json_prints():
    """Tables between `<!-- report: NAME -->` markers are tools/report.py's output for the
    committed JSON; after a bench reruns, `python -m tools.report --write` updates them."""
    from tools import report

    seen = set()
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        for name, committed in report.blocks(doc.read_text()):
            assert committed == report.generated(name), \
                f"{doc.relative_to(ROOT)}: the {name} table differs from tools/report.py's"
            seen.add(name)
    assert seen == set(report.GENERATED)  # every generated table is in some document


def test_bundled_weights_are_small_and_carded():
    from ganctl.weights import bundled

    assert bundled.names() == ["fashion-classifier", "photo-x4", "sneakers-stage1",
                               "sneakers-stage2"]
    for name in bundled.names():
        assert bundled.path(name).stat().st_size < 2_000_000, name
        card = bundled.card(name)
        needed = ("Data:", "Licence", "Trained:", "made by `python -m ")
        assert all(s in card for s in needed), name


# a time, size, gain, rate or share; a bolded number; a score with three or more
# decimals; a median with its range
MEASURED = re.compile(r"\d ?(ms|s|MB|GB|dB|%|x)\b|/s\b|\d steps|\*\*[\d.,]+|\b0\.\d{3,}"
                      r"|\d \([\d.,]+-[\d.,]+\)")


def test_every_measured_table_is_generated_from_bench_json():
    """A table of measurements outside a `<!-- report -->` block is a number with no
    JSON behind it. Tables whose header names a test or an asserted value are evidence of
    what a test checks, not measurements."""
    from tools import report

    loose = []
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        text = report.BLOCK.sub("", doc.read_text())
        for table in re.findall(r"(?:^\|.*\n)+", text, re.M):
            header = table.splitlines()[0]
            if re.search(r"\btest\b|asserted", header):
                continue
            for row in table.splitlines()[2:]:
                if MEASURED.search(row):
                    loose.append(f"{doc.relative_to(ROOT)}: {row[:80]}")
    assert not loose, "\n".join(loose)
