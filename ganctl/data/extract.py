"""Archive extraction that refuses anything escaping the target folder.

Rejected: absolute member names, '..' components, symlinks or hard links that point
outside the target (or anywhere, for zip files, which have no safe link semantics),
device files and FIFOs. Tar files additionally go through Python's 'data' filter where
the running Python has it.
"""

from __future__ import annotations

import os
import stat
import tarfile
import zipfile
from pathlib import Path, PurePosixPath

from ganctl.errors import GanctlError


class UnsafeArchive(GanctlError):
    """An archive member would land outside the target or is not a plain file/folder."""


def _check_name(name: str, archive: Path) -> PurePosixPath:
    p = PurePosixPath(name.replace("\\", "/"))
    if p.is_absolute() or name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise UnsafeArchive(f"{archive}: refusing member with an absolute path: {name!r}")
    if ".." in p.parts:
        raise UnsafeArchive(f"{archive}: refusing member that climbs out with '..': {name!r}")
    return p


def _inside(target: Path, link_parent: PurePosixPath, link_to: str) -> bool:
    if os.path.isabs(link_to):
        return False
    resolved = os.path.normpath(os.path.join(target, *link_parent.parts, link_to))
    return resolved == str(target) or resolved.startswith(str(target) + os.sep)


def extract(archive: Path, target: Path) -> None:
    """Extract a .zip, .tar, .tar.gz/.tgz or .tar.bz2/.tar.xz into `target` safely."""
    archive, target = Path(archive), Path(target).resolve()
    target.mkdir(parents=True, exist_ok=True)
    if zipfile.is_zipfile(archive):
        _extract_zip(archive, target)
    elif tarfile.is_tarfile(archive):
        _extract_tar(archive, target)
    else:
        raise GanctlError(f"{archive} is neither a zip nor a tar archive")


def _extract_zip(archive: Path, target: Path) -> None:
    with zipfile.ZipFile(archive) as zf:
        members = zf.infolist()
        for m in members:
            _check_name(m.filename, archive)
            mode = m.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise UnsafeArchive(f"{archive}: refusing symlink member {m.filename!r}")
            if mode and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                raise UnsafeArchive(f"{archive}: refusing special file {m.filename!r}")
        try:
            zf.extractall(target, members)
        except (zipfile.BadZipFile, OSError, EOFError) as e:
            raise GanctlError(f"{archive}: damaged zip ({e})") from None


def _extract_tar(archive: Path, target: Path) -> None:
    try:
        with tarfile.open(archive) as tf:
            members = tf.getmembers()
            for m in members:
                p = _check_name(m.name, archive)
                if m.issym() or m.islnk():
                    base = p.parent if m.issym() else PurePosixPath()
                    if not _inside(target, base, m.linkname) or (
                            m.islnk() and ".." in PurePosixPath(m.linkname).parts):
                        raise UnsafeArchive(f"{archive}: refusing link {m.name!r} -> "
                                            f"{m.linkname!r} pointing outside the target")
                elif not (m.isfile() or m.isdir()):
                    raise UnsafeArchive(f"{archive}: refusing special file {m.name!r}")
            if hasattr(tarfile, "data_filter"):
                tf.extractall(target, members, filter="data")
            else:  # pragma: no cover - old Pythons: our own checks above are the filter
                tf.extractall(target, members)
    except tarfile.FilterError as e:
        raise UnsafeArchive(f"{archive}: {e}") from None
    except (tarfile.TarError, OSError, EOFError) as e:
        raise GanctlError(f"{archive}: damaged tar archive ({e})") from None
