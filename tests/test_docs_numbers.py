"""Numbers in prose drift where generated tables cannot: every decimal, percentage or
signed number in README.md and docs/ outside a generated block must be one that the
section's own bench JSON holds (at the precision printed), or on the short list of
constants from the specs below. A section names its JSON by its path
(`docs/bench/NAME.json`) or its bench (`python -m bench.NAME`); a section also has the
JSON of the sections it sits in."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# A decimal (0.991, 2.02), a percentage (91 %), or a signed number (+2.02).
NUMBER = re.compile(r"(?<![\w.\-/])([+-]?\d[\d,]*\.\d+|\d+(?:\.\d+)?\s?%|[+-]\d[\d,]*(?:\.\d+)?)"
                    r"(?![\w.]*\w)")
CITES = re.compile(r"docs/bench/([\w.-]+)\.json|bench[./]([a-z_]+)")
# Constants of the architectures and recipes (the papers' values), versions, and ranges:
# facts of a spec, not measurements.
CONSTANTS = {"0.02", "0.999", "0.99", "0.2", "0.25", "0.05", "0.01", "0.03", "1.5", "1.0",
             "0.3", "8.0", "0.29", "-1,", "-9", "10 %", "1 %", "3 %"}


def values(x, out: set[float]) -> set[float]:
    if isinstance(x, bool):
        return out
    if isinstance(x, int | float):
        out.add(float(x))
    elif isinstance(x, str):
        out.update(float(m) for m in re.findall(r"-?\d+(?:\.\d+)?", x))
    elif isinstance(x, dict):
        for k, v in x.items():
            values(k, out)
            values(v, out)
    elif isinstance(x, list):
        for v in x:
            values(v, out)
    return out


def held(token: str, pool: set[float]) -> bool:
    """Whether some value of `pool`, printed at `token`'s precision, is `token` (a
    percentage may print a fraction times 100; a sign may be dropped or added)."""
    text = token.replace(",", "").replace("%", "").strip()
    want = abs(float(text))
    digits = len(text.split(".")[1]) if "." in text else 0
    scales = (1, 100) if token.strip().endswith("%") else (1,)
    return any(round(abs(v) * k, digits) == want for v in pool for k in scales)


def test_every_number_in_prose_is_in_its_sections_bench_json():
    from tools import report

    bench = {p.stem: values(json.loads(p.read_text()), set())
             for p in (ROOT / "docs" / "bench").glob("*.json")}
    loose = []
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        outer: dict[int, set[float]] = {}  # heading level -> what that section cites
        for section in re.split(r"\n(?=#{1,4} )", doc.read_text()):
            level = len(section) - len(section.lstrip("#")) or 1
            pool: set[float] = set()
            for path, script in CITES.findall(section):
                for name, nums in bench.items():
                    if name == path or (script and name.startswith(script.replace("_", "-"))):
                        pool |= nums
            outer = {k: v for k, v in outer.items() if k < level} | {level: pool}
            pool = set().union(*outer.values())
            text = report.BLOCK.sub("", section)
            text = re.sub(r"```.*?```", "", text, flags=re.S)
            text = re.sub(r"`[^`]*`", "", text)
            for line in text.splitlines():
                for m in NUMBER.finditer(line):
                    token = m.group(1)
                    if token.strip() not in CONSTANTS and not held(token, pool):
                        loose.append(f"{doc.relative_to(ROOT)}: {token} in "
                                     f"{line.strip()[:90]!r}")
    assert not loose, "numbers no cited bench JSON holds:\n" + "\n".join(loose)
