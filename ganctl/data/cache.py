"""Decoded small-image datasets kept on disk as uint8 arrays and memory-mapped on reuse.

Decoding 200k JPEGs takes minutes; mapping the decoded array takes milliseconds. An
entry is keyed by everything that decides its bytes: the files (paths, sizes, mtimes),
the target size and channels, how images were fitted, and this module's version. It is
written to a temporary folder and renamed into place, so a reader sees a whole entry
or none, and concurrent runs (or the ranks of a distributed run) never clash.
Entries live in `<GANCTL_HOME>/cache/tensors/`; deleting that folder is always safe.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ganctl import paths
from ganctl.console import info, warn
from ganctl.data import images

VERSION = 1


def root() -> Path:
    return paths.cache_dir() / "tensors"


def stamp(files: list[Path]) -> str:
    """What the decoded bytes depend on in the files themselves."""
    h = hashlib.sha256()
    for p in files:
        try:
            st = os.stat(p)
            what = f"{st.st_size}:{st.st_mtime_ns}"
        except OSError as e:  # a broken link or a vanished file: decoding reports it
            what = f"unreadable {e.errno}"
        h.update(f"{os.path.abspath(p)}:{what}\n".encode("utf-8", "surrogateescape"))
    return h.hexdigest()


def entry_name(key: dict) -> str:
    return hashlib.sha256(json.dumps({**key, "v": VERSION}, sort_keys=True).encode()
                          ).hexdigest()[:24]


def arrays(key: dict, build: Callable[[], tuple[dict[str, np.ndarray], dict]]
           ) -> tuple[dict[str, np.ndarray], dict]:
    """The arrays and metadata `build()` makes for `key`, from the cache when present.

    Arrays come back memory-mapped copy-on-write: pages load on first touch, and
    writes (there should be none) never reach the file."""
    folder = root() / entry_name(key)
    found = _read(folder)
    if found is not None:
        return found
    t0 = time.perf_counter()
    data, meta = build()
    try:
        _write(folder, data, meta)
    except OSError as e:  # a full or read-only disk only costs the speed-up
        warn(f"could not cache decoded images in {folder.parent}: {e.strerror or e}")
        return data, meta
    mb = sum(a.nbytes for a in data.values()) / 1e6
    info(f"decoded in {time.perf_counter() - t0:.1f} s; cached {mb:.1f} MB for later runs "
         f"in {folder}")
    return _read(folder) or (data, meta)


def _read(folder: Path):
    try:
        meta = json.loads((folder / "meta.json").read_text())
        data = {name: np.load(folder / f"{name}.npy", mmap_mode="c") for name in meta["arrays"]}
    except (OSError, ValueError, KeyError):
        return None
    if any(list(data[n].shape) != s for n, s in meta["arrays"].items()):
        return None
    return data, meta["meta"]


def _write(folder: Path, data: dict[str, np.ndarray], meta: dict) -> None:
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.with_name(f"{folder.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        for name, array in data.items():
            np.save(tmp / f"{name}.npy", np.ascontiguousarray(array))
        doc = {"arrays": {n: list(a.shape) for n, a in data.items()}, "meta": meta}
        (tmp / "meta.json").write_text(json.dumps(doc))
        try:
            os.replace(tmp, folder)
        except OSError:
            if not (folder / "meta.json").exists():  # not merely lost a race to a twin
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def decode_all(files: list[Path], size: tuple[int, int], channels: int,
               mode: str = "resize", threads: int = 4) -> images.Decoded:
    """`images.decode_all` through the cache."""
    key = {"what": "decode_all", "files": stamp(files), "size": list(size),
           "channels": channels, "mode": mode}

    def build():
        d = images.decode_all(files, size, channels, mode, threads)
        kept = {str(p) for p in d.paths}
        return {"images": d.array}, {"kept": [i for i, p in enumerate(files) if str(p) in kept],
                                     "bad": d.bad}

    data, meta = arrays(key, build)
    return images.Decoded(data["images"], [files[i] for i in meta["kept"]], meta["bad"])
