"""Inputs as file, folder, glob or '-' (stdin); outputs as file, folder or '-' (stdout PNG)."""

from __future__ import annotations

import glob
import io
import sys
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from ganctl.checkpoint import atomic_write
from ganctl.console import warn
from ganctl.data.images import is_image, list_images, open_image
from ganctl.errors import GanctlError, UsageError

STDIO = "-"


@dataclass
class Input:
    """One input image: a path, or bytes read from stdin (name 'stdin')."""

    name: str
    path: Path | None = None
    data: bytes | None = None
    rel: str = ""  # path relative to the folder it was found in (for output names)

    def __post_init__(self):
        if not self.rel:
            self.rel = self.path.name if self.path is not None else "stdin.png"

    def open(self, channels: int | None = None) -> Image.Image:
        source = self.path if self.data is None else io.BytesIO(self.data)
        img = open_image(source, channels, label=self.name)
        frames = img.info.pop("frames", 1)
        if frames > 1:
            warn(f"{self.name}: {frames} frames; using the first")
        return img


def expand_inputs(items: list[str]) -> tuple[list[Input], list[str]]:
    """Expand files, folders, globs and '-' into inputs; also return problems found."""
    inputs: list[Input] = []
    problems: list[str] = []
    for item in items:
        if item == STDIO:
            inputs.append(Input("stdin", data=sys.stdin.buffer.read()))
            continue
        path = Path(item).expanduser()
        if path.is_dir():
            found = list_images(path)
            if not found:
                problems.append(f"{item}: folder has no images")
            inputs.extend(Input(str(p), p, rel=p.relative_to(path).as_posix()) for p in found)
        elif path.exists():
            inputs.append(Input(str(path), path))
        elif glob.has_magic(item):
            found = sorted(Path(p) for p in glob.glob(item, recursive=True))
            found = [p for p in found if p.is_file() and is_image(p)]
            if not found:
                problems.append(f"{item}: no images match")
            inputs.extend(Input(str(p), p) for p in found)
        else:
            problems.append(f"{item}: no such file or folder")
    return inputs, problems


def encode_png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


# Output formats by file suffix; no suffix writes PNG.
FORMATS = {"": "PNG", ".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP",
           ".bmp": "BMP", ".gif": "GIF", ".tif": "TIFF", ".tiff": "TIFF"}


def output_format(path: str | Path) -> str:
    """The Pillow format a file name asks for; an unknown suffix is a usage error."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise UsageError(f"cannot write {suffix} files ({path}); name the output "
                         f"{', '.join(s for s in FORMATS if s)}")
    return FORMATS[suffix]


def save_image(img: Image.Image, dest: str | Path) -> str:
    """Write `img` to a file (format from the suffix, atomically) or to stdout for '-'."""
    if str(dest) == STDIO:
        if sys.stdout.isatty():
            raise UsageError("refusing to write PNG bytes to a terminal; pipe or redirect "
                             "stdout, or pass -o FILE")
        sys.stdout.buffer.write(encode_png(img))
        sys.stdout.buffer.flush()
        return STDIO
    path = Path(dest)
    fmt = output_format(path)
    if fmt == "JPEG" and img.mode not in ("RGB", "L"):
        img = img.convert("RGB")
    try:
        atomic_write(path, lambda f: img.save(f, format=fmt))
    except OSError as e:
        raise GanctlError(f"cannot write {path}: {e.strerror or e}") from None
    return str(path)


def is_dir_target(dest: str) -> bool:
    """'-o out/' or an existing folder means one file per image."""
    return dest != STDIO and (dest.endswith(("/", "\\")) or Path(dest).is_dir())


def save_animation(images, dest: str | Path) -> str:
    """(N, C, H, W) frames in [-1, 1] as a looping GIF that plays there and back."""
    from ganctl.tensors import to_pil

    frames = [to_pil(img) for img in images]
    frames += frames[-2:0:-1]
    Path(dest).parent.mkdir(parents=True, exist_ok=True)
    frames[0].save(dest, save_all=True, append_images=frames[1:], duration=120, loop=0)
    return str(dest)
