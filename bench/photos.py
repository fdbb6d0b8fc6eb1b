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


# Photographs from Debian's wallpaper packages (`apt-get install mate-backgrounds
# lomiri-wallpapers-16.04 lomiri-wallpapers-20.04`), split once by file before any
# training: each image's licence is read from its package's copyright file. The packages'
# drawings and abstract art are left out.
BACKGROUNDS = Path("/usr/share/backgrounds")
WALLPAPER_PACKAGES = ("mate-backgrounds", "lomiri-wallpapers-16.04", "lomiri-wallpapers-20.04")
WALLPAPERS = {
    "train": ("Bridge_by_Sander_Klootwijk", "Picture_0B_by_freespace", "Wine_by_Jakkub_Mede",
              "aitzgorri_by_Aitzol_Berasategi", "analogpattern_by_Peter_Nerlich",
              "free_by_Peter_Nerlich", "greentock_by_Peter_Nerlich",
              "seeding_by_Clements_Engelhardt", "sunset_by_Aitzol_Berasategi",
              "mate/nature/Aqua", "mate/nature/Blinds", "mate/nature/Dune",
              "mate/nature/FreshFlower", "mate/nature/Garden", "mate/nature/GreenMeadow",
              "mate/nature/TwoWings"),
    "val": ("Picture_1A_by_freespace", "picosdeeuropa_by_Aitzol_Berasategi",
            "mate/nature/RainDrops", "mate/nature/Wood"),
    "test": ("Dragonfly_by_Bolly", "friends_by_Aitzol_Berasategi", "life_by_Aitzol_Berasategi",
             "Kleiber_by_Lukas_Baubkus", "mate/nature/LadyBird", "mate/nature/YellowFlower",
             "mate/nature/Storm"),
}
WALLPAPER_SIDE = 1024  # longer side after an antialiased downscale of the 2-6k originals


def wallpaper(name: str) -> Image.Image:
    """One wallpaper photograph as RGB, its longer side WALLPAPER_SIDE (the originals are
    large JPEGs: the downscale leaves clean detail, as DIV2K's 2K images have)."""
    path = BACKGROUNDS / f"{name}.jpg"
    if not path.is_file():
        raise SystemExit(f"{path} is missing: apt-get install {' '.join(WALLPAPER_PACKAGES)}")
    img = Image.open(path).convert("RGB")
    s = WALLPAPER_SIDE / max(img.size)
    return img.resize((round(img.width * s), round(img.height * s)), Image.Resampling.LANCZOS)


def wallpaper_licences() -> dict[str, str]:
    """{file stem: "licence (copyright holder)"} from the packages' DEP-5 copyright files."""
    out = {}
    for package in WALLPAPER_PACKAGES:
        text = (Path("/usr/share/doc") / package / "copyright").read_text(errors="replace")
        for stanza in text.split("\n\n"):
            fields, key = {}, None
            for line in stanza.splitlines():
                if line[:1] not in (" ", "\t") and ":" in line:
                    key, value = line.split(":", 1)
                    fields[key] = value.strip()
                elif key == "Files":
                    fields[key] += " " + line.strip()
            for f in fields.get("Files", "").split():
                path = f.rsplit(".", 1)[0]
                if package == "mate-backgrounds":
                    stem = "mate/" + path
                elif "/" in path and package.endswith(path.split("/")[0]):  # 16.04/NAME
                    stem = path.split("/", 1)[1]
                else:
                    continue
                holder = fields.get("Copyright", "").split("<")[0].strip().rstrip(",")
                out[stem] = f"{fields.get('License', '?')} ({holder}; {package})"
    return out


def cut(img: Image.Image, size: int, stride: int) -> list[Image.Image]:
    """`size` patches every `stride` pixels, skipping near-flat ones."""
    out = []
    for y in range(0, img.height - size + 1, stride):
        for x in range(0, img.width - size + 1, stride):
            p = img.crop((x, y, x + size, y + size))
            if np.asarray(p, dtype=np.float32).std() > 8:
                out.append(p)
    return out
