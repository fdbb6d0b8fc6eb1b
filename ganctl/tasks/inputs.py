"""What the task objects accept: PIL images, paths, numpy arrays or tensors, one or many."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image

from ganctl.errors import UsageError


def as_images(x: Any) -> tuple[list[Image.Image], bool]:
    """(PIL images, whether one was given) from a PIL image, a path (str or Path; opened as
    the CLI opens files), a numpy array (H x W or H x W x C; uint8, or float in [0, 1]), a
    torch tensor (C x H x W, or N x C x H x W for several; uint8, or float in [0, 1]), or a
    list or tuple of those."""
    if isinstance(x, (list, tuple)):
        if not x:
            raise UsageError("no images given")
        return [img for item in x for img in as_images(item)[0]], False
    if isinstance(x, Image.Image):
        return [x], True
    if isinstance(x, (str, Path)):
        from ganctl.data.images import open_image

        return [open_image(x, channels=None, label=Path(x).name)], True
    kind = type(x).__module__.split(".")[0]
    if kind == "numpy":
        return [from_array(x)], True
    if kind == "torch":
        if x.ndim == 4:
            return [from_array(i.permute(1, 2, 0).cpu().numpy()) for i in x], False
        if x.ndim == 3:
            return [from_array(x.permute(1, 2, 0).cpu().numpy())], True
        raise UsageError(f"a tensor image is C x H x W or N x C x H x W, not {tuple(x.shape)}")
    raise UsageError(f"not an image: {type(x).__name__} (give a PIL image, a path, a numpy "
                     "array or a tensor)")


def from_array(a) -> Image.Image:
    """H x W or H x W x C (C 1, 3 or 4), uint8 or float in [0, 1], as a PIL image."""
    import numpy as np

    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (3, 4)):
        raise UsageError(f"an array image is H x W or H x W x 1/3/4, not {a.shape}")
    if a.dtype != np.uint8:
        if not np.issubdtype(a.dtype, np.floating):
            raise UsageError(f"array images are uint8 or float in [0, 1], not {a.dtype}")
        a = (np.clip(a, 0, 1) * 255 + 0.5).astype(np.uint8)
    return Image.fromarray(np.ascontiguousarray(a))


def one_or_many(images: list, one: bool):
    return images[0] if one else images
