"""Installing catalog datasets: download (or import with --from), verify, extract safely
into a temporary folder, validate the layout and counts, then move into place.

A dataset folder is complete only when it carries the marker file; anything interrupted
leaves at most a ``.tmp-*`` folder (removed on the next run) or a ``.part`` download
(resumed on the next run). Downloads without a published checksum are pinned in a lock
file at first download (size and SHA-256) and checked against it afterwards.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path

from ganctl import paths
from ganctl.checkpoint import atomic_write
from ganctl.console import info
from ganctl.data import catalog, layouts
from ganctl.data.download import ChecksumMismatch, fetch, file_digests
from ganctl.data.extract import extract
from ganctl.errors import GanctlError

LOCK = "datasets.lock.json"


def data_root(root: Path | None) -> Path:
    return Path(root) if root else paths.data_dir()


def read_lock(root: Path) -> dict:
    try:
        return json.loads((root / LOCK).read_text())
    except (OSError, ValueError):
        return {}


def write_lock(root: Path, lock: dict) -> None:
    atomic_write(root / LOCK, lambda f: f.write(json.dumps(lock, indent=2).encode()))


def validate(entry: catalog.Dataset, folder: Path) -> str:
    """Check `folder` holds `entry`'s layout (and exact counts when known); a summary."""
    if entry.layout == "image_folder":
        return f"{len(layouts.image_folder(folder))} images"
    if entry.layout == "paired":
        p = layouts.paired_folder(folder)
        found = {"train": len(p.train), "val": len(p.val)}
    elif entry.layout == "unpaired":
        u = layouts.unpaired_folders(folder)
        found = {"trainA": len(u.train_a), "trainB": len(u.train_b), "testA": len(u.test_a),
                 "testB": len(u.test_b)}
    elif entry.layout == "celeba":
        found = {"img_align_celeba": len(layouts.celeba(folder))}
    elif entry.layout == "leaks":
        lk = layouts.leaks_folder(folder)
        found = {"train": len(lk.train), "proliv": len(lk.proliv), "test": len(lk.test)}
    elif entry.layout == "idx":
        found = {split: len(layouts.fashion_mnist(folder, split)[0]) for split in
                 ("train", "test")}
    else:
        raise GanctlError(f"unknown layout {entry.layout!r}")
    for sub, expected in entry.counts:
        if found.get(sub) != expected:
            raise GanctlError(f"{entry.name}: {sub}/ has {found.get(sub)} images, expected "
                              f"{expected}; the archive is incomplete or a different version")
    return ", ".join(f"{k} {v}" for k, v in found.items())


def _dataset_top(tmp: Path, entry: catalog.Dataset) -> Path:
    """The folder inside an extracted archive that is the dataset's root."""
    if entry.inner and (tmp / entry.inner).is_dir():
        return tmp / entry.inner
    children = [p for p in tmp.iterdir() if not p.name.startswith((".", "__MACOSX"))]
    if len(children) == 1 and children[0].is_dir() and entry.layout != "image_folder":
        return children[0]
    return tmp


def _place(staged: Path, target: Path, meta: dict) -> None:
    """Atomically (rename) put a validated folder where `locate` finds it."""
    (staged / catalog.MARKER).write_text(json.dumps(meta, indent=2))
    if target.exists():
        shutil.rmtree(target)
    staged.rename(target)


def _clean_stale(root: Path) -> None:
    for stale in root.glob(".tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)


def install(name: str, root: Path | None = None, force: bool = False,
            source: Path | None = None) -> tuple[Path, str]:
    """Make dataset `name` present; returns (folder, what happened)."""
    entry = catalog.CATALOG[name]
    root = data_root(root)
    root.mkdir(parents=True, exist_ok=True)
    _clean_stale(root)
    where = catalog.locate(name, root)
    if where is not None and not force and source is None:
        return where, "already present"
    if source is not None:
        return _import(entry, root, Path(source).expanduser())
    if entry.manual:
        raise GanctlError(entry.manual)
    if entry.files:
        return _fetch_files(entry, root, force)
    return _fetch_archive(entry, root, force)


def _fetch_archive(entry: catalog.Dataset, root: Path, force: bool) -> tuple[Path, str]:
    archive = root / "downloads" / entry.archive_name
    lock = read_lock(root)
    pinned = lock.get(entry.archive_name, {})
    if force:
        archive.unlink(missing_ok=True)
    if archive.is_file() and pinned and file_digests(archive)[0] != pinned["sha256"]:
        archive.unlink()  # a stale or tampered copy: fetch again, checked against the pin
    got = None
    if not archive.is_file():
        try:
            got = fetch(entry.urls, archive, sha256=pinned.get("sha256"),
                        size=pinned.get("size"))
        except ChecksumMismatch as e:
            raise ChecksumMismatch(f"{e}; it differs from the copy pinned in {root / LOCK} "
                                   f"on {pinned.get('date')} (if the host really updated "
                                   "the file, remove its entry there)") from None
    done = _unpack(entry, root, archive, {"source": entry.urls[0], "archive": str(archive)},
                   "downloaded")
    if got is not None and not pinned:  # pinned only once its contents proved valid
        lock[entry.archive_name] = {"url": got.url, "size": got.size, "sha256": got.sha256,
                                    "date": time.strftime("%Y-%m-%d")}
        write_lock(root, lock)
        info(f"{entry.archive_name}: no published checksum; pinned SHA-256 "
             f"{got.sha256[:16]}... in {root / LOCK}")
    return done


def _stage(entry, root: Path, fill, meta: dict, verb: str) -> tuple[Path, str]:
    """`fill(tmp)` puts the dataset into a temporary folder and returns its top; it is
    validated there and only then moved into place."""
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{entry.name}-", dir=root))
    try:
        top = fill(tmp)
        summary = validate(entry, top)
        target = catalog.local_dir(entry.name, root)
        _place(top, target, {**meta, "dataset": entry.name, "contents": summary,
                             "date": time.strftime("%Y-%m-%d %H:%M:%S")})
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target, f"{verb}: {summary}"


def _unpack(entry, root: Path, archive: Path, meta: dict, verb: str) -> tuple[Path, str]:
    def fill(tmp: Path) -> Path:
        extract(archive, tmp)
        return _dataset_top(tmp, entry)

    return _stage(entry, root, fill, meta, verb)


def _copy(entry, root: Path, folder: Path, meta: dict, verb: str) -> tuple[Path, str]:
    def fill(tmp: Path) -> Path:
        shutil.copytree(folder, tmp / "copy", symlinks=False)
        return tmp / "copy"

    return _stage(entry, root, fill, meta, verb)


def _fetch_files(entry: catalog.Dataset, root: Path, force: bool) -> tuple[Path, str]:
    """Fetch each file (kept under downloads/, so .part files resume), then stage a copy,
    validate it and move it into place."""
    kept = root / "downloads" / catalog.local_dir(entry.name, root).name
    for fname, md5 in entry.files:
        dest = kept / fname
        if dest.is_file() and (force or file_digests(dest)[1] != md5):
            dest.unlink()
        if not dest.is_file():
            fetch([base + fname for base in entry.urls], dest, md5=md5)
    return _copy(entry, root, kept, {"source": entry.urls[0]}, "downloaded")


def _import(entry: catalog.Dataset, root: Path, source: Path) -> tuple[Path, str]:
    if not source.exists():
        raise GanctlError(f"--from {source}: no such file or folder")
    meta = {"source": str(source), "imported": True}
    if source.is_file():
        return _unpack(entry, root, source, meta, "imported")
    return _copy(entry, root, source, meta, "imported")


def verify(name: str, root: Path | None = None) -> list[str]:
    """Problems with an installed dataset: its kept archive against the pin or the
    published checksums, and its folder against the layout. Empty when all is well."""
    entry = catalog.CATALOG[name]
    root = data_root(root)
    where = catalog.locate(name, root)
    if where is None:
        return [f"{name}: not present"]
    problems = []
    if entry.files and where not in entry.system_paths:  # Debian's copy is recompressed
        for fname, md5 in entry.files:
            f = where / fname
            if f.is_file() and file_digests(f)[1] != md5:
                problems.append(f"{name}: {fname} does not match its published MD5")
    elif entry.archive_name:
        archive = root / "downloads" / entry.archive_name
        pinned = read_lock(root).get(entry.archive_name)
        if archive.is_file() and pinned and file_digests(archive)[0] != pinned["sha256"]:
            problems.append(f"{name}: {archive} does not match the SHA-256 pinned in "
                            f"{root / LOCK} on {pinned.get('date')}")
    try:
        validate(entry, where)
    except GanctlError as e:
        problems.append(f"{name}: {e}")
    return problems

