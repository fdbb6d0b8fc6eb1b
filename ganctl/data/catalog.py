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
    """A catalog entry. `layout` names the reader in `ganctl.data.layouts`.

    Archive datasets have `urls` (mirrors of one archive) and `inner` (the folder inside
    the archive that becomes the dataset's root, "" for the archive's top). File
    datasets list `files` as (name, md5) fetched from each of `urls` as a base URL.
    `counts` are exact image counts per subfolder, checked after extraction when known.
    """

    name: str
    layout: str
    summary: str
    urls: tuple[str, ...] = ()
    licence: str = ""
    size: str = ""
    system_paths: tuple[Path, ...] = field(default_factory=tuple)
    inner: str = ""
    files: tuple[tuple[str, str], ...] = ()
    counts: tuple[tuple[str, int], ...] = ()
    manual: str = ""

    @property
    def archive_name(self) -> str:
        return self.urls[0].rsplit("/", 1)[-1] if self.urls and not self.files else ""


CATALOG: dict[str, Dataset] = {}


def _add(*entries: Dataset) -> None:
    for e in entries:
        CATALOG[e.name] = e


FASHION_MIRRORS = ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
                   "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/"
                   "data/fashion/")
# The MD5s published by the Fashion-MNIST authors.
FASHION_FILES = (("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
                 ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
                 ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
                 ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"))
CELEBA_HOWTO = ("CelebA has no reliable direct download (Google Drive quotas). Get the "
                "aligned images zip from Kaggle (jessicali9530/celeba-dataset) or the "
                "official site (mmlab.ie.cuhk.edu.hk/projects/CelebA.html), then run "
                "`ganctl download-data celeba --from PATH` with the zip or the unpacked folder")
LEAKS_HOWTO = ("the leaks dataset is not public: run `ganctl download-data leaks --from PATH` "
               "with your folder (train/ proliv/ [test/imgs/ test/test_annotation.txt])")

_add(
    Dataset("sneakers", "image_folder", "~5,700 RGB sneakers on white, data/images/",
            ("https://code.mipt.ru/courses-public/cv/storage/-/raw/tasks/"
             "sneaker-generation/data.zip",), "course data, research", "~60 MB"),
    Dataset("fashion-mnist", "idx", "70,000 28x28 gray items, 10 classes",
            FASHION_MIRRORS, "MIT", "30 MB", (DEBIAN_FASHION_MNIST,), files=FASHION_FILES),
    Dataset("fashion-sneakers", "idx", "Fashion-MNIST class 7: 6,000 + 1,000",
            FASHION_MIRRORS, "MIT", "30 MB", (DEBIAN_FASHION_MNIST,), files=FASHION_FILES),
    Dataset("celeba", "celeba", "202,599 aligned faces, 178x218",
            (), "non-commercial", "1.4 GB", manual=CELEBA_HOWTO),
    Dataset("leaks", "leaks", "your folder: train/ proliv/ test/",
            (), "private", "yours", manual=LEAKS_HOWTO),
)
PIX2PIX_COUNTS = {"edges2shoes": (("train", 49825), ("val", 200))}
# Archive sizes as the authors' servers report them, rounded ("~": approximate; a download
# announces the exact Content-Length before it starts).
PIX2PIX_SIZES = {"edges2shoes": "~2.2 GB", "edges2handbags": "~8.6 GB", "facades": "~30 MB",
                 "maps": "~250 MB", "night2day": "~2.0 GB"}
for _name in ("edges2shoes", "edges2handbags", "facades", "maps", "night2day"):
    _add(Dataset(_name, "paired", "A|B pairs, train/ val/",
                 (PIX2PIX_URL.format(_name),), "research (pix2pix page)", PIX2PIX_SIZES[_name],
                 inner=_name, counts=PIX2PIX_COUNTS.get(_name, ())))
CYCLEGAN_COUNTS = {"horse2zebra": (("trainA", 1067), ("trainB", 1334), ("testA", 120),
                                   ("testB", 140))}
CYCLEGAN_SIZES = {"horse2zebra": "~115 MB", "apple2orange": "~80 MB",
                  "summer2winter_yosemite": "~130 MB", "monet2photo": "~300 MB",
                  "cezanne2photo": "~280 MB", "ukiyoe2photo": "~290 MB",
                  "vangogh2photo": "~300 MB", "iphone2dslr_flower": "~340 MB"}
for _name in CYCLEGAN_SIZES:
    _add(Dataset(_name, "unpaired", "trainA/ trainB/ testA/ testB/",
                 (CYCLEGAN_URL.format(_name),), "research (CycleGAN page)",
                 CYCLEGAN_SIZES[_name], inner=_name, counts=CYCLEGAN_COUNTS.get(_name, ())))


MARKER = ".ganctl-complete.json"


def local_dir(name: str, root: Path | None = None) -> Path:
    """Where ganctl installs dataset `name` (both Fashion-MNIST names share one folder)."""
    entry = CATALOG[name]
    return Path(root or paths.data_dir()) / ("fashion-mnist" if entry.layout == "idx" else name)


def locate(name: str, root: Path | None = None) -> Path | None:
    """The local folder of catalog dataset `name`, or None when it is not (completely)
    present. A folder without ganctl's completion marker counts only if a user put it
    there by hand and it is non-empty; a half-finished download never has one."""
    entry = CATALOG[name]
    local = local_dir(name, root)
    if (local / MARKER).is_file():
        return local
    for cand in (local, *entry.system_paths):
        if cand.is_dir() and any(cand.iterdir()):
            return cand
    return None
