"""Names of the datasets ganctl knows, where they come from, and where they live locally."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ganctl import paths

DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
PIX2PIX_URL = "http://efrosgans.eecs.berkeley.edu/pix2pix/datasets/{}.tar.gz"
CYCLEGAN_URL = "http://efrosgans.eecs.berkeley.edu/cyclegan/datasets/{}.zip"


@dataclass(frozen=True)
class Dataset:
    """A catalog entry. `layout` names the reader in `ganctl.data.layouts`."""

    name: str
    layout: str
    summary: str
    urls: tuple[str, ...] = ()
    licence: str = ""
    size: str = ""
    system_paths: tuple[Path, ...] = field(default_factory=tuple)


CATALOG: dict[str, Dataset] = {}


def _add(*entries: Dataset) -> None:
    for e in entries:
        CATALOG[e.name] = e


_add(
    Dataset("sneakers", "image_folder", "~5,700 RGB side-view sneakers on white (data/images)",
            ("https://code.mipt.ru/courses-public/cv/storage/-/raw/tasks/"
             "sneaker-generation/data.zip",), "course material; research use", "~60 MB"),
    Dataset("fashion-mnist", "idx", "Fashion-MNIST, 70,000 28x28 grayscale items, 10 classes",
            ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",), "MIT", "30 MB",
            (DEBIAN_FASHION_MNIST,)),
    Dataset("fashion-sneakers", "idx", "Fashion-MNIST class 7 (sneaker), 6,000 + 1,000 images",
            ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",), "MIT", "30 MB",
            (DEBIAN_FASHION_MNIST,)),
    Dataset("celeba", "celeba", "CelebA aligned faces, 202,599 images 178x218",
            (), "non-commercial research only", "1.4 GB"),
    Dataset("leaks", "leaks", "your own leak-detection folder: train/ proliv/ test/",
            (), "private data", "-"),
)
for _name in ("edges2shoes", "edges2handbags", "facades", "maps", "night2day"):
    _add(Dataset(_name, "paired", f"pix2pix {_name}: A|B side-by-side pairs, train/ val/",
                 (PIX2PIX_URL.format(_name),), "see the pix2pix project page"))
for _name in ("horse2zebra", "apple2orange", "summer2winter_yosemite", "monet2photo",
              "cezanne2photo", "ukiyoe2photo", "vangogh2photo", "iphone2dslr_flower"):
    _add(Dataset(_name, "unpaired", f"CycleGAN {_name}: trainA/ trainB/ testA/ testB/",
                 (CYCLEGAN_URL.format(_name),), "see the CycleGAN project page"))


def locate(name: str) -> Path | None:
    """The local folder of catalog dataset `name`, or None when it is not present."""
    entry = CATALOG[name]
    local = paths.data_dir() / ("fashion-mnist" if entry.layout == "idx" else name)
    for cand in (local, *entry.system_paths):
        if cand.is_dir() and any(cand.iterdir()):
            return cand
    return None
