"""Readers for the real on-disk layouts of ganctl's datasets.

Each reader finds the files of one layout and says clearly when a folder is not in it.
They return file lists (and labels); decoding is `images.decode_all`'s job, so the same
reader serves in-memory small-image datasets and streamed large ones.
"""

from __future__ import annotations

import gzip
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ganctl.data.images import list_images
from ganctl.errors import GanctlError


def _require_dir(root: Path, what: str) -> Path:
    root = Path(root).expanduser()
    if not root.exists():
        raise GanctlError(f"{what}: no such folder {root}")
    if not root.is_dir():
        raise GanctlError(f"{what}: {root} is a file, expected a folder")
    return root


def _nonempty(files: list[Path], where: Path, what: str) -> list[Path]:
    if not files:
        raise GanctlError(f"{what}: no images found in {where}")
    return files


def image_folder(root: Path) -> list[Path]:
    """Any folder of images, searched recursively (covers the sneakers `data/images/`)."""
    root = _require_dir(root, "image folder")
    return _nonempty(list_images(root), root, "image folder")


@dataclass
class Paired:
    """Side-by-side A|B images (pix2pix layout): `train/`, `val/` (or `test/`), or one
    folder of pairs."""

    root: Path
    train: list[Path]
    val: list[Path]
    val_from: str = ""  # where the validation pairs came from, for the user


def paired_folder(root: Path) -> Paired:
    """The pairs under `root`: its train/ and val/ (or test/) folders; or, given a folder
    of pairs itself (e.g. edges2shoes/train), those pairs, validated on a sibling val/ or
    test/ folder when there is one, else on its last pairs by name (a tenth, at most 50),
    which are then not trained on."""
    root = _require_dir(root, "paired A|B dataset")
    if (root / "train").is_dir():
        train_dir, val_dirs = root / "train", [root / "val", root / "test"]
    elif list_images(root, recursive=False):
        train_dir, val_dirs = root, [root.parent / "val", root.parent / "test"]
    else:
        raise GanctlError(f"paired A|B dataset: {root} has no train/ folder and no images "
                          "(expected train/*.jpg, or a folder of *.jpg, with A on the left "
                          "and B on the right)")
    train = _nonempty(list_images(train_dir, recursive=False), train_dir, "paired A|B dataset")
    for d in val_dirs:
        val = list_images(d, recursive=False) if d.is_dir() and d != train_dir else []
        if val:
            return Paired(root, train, val, f"{len(val)} pairs in {d}")
    if train_dir == root and len(train) >= 10:
        n = min(len(train) // 10, 50)
        return Paired(root, train[:-n], train[-n:],
                      f"the last {n} pairs of {root} by name (held out of training)")
    return Paired(root, train, [], "none (no val/ or test/ folder)")


def not_pairs(files: list[Path], sample: int = 200) -> tuple[int, int, list[str]]:
    """(images checked, how many are not A|B pairs, examples "name (WxH)") among up to
    `sample` of `files` spread over the list: a pair is twice as wide as it is high
    (within 2 %). Reads image headers only."""
    from PIL import Image

    step = max(1, len(files) // sample)
    checked, bad = files[::step][:sample], []
    for f in checked:
        try:
            with Image.open(f) as im:
                w, h = im.size
        except OSError:
            continue  # unreadable: the loader reports those
        if abs(w - 2 * h) > 0.02 * w:
            bad.append(f"{f.name} ({w}x{h})")
    return len(checked), len(bad), bad[:3]


def check_pairs(files: list[Path], where: Path) -> str | None:
    """An error when most images are not A|B pairs; a warning (returned) when some are."""
    checked, n_bad, examples = not_pairs(files)
    if not n_bad:
        return None
    text = (f"{n_bad} of {checked} images checked in {where} are not A|B pairs (expected "
            f"twice as wide as high, A on the left and B on the right, e.g. 512x256); "
            f"first: {', '.join(examples)}")
    if n_bad * 2 > checked:
        raise GanctlError(f"{text}; for unpaired folders use a CycleGAN name "
                          "(`ganctl train cyclegan --data-a A/ --data-b B/`)")
    return text


def split_pair(img, direction: str = "AtoB"):
    """(input, target) halves of an A|B image tensor (C, H, W); A is the left half."""
    half = img.shape[-1] // 2
    a, b = img[..., :half], img[..., half:2 * half]
    return (a, b) if direction == "AtoB" else (b, a)


@dataclass
class Unpaired:
    """Two unaligned domains (CycleGAN layout): trainA/ trainB/ [testA/ testB/]."""

    root: Path
    train_a: list[Path]
    train_b: list[Path]
    test_a: list[Path]
    test_b: list[Path]


def unpaired_folders(root: Path) -> Unpaired:
    root = _require_dir(root, "unpaired dataset")
    missing = [d for d in ("trainA", "trainB") if not (root / d).is_dir()]
    if missing:
        raise GanctlError(f"unpaired dataset: {root} lacks {' and '.join(missing)}/ "
                          "(expected trainA/ trainB/ [testA/ testB/])")

    def files(name: str, required: bool) -> list[Path]:
        d = root / name
        if not d.is_dir():
            return []
        found = list_images(d, recursive=False)
        return _nonempty(found, d, "unpaired dataset") if required else found

    return Unpaired(root, files("trainA", True), files("trainB", True),
                    files("testA", False), files("testB", False))


def celeba(root: Path) -> list[Path]:
    """CelebA aligned faces: `img_align_celeba/` (possibly nested twice, as Kaggle ships it)."""
    root = _require_dir(root, "CelebA")
    for cand in (root / "img_align_celeba" / "img_align_celeba", root / "img_align_celeba",
                 root):
        if cand.is_dir():
            files = list_images(cand, recursive=False)
            if files:
                return files
    raise GanctlError(f"CelebA: no images in {root}/img_align_celeba/")


@dataclass
class Leaks:
    """Leak-detection layout: train/ (normal), proliv/ (leaks), test/imgs/ + annotations."""

    root: Path
    train: list[Path]
    proliv: list[Path]
    test: list[Path]
    test_labels: list[int]
    bad_lines: list[str]


def read_annotations(path: Path) -> tuple[dict[str, int], list[str]]:
    """Lines `<file> <0|1>`; returns labels by file name and the lines it could not parse."""
    labels, bad = {}, []
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError as e:
        raise GanctlError(f"cannot read annotations {path}: {e.strerror}") from None
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2 or parts[1] not in ("0", "1"):
            bad.append(f"{path}:{n}: {line.strip()[:80]!r}")
            continue
        labels[Path(parts[0]).name] = int(parts[1])
    return labels, bad


def leaks_folder(root: Path) -> Leaks:
    root = _require_dir(root, "leaks dataset")
    if not (root / "train").is_dir():
        raise GanctlError(f"leaks dataset: {root} has no train/ folder of normal images "
                          "(expected train/ proliv/ [test/imgs/ test/test_annotation.txt])")
    train = _nonempty(list_images(root / "train"), root / "train", "leaks dataset")
    proliv = list_images(root / "proliv") if (root / "proliv").is_dir() else []
    test, labels, bad = [], [], []
    ann = root / "test" / "test_annotation.txt"
    if ann.is_file():
        by_name, bad = read_annotations(ann)
        imgs = {p.name: p for p in list_images(root / "test" / "imgs")}
        for name, label in by_name.items():
            if name in imgs:
                test.append(imgs[name])
                labels.append(label)
            else:
                bad.append(f"{ann}: {name} listed but not in test/imgs/")
    return Leaks(root, train, proliv, test, labels, bad)


IDX_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (as in MNIST/Fashion-MNIST), gzip or raw, as a uint8 array."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError) as e:
        raise GanctlError(f"cannot read IDX file {path}: {e}") from None
    if len(data) < 4:
        raise GanctlError(f"{path}: too short for an IDX file")
    zero, dtype, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != 0x08:
        raise GanctlError(f"{path}: not an unsigned-byte IDX file")
    if len(data) < 4 + 4 * ndim:
        raise GanctlError(f"{path}: truncated IDX header")
    dims = struct.unpack(f">{ndim}I", data[4:4 + 4 * ndim])
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(dims)):
        raise GanctlError(f"{path}: holds {body.size} values, header says {dims}")
    return body.reshape(dims)


def fashion_mnist(root: Path, split: str = "train",
                  classes: tuple[int, ...] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(images (N, 1, 28, 28) uint8, labels (N,)) from the four IDX files in `root`."""
    root = _require_dir(root, "Fashion-MNIST")
    img_name, lab_name = IDX_FILES[split]

    def find(name: str) -> Path:
        for cand in (root / name, root / name.removesuffix(".gz")):
            if cand.is_file():
                return cand
        raise GanctlError(f"Fashion-MNIST: {name} not found in {root}")

    images, labels = read_idx(find(img_name)), read_idx(find(lab_name))
    if len(images) != len(labels):
        raise GanctlError(f"Fashion-MNIST {split}: {len(images)} images but {len(labels)} labels")
    if classes is not None:
        keep = np.isin(labels, classes)
        images, labels = images[keep], labels[keep]
    return images[:, None].copy(), labels.copy()
