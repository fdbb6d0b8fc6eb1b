"""Real photographs for the super-resolution benchmarks: the sample images bundled with
scikit-image (`pip install scikit-image`), cut into 112-px patches.

Training and test patches come from different photographs, so the test set is unseen in
the strict sense: no patch of a test photo is ever trained on.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

TRAIN_PHOTOS = ("astronaut", "chelsea", "rocket", "immunohistochemistry", "retina", "brick",
                "grass", "gravel", "moon", "clock", "hubble_deep_field")
TEST_PHOTOS = ("coffee", "camera", "coins")


def photo(name: str) -> Image.Image:
    """One bundled photograph as RGB, its longer side at most 512 px."""
    import skimage.data

    img = Image.fromarray(getattr(skimage.data, name)()).convert("RGB")
    if max(img.size) > 512:
        s = 512 / max(img.size)
        img = img.resize((round(img.width * s), round(img.height * s)), Image.Resampling.LANCZOS)
    return img


def patches(names, size: int = 112, limit: int | None = None,
            stride: int | None = None) -> list[Image.Image]:
    """`size` patches of each photo every `stride` pixels (default: `size`, no overlap),
    interleaved across photos (so a `limit` still samples all of them), skipping
    near-flat patches."""
    per_photo = []
    step = stride or size
    for name in names:
        img = photo(name)
        cut = []
        for y in range(0, img.height - size + 1, step):
            for x in range(0, img.width - size + 1, step):
                p = img.crop((x, y, x + size, y + size))
                if np.asarray(p, dtype=np.float32).std() > 8:
                    cut.append(p)
        per_photo.append(cut)
    out = [p for group in zip_longest_skip(per_photo) for p in group]
    return out[:limit] if limit else out


def zip_longest_skip(lists):
    for i in range(max(len(x) for x in lists)):
        yield [x[i] for x in lists if i < len(x)]


def write_folder(images: list[Image.Image], root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for i, img in enumerate(images):
        img.save(root / f"{i:04d}.png")
    return root
