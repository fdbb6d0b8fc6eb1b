"""Statistics every bench reports: the median and range of repeated measurements."""

from __future__ import annotations

import statistics


def spread(values: list[float], digits: int | None = None) -> dict:
    """Median, min and max of repeated measurements (seeds, rounds); with `digits`, each
    rounded and the values themselves kept as `runs`."""
    out = {"median": statistics.median(values), "min": min(values), "max": max(values)}
    if digits is None:
        return out
    return {**{k: round(v, digits) for k, v in out.items()},
            "runs": [round(v, digits) for v in values]}
