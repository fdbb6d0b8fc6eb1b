"""Reading image files safely: EXIF orientation, odd modes, corrupt files, bombs."""

from __future__ import annotations

import errno
import io
import struct
import warnings
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from ganctl.console import warn
from ganctl.errors import GanctlError

IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif", ".avif")
# Image files Pillow cannot read: listed anyway, so they are reported, not silently left out.
UNSUPPORTED = {
    ".svg": "SVG is a vector format; ganctl reads raster images (export it as PNG)",
    ".heic": "HEIC is not readable by Pillow; convert it to JPEG or PNG",
    ".heif": "HEIF is not readable by Pillow; convert it to JPEG or PNG",
}
# Refuse anything beyond ~180 MP (PIL's own bomb limit doubles its default); one line, no hang.
Image.MAX_IMAGE_PIXELS = 178_956_970


class BadImage(GanctlError):
    """An image file that cannot be read; the message names the file and why."""


def is_image(path: Path) -> bool:
    suffix = path.suffix.lower()
    return (suffix in IMAGE_EXTS or suffix in UNSUPPORTED) and not path.name.startswith(".")


def list_images(root: Path, recursive: bool = True) -> list[Path]:
    """Image files under `root`, sorted, hidden files skipped. Broken symbolic links with
    image names are included (reading them reports why); links to folders are not
    followed, so a link loop cannot recurse."""
    pattern = "**/*" if recursive else "*"
    return sorted(p for p in Path(root).glob(pattern)
                  if is_image(p) and (p.is_file() or (p.is_symlink() and not p.exists())))


def to_mode(img: Image.Image, channels: int) -> Image.Image:
    """Grayscale (1) or RGB (3); alpha is composited on white, 16-bit scaled to 8-bit."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(img, dtype=np.float64)
        top = 65535.0 if arr.max() > 255 else 255.0
        img = Image.fromarray(np.clip(arr / top * 255.0 + 0.5, 0, 255).astype(np.uint8), "L")
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA"):
        bg = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(bg, img.convert("RGBA"))
    return img.convert("L" if channels == 1 else "RGB")


def open_image(source, channels: int | None = 3, label: str | None = None) -> Image.Image:
    """Open and fully decode an image (a path or a binary file object), upright per EXIF.

    `channels` 1 or 3 converts (see `to_mode`); None keeps the file's own mode.
    Raises BadImage with the file and the reason.
    """
    label = label or str(source)
    if isinstance(source, (str, Path)) and Path(source).suffix.lower() in UNSUPPORTED:
        raise BadImage(f"{label}: {UNSUPPORTED[Path(source).suffix.lower()]}")
    try:
        data = Path(source).read_bytes() if isinstance(source, (str, Path)) else source.read()
        check_png_crcs(data)
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                im.load()
                frames = getattr(im, "n_frames", 1)
                img = ImageOps.exif_transpose(im) or im
                img = img.copy() if img is im else img
        img.info["frames"] = frames
    except IsADirectoryError:
        raise BadImage(f"{label}: is a folder, not an image") from None
    except FileNotFoundError:
        dangling = isinstance(source, (str, Path)) and Path(source).is_symlink()
        raise BadImage(f"{label}: {'broken symbolic link' if dangling else 'no such file'}") \
            from None
    except PermissionError:
        raise BadImage(f"{label}: permission denied") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise BadImage(f"{label}: refused, too many pixels (over "
                       f"{Image.MAX_IMAGE_PIXELS:,}; a decompression bomb?)") from None
    except Image.UnidentifiedImageError:
        empty = not data
        why = "empty file" if empty else "not an image format PIL can read"
        raise BadImage(f"{label}: {why}") from None
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise BadImage(f"{label}: symbolic link loop") from None
        if e.errno is not None:  # a read error, not a decoding one
            raise BadImage(f"{label}: cannot read ({e.strerror})") from None
        raise BadImage(f"{label}: corrupt or truncated image ({e})") from None
    except (SyntaxError, ValueError, EOFError) as e:
        raise BadImage(f"{label}: corrupt or truncated image ({e})") from None
    return to_mode(img, channels) if channels else img


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def check_png_crcs(data: bytes) -> None:
    """Pillow does not check the CRC of a PNG's image data; a mismatch means the bytes
    were damaged, so refuse the file rather than train on garbled pixels."""
    if not data.startswith(PNG_SIGNATURE):
        return
    pos = len(PNG_SIGNATURE)
    while pos + 12 <= len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        end = pos + 8 + length
        if end + 4 > len(data):
            return  # truncated: Pillow reports that itself
        kind = data[pos + 4:pos + 8]
        if zlib.crc32(data[pos + 4:end]) != struct.unpack(">I", data[end:end + 4])[0]:
            raise SyntaxError(f"PNG chunk {kind.decode('latin-1')} fails its CRC check")
        if kind == b"IEND":
            return
        pos = end + 4


def fit(img: Image.Image, size: tuple[int, int], mode: str = "resize") -> Image.Image:
    """Bring `img` to (width, height): 'resize' (stretch), 'crop' (center crop then
    resize, keeps aspect), or 'pad' (letter-box on white, keeps aspect)."""
    w, h = size
    if img.size == (w, h):
        return img
    if mode == "crop":
        return ImageOps.fit(img, (w, h), method=Image.Resampling.BICUBIC)
    if mode == "pad":
        return letterbox(img, (w, h), 255 if img.mode == "L" else (255, 255, 255))
    # Downscaling by a large factor: LANCZOS (BOX-like) avoids aliasing from BICUBIC.
    method = Image.Resampling.LANCZOS if img.width > 2 * w else Image.Resampling.BICUBIC
    return img.resize((w, h), method)


def letterbox(img: Image.Image, size: tuple[int, int], fill) -> Image.Image:
    """Scaled to fit inside `size`, centred on `fill` (ImageOps.pad's arithmetic, but a
    1-pixel-thin image keeps a 1-pixel side where Pillow 12 would make it 0 and fail)."""
    w, h = size
    if img.width / img.height > w / h:
        inner = (w, max(1, round(img.height / img.width * w)))
    else:
        inner = (max(1, round(img.width / img.height * h)), h)
    out = Image.new(img.mode, (w, h), fill)
    out.paste(img.resize(inner, Image.Resampling.BICUBIC),
              (round((w - inner[0]) / 2), round((h - inner[1]) / 2)))
    return out


def to_array(img: Image.Image) -> np.ndarray:
    """(C, H, W) uint8, a writable array of its own."""
    arr = np.array(img, dtype=np.uint8)
    return arr[None] if arr.ndim == 2 else np.ascontiguousarray(arr.transpose(2, 0, 1))


def read_tensor(path: Path, channels: int):
    """An image file as a (C, H, W) uint8 torch tensor. Plain RGB/gray JPEG and PNG files
    decode through torchvision.io (faster than PIL here, see docs/performance.md); any
    other file, and any file torchvision refuses, goes through `open_image` with all its
    checks, which raises BadImage saying what is wrong."""
    import torch

    if Path(path).suffix.lower() in (".jpg", ".jpeg", ".png"):
        try:
            with Image.open(path) as im:  # reads the header only
                plain = (im.mode in ("RGB", "L") and "transparency" not in im.info
                         and im.width * im.height <= Image.MAX_IMAGE_PIXELS)
            if plain:
                with warnings.catch_warnings():  # deprecated for torchcodec since 0.29;
                    warnings.simplefilter("ignore", DeprecationWarning)  # PIL if removed
                    from torchvision.io import ImageReadMode, decode_image, read_file

                    mode = ImageReadMode.RGB if channels == 3 else ImageReadMode.GRAY
                    t = decode_image(read_file(str(path)), mode=mode,
                                     apply_exif_orientation=True)
                if t.dtype == torch.uint8:
                    return t
        except Exception:  # noqa: BLE001 - the PIL path below names the problem
            pass
    return torch.from_numpy(to_array(open_image(path, channels)))


def resize_tensor(t, size: int):
    """Antialiased bicubic resize of a uint8 (C, H, W) tensor to size x size."""
    from torchvision.transforms import InterpolationMode
    from torchvision.transforms.v2 import functional as tvf

    return tvf.resize(t, [size, size], interpolation=InterpolationMode.BICUBIC, antialias=True)


def first_readable(n: int, start: int, load, what: str):
    """`load(i)` for i = start, start + 1, ... (mod n): the first that decodes, each
    unreadable one skipped with a warning, so one bad file does not stop a training run."""
    for k in range(n):
        try:
            return load((start + k) % n)
        except BadImage as e:
            warn(f"skipping unreadable training {what}: {e}")
    raise BadImage(f"no readable {what} in the dataset")


@dataclass
class Decoded:
    """Images decoded to one uint8 array, plus the files that could not be read."""

    array: np.ndarray  # (N, C, H, W) uint8
    paths: list[Path]
    bad: list[str] = field(default_factory=list)


def decode_all(paths: list[Path], size: tuple[int, int], channels: int,
               mode: str = "resize", threads: int = 4) -> Decoded:
    """Decode many files to one array; unreadable files are collected, not raised."""
    def one(p: Path):
        try:
            img = open_image(p, channels)
            return to_array(fit(img, size, mode)), None
        except BadImage as e:
            return None, str(e)

    w, h = size
    out = np.empty((len(paths), channels, h, w), dtype=np.uint8)
    kept, bad, n = [], [], 0
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        for p, (arr, err) in zip(paths, pool.map(one, paths)):
            if err:
                bad.append(err)
                continue
            out[n] = arr
            kept.append(p)
            n += 1
    return Decoded(out[:n], kept, bad)
