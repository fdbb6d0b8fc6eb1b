"""Where ganctl keeps its files: GANCTL_HOME, else the platform's user data dir."""

from __future__ import annotations

import os
from pathlib import Path


def home() -> Path:
    """Root of ganctl's own files (weights, datasets, caches)."""
    env = os.environ.get("GANCTL_HOME")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("ganctl", appauthor=False))


def weights_dir() -> Path:
    return home() / "weights"


def data_dir() -> Path:
    return home() / "data"


def cache_dir() -> Path:
    return home() / "cache"
