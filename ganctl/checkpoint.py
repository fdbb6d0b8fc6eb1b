"""Self-describing checkpoint files: atomic writes, safe loads.

Every file ganctl writes with torch holds only tensors and plain Python values, so every
load uses ``torch.load(weights_only=True)``: a file that needs pickle code to load is
refused, never executed.
"""

from __future__ import annotations

import os
import re
import socket
import tempfile
from pathlib import Path
from typing import Any

from ganctl.errors import GanctlError

FORMAT = "ganctl"
FORMAT_VERSION = 1


def _read_umask() -> int:
    mask = os.umask(0)  # the only way to read it; done once, at import
    os.umask(mask)
    return mask


UMASK = _read_umask()
# Temp files are named for their writer (".NAME.HOST-PID.RANDOM.tmp"), so one a killed
# process left behind can be told from one a live process is still writing.
HOST = re.sub(r"[^A-Za-z0-9_]", "_", socket.gethostname()) or "host"
TEMP_RE = re.compile(r"^\..+\.(?P<host>[A-Za-z0-9_]+)-(?P<pid>\d+)\.[A-Za-z0-9_]+\.tmp$")


def atomic_write(path: Path, write) -> None:
    """Call `write(file)` on a temp file beside `path`, fsync it, then rename into place.

    A crash at any moment leaves either the old file or the new one, never a torn file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{HOST}-{os.getpid()}.", suffix=".tmp",
                               dir=path.parent)
    try:
        os.chmod(tmp, 0o666 & ~UMASK)  # mkstemp makes 0600; give the usual permissions
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def training_files(run: Path) -> list[Path]:
    """A run folder's training checkpoints (checkpoints/ckpt-<step>.pt), newest first."""
    return sorted((Path(run) / "checkpoints").glob("ckpt-*.pt"), reverse=True)


def remove_stale_temps(folder: Path) -> list[Path]:
    """Delete the temp files in `folder` that `atomic_write` calls on this machine left
    behind when their process was killed; files of live processes (or of other
    machines sharing the folder) are kept. Returns the ones removed."""
    removed = []
    for path in Path(folder).glob(".*.tmp"):
        m = TEMP_RE.match(path.name)
        if not m or m["host"] != HOST or _alive(int(m["pid"])):
            continue
        try:
            path.unlink()
            removed.append(path)
        except FileNotFoundError:
            pass
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def link_into_place(src: Path, path: Path) -> bool:
    """Hard-link `src` to `path`, replacing it atomically; False where links are not
    possible (another file system, no link support), so the caller writes a copy."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{HOST}-{os.getpid()}.link.tmp")
    try:
        tmp.unlink(missing_ok=True)
        os.link(src, tmp)
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)
        return False
    return True


def save(payload: dict[str, Any], path: Path) -> Path:
    """Write a checkpoint dict atomically. `payload` must carry 'kind' and 'plugin'."""
    import torch

    payload = {"format": FORMAT, "format_version": FORMAT_VERSION, **payload}
    try:
        atomic_write(Path(path), lambda f: torch.save(payload, f))
    except OSError as e:
        raise GanctlError(f"cannot write checkpoint {path}: {e.strerror or e}") from None
    return Path(path)


def load(path: Path, map_location="cpu", kind: str | None = None,
         plugin: str | None = None) -> dict[str, Any]:
    """Read a ganctl checkpoint safely and check that it is what the caller expects."""
    import pickle

    import torch

    path = Path(path)
    if path.is_dir():
        raise GanctlError(f"{path} is a folder, not a checkpoint file")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise GanctlError(f"no such checkpoint: {path}") from None
    except pickle.UnpicklingError as e:
        raise GanctlError(f"refusing to load {path}: {unsafe_reason(str(e), path)}; ganctl "
                          "loads only tensors and plain values, never code") from None
    except Exception as e:  # noqa: BLE001 - truncated zip, not a torch file, ...
        if not is_torch_file(path):
            raise GanctlError(f"{path} is not a PyTorch checkpoint (neither a zip archive "
                              "nor a pickle)") from None
        raise GanctlError(f"cannot read checkpoint {path}: {type(e).__name__}: "
                          f"{str(e).splitlines()[0][:160] if str(e) else 'unreadable'}") from None
    return check(payload, path, kind=kind, plugin=plugin)


def sha256_of(path: Path) -> str:
    """The file's SHA-256, read in blocks (weights files can be large)."""
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def is_torch_file(path: Path) -> bool:
    """Whether the file starts like torch.save output: a zip archive (PyTorch >= 1.6) or
    a pickle stream (protocol 2+, the legacy format)."""
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError:
        return False
    return head.startswith(b"PK\x03\x04") or head[:1] == b"\x80"


def unsafe_reason(message: str, path: Path | None = None) -> str:
    """Why torch's weights_only loader refused a file, naming the global (the code) it
    would have had to import: from torch's message, else read from the pickle's opcodes
    (`pickled_globals`, which runs nothing)."""
    import re

    found = re.search(r"GLOBAL ([\w.]+)", message)
    names = [found.group(1)] if found else pickled_globals(path) if path else []
    if names:
        return f"it would import {', '.join(names[:3])} to unpickle, which can run code"
    for line in message.splitlines():
        if "WeightsUnpickler error:" in line and line.split(":", 1)[1].strip():
            return line.split("WeightsUnpickler error:", 1)[1].split(". Please use")[0].strip()
    return "it needs code execution to unpickle"


def pickled_globals(path: Path) -> list[str]:
    """The globals (module.name) a pickle, or the data.pkl of a torch zip file, would
    import, found by reading its opcodes with pickletools (nothing is executed)."""
    import io
    import pickletools
    import zipfile

    try:
        data = path.read_bytes()
        if zipfile.is_zipfile(io.BytesIO(data)):
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                pkl = next(n for n in zf.namelist() if n.endswith("data.pkl"))
                data = zf.read(pkl)
        names, strings = [], []
        for op, arg, _ in pickletools.genops(io.BytesIO(data)):
            if op.name == "GLOBAL":
                names.append(str(arg).replace(" ", "."))
            elif op.name == "STACK_GLOBAL" and len(strings) >= 2:
                names.append(f"{strings[-2]}.{strings[-1]}")
            elif isinstance(arg, str):
                strings.append(arg)
    except Exception:  # noqa: BLE001 - unreadable: the generic reason stands
        return []
    safe = ("torch.", "collections.OrderedDict", "builtins.set")
    return [n for n in dict.fromkeys(names) if not n.startswith(safe)]


def check(payload: Any, path: Path, kind: str | None = None,
          plugin: str | None = None) -> dict[str, Any]:
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise GanctlError(f"{path} is not a ganctl checkpoint (a bare state_dict? import it "
                          "with `ganctl models import`)")
    version = payload.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise GanctlError(f"{path} has checkpoint format {version}, newer than this ganctl "
                          f"reads ({FORMAT_VERSION}); upgrade ganctl")
    if kind and payload.get("kind") != kind and not (kind == "weights" and
                                                     payload.get("kind") == "training"):
        raise GanctlError(f"{path} is a {payload.get('kind')} checkpoint, expected {kind}")
    if plugin and payload.get("plugin") != plugin:
        raise GanctlError(f"{path} belongs to plugin {payload.get('plugin')!r} "
                          f"(stage {payload.get('stage')}), not {plugin!r}")
    return payload


def versions() -> dict[str, str]:
    import platform

    import torch

    import ganctl

    return {"ganctl": ganctl.__version__, "torch": str(torch.__version__),
            "python": platform.python_version()}
