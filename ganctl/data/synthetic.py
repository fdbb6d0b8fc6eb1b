"""Deterministic synthetic datasets written in each real dataset's on-disk layout.

They let the tests and the offline quick start run every reader and every plugin with
no download. Everything here is clearly synthetic: the folders are named so, and the
training metadata records ``synthetic: true``.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import random
import shutil
import struct
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from ganctl import paths

VERSION = 2  # bump when a generator changes, so cached copies are rebuilt

PALETTE = [(200, 30, 40), (30, 60, 180), (20, 20, 20), (240, 240, 240), (40, 150, 70),
           (230, 140, 20), (120, 120, 130), (150, 60, 160)]


def shoe(rng: random.Random, size: int = 112) -> Image.Image:
    """A side-view sneaker-like shape on white: sole, upper, collar, laces, stripe."""
    s = size / 112
    img = Image.new("RGB", (size, size), (255, 255, 255))
    d = ImageDraw.Draw(img)
    x0, x1 = rng.uniform(6, 16) * s, rng.uniform(96, 106) * s
    sole_top, sole_bot = rng.uniform(70, 78) * s, rng.uniform(82, 90) * s
    heel_top, toe_top = rng.uniform(30, 42) * s, rng.uniform(52, 62) * s
    upper = rng.choice(PALETTE)
    sole = rng.choice([(250, 250, 250), (30, 30, 30), (200, 180, 150)])
    d.polygon([(x0, sole_top), (x0 + 4 * s, heel_top), (x0 + 30 * s, heel_top + 4 * s),
               (x0 + 50 * s, toe_top - 6 * s), (x1 - 8 * s, toe_top), (x1, sole_top)],
              fill=upper, outline=(40, 40, 40))
    d.rounded_rectangle([x0 - 2 * s, sole_top, x1 + 2 * s, sole_bot], radius=5 * s,
                        fill=sole, outline=(60, 60, 60))
    d.ellipse([x0 + 8 * s, heel_top - 2 * s, x0 + 30 * s, heel_top + 10 * s],
              fill=(245, 245, 245), outline=(40, 40, 40))
    accent = rng.choice(PALETTE)
    d.line([(x0 + 20 * s, sole_top - 4 * s), (x1 - 25 * s, toe_top + 2 * s)], fill=accent,
           width=max(1, int(4 * s)))
    for i in range(rng.randint(3, 5)):
        lx = x0 + (36 + 7 * i) * s
        d.line([(lx, heel_top + (8 + 3 * i) * s), (lx + 5 * s, heel_top + (12 + 3 * i) * s)],
               fill=(250, 250, 250), width=max(1, int(2 * s)))
    return img


def edge_map(img: Image.Image) -> Image.Image:
    """Black strokes on white, like the HED edge maps of edges2shoes."""
    edges = img.convert("L").filter(ImageFilter.FIND_EDGES)
    arr = np.asarray(edges)
    out = np.where(arr > 24, 0, 255).astype(np.uint8)
    return Image.fromarray(out, "L").convert("RGB")


def animal(rng: random.Random, size: int, striped: bool) -> Image.Image:
    """Domain A: a plain brown body on grass; domain B: the same shape with zebra stripes."""
    img = Image.new("RGB", (size, size), (90 + rng.randint(-20, 20), 150, 70))
    d = ImageDraw.Draw(img)
    d.rectangle([0, 0, size, size * rng.uniform(0.25, 0.4)], fill=(150, 190, 235))
    cx, cy = size * rng.uniform(0.35, 0.65), size * rng.uniform(0.5, 0.65)
    rx, ry = size * rng.uniform(0.2, 0.3), size * rng.uniform(0.1, 0.16)
    body = (255, 255, 255) if striped else (120 + rng.randint(-20, 20), 75, 40)
    d.ellipse([cx - rx, cy - ry, cx + rx, cy + ry], fill=body)
    d.ellipse([cx + rx * 0.7, cy - ry * 1.8, cx + rx * 1.3, cy - ry * 0.6], fill=body)
    for lx in (cx - rx * 0.7, cx - rx * 0.3, cx + rx * 0.3, cx + rx * 0.7):
        d.rectangle([lx - size * 0.02, cy + ry * 0.5, lx + size * 0.02, cy + ry * 2.2], fill=body)
    if striped:
        mask = Image.new("L", img.size, 0)
        ImageDraw.Draw(mask).ellipse([cx - rx, cy - ry, cx + rx, cy + ry], fill=255)
        stripes = Image.new("RGB", img.size, (15, 15, 15))
        band = Image.new("L", img.size, 0)
        bd = ImageDraw.Draw(band)
        step = max(3, int(size * 0.05))
        for x in range(0, size, 2 * step):
            bd.rectangle([x, 0, x + step - 1, size], fill=255)
        img.paste(stripes, (0, 0), Image.fromarray(np.minimum(np.asarray(mask),
                                                              np.asarray(band))))
    return img


def face(rng: random.Random, w: int = 178, h: int = 218) -> Image.Image:
    """An aligned face-like drawing at CelebA's size: skin oval, hair, eyes, mouth."""
    bg = tuple(rng.randint(60, 230) for _ in range(3))
    img = Image.new("RGB", (w, h), bg)
    d = ImageDraw.Draw(img)
    skin = rng.choice([(240, 205, 180), (200, 150, 110), (140, 95, 65), (250, 220, 200)])
    hair = rng.choice([(30, 20, 10), (90, 60, 30), (200, 170, 90), (120, 120, 120)])
    d.ellipse([w * 0.22, h * 0.12, w * 0.78, h * 0.55], fill=hair)
    d.ellipse([w * 0.27, h * 0.22, w * 0.73, h * 0.78], fill=skin)
    ey = h * rng.uniform(0.43, 0.47)
    for ex in (w * 0.39, w * 0.61):
        d.ellipse([ex - 7, ey - 4, ex + 7, ey + 4], fill=(255, 255, 255))
        d.ellipse([ex - 3, ey - 3, ex + 3, ey + 3], fill=(40, 30, 30))
    my = h * rng.uniform(0.63, 0.67)
    smile = rng.uniform(0, 8)
    d.chord([w * 0.4, my - 6, w * 0.6, my + 6 + smile], 0, 180, fill=(170, 60, 70))
    return img


def mould(rng: random.Random, leak: bool) -> Image.Image:
    """A casting-mould photo, wider than tall; leaks add a dark irregular streak."""
    w, h = rng.randint(80, 120), rng.randint(48, 70)
    base = rng.randint(120, 170)
    arr = np.full((h, w, 3), base, dtype=np.float32)
    arr += np.linspace(-15, 15, w)[None, :, None]
    arr += np.random.default_rng(rng.getrandbits(32)).normal(0, 4, (h, w, 1)).astype(np.float32)
    img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")
    d = ImageDraw.Draw(img)
    r = h * 0.3
    cx, cy = w * rng.uniform(0.4, 0.6), h * 0.5
    d.ellipse([cx - r, cy - r, cx + r, cy + r], outline=(80, 80, 80), width=2)
    if leak:
        x, y = cx + rng.uniform(-r, r), h * rng.uniform(0.1, 0.4)
        pts = [(x, y)]
        for _ in range(8):
            x += rng.uniform(-6, 6)
            y += rng.uniform(3, 6)
            pts.append((x, y))
        d.line(pts, fill=(25, 20, 15), width=rng.randint(4, 7))
    return img


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write a uint8 array as a gzip IDX file (the MNIST format)."""
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I",
                                                                    *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + np.ascontiguousarray(array, dtype=np.uint8).tobytes())


def _save(img: Image.Image, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, quality=95) if path.suffix == ".jpg" else img.save(path)


def write_sneakers(root: Path, n: int = 512, size: int = 112, seed: int = 0) -> None:
    rng = random.Random(seed)
    for i in range(n):
        _save(shoe(rng, size), root / "data" / "images" / f"{i:05d}.jpg")


def write_edges2shoes(root: Path, n_train: int = 64, n_val: int = 8, size: int = 256,
                      seed: int = 0) -> None:
    rng = random.Random(seed)
    for split, n in (("train", n_train), ("val", n_val)):
        for i in range(n):
            photo = shoe(rng, size)
            pair = Image.new("RGB", (2 * size, size))
            pair.paste(edge_map(photo), (0, 0))
            pair.paste(photo, (size, 0))
            _save(pair, root / split / f"{i}_AB.jpg")


def write_unpaired(root: Path, n_train: int = 64, n_test: int = 8, size: int = 128,
                   seed: int = 0) -> None:
    rng = random.Random(seed)
    for split, n in (("train", n_train), ("test", n_test)):
        for domain, striped in (("A", False), ("B", True)):
            for i in range(n):
                _save(animal(rng, size, striped), root / f"{split}{domain}" / f"{i:04d}.jpg")


def write_celeba(root: Path, n: int = 256, seed: int = 0) -> None:
    rng = random.Random(seed)
    for i in range(1, n + 1):
        _save(face(rng), root / "img_align_celeba" / f"{i:06d}.jpg")


def write_leaks(root: Path, n_train: int = 256, n_proliv: int = 16, n_test: int = 64,
                seed: int = 0) -> None:
    rng = random.Random(seed)
    for i in range(n_train):
        _save(mould(rng, False), root / "train" / f"{i:05d}.jpg")
    for i in range(n_proliv):
        _save(mould(rng, True), root / "proliv" / f"{i:05d}.jpg")
    lines = []
    for i in range(n_test):
        leak = rng.random() < 0.25
        _save(mould(rng, leak), root / "test" / "imgs" / f"{i:05d}.jpg")
        lines.append(f"{i:05d}.jpg {int(leak)}")
    (root / "test" / "test_annotation.txt").write_text("\n".join(lines) + "\n")


def write_fashion_mnist(root: Path, n_train: int = 600, n_test: int = 100, seed: int = 0):
    """Four IDX files of 28x28 items, ten classes drawn as distinct simple shapes."""
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", n_train), ("test", n_test)):
        labels = np.array([i % 10 for i in range(n)], dtype=np.uint8)
        images = np.zeros((n, 28, 28), dtype=np.uint8)
        for i, label in enumerate(labels):
            img = Image.new("L", (28, 28), 0)
            d = ImageDraw.Draw(img)
            k = int(label)
            top, h = 4 + k % 4 + rng.randint(-1, 1), 8 + 2 * (k % 5)
            d.rectangle([4 + rng.randint(-1, 1), top, 24 - k % 3, min(26, top + h)],
                        fill=100 + 15 * k)
            images[i] = np.asarray(img)
        img_name, lab_name = {"train": ("train-images-idx3-ubyte.gz",
                                        "train-labels-idx1-ubyte.gz"),
                              "test": ("t10k-images-idx3-ubyte.gz",
                                       "t10k-labels-idx1-ubyte.gz")}[split]
        write_idx(root / img_name, images)
        write_idx(root / lab_name, labels)


WRITERS = {
    "sneakers": write_sneakers,
    "edges2shoes": write_edges2shoes,
    "unpaired": write_unpaired,
    "celeba": write_celeba,
    "leaks": write_leaks,
    "fashion-mnist": write_fashion_mnist,
}


def ensure(layout: str, **params) -> Path:
    """The synthetic dataset `layout` with `params`, written once under the data dir."""
    key = hashlib.sha256(json.dumps({**params, "version": VERSION}, sort_keys=True)
                         .encode()).hexdigest()[:8]
    root = paths.data_dir() / "synthetic" / f"{layout}-{key}"
    if (root / ".complete").is_file():
        return root
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{layout}-", dir=root.parent))
    try:
        WRITERS[layout](tmp, **params)
        (tmp / ".complete").write_text(json.dumps({"layout": layout, **params}))
        if root.exists():  # an incomplete earlier attempt
            shutil.rmtree(root)
        tmp.rename(root)
    except FileExistsError:  # another process finished first: theirs is as good
        shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return root
