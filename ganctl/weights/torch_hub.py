"""Weights of torchvision's own models (VGG19 for the content loss, Inception-v3 for FID)
used by losses and metrics: kept under GANCTL_HOME/weights/extractors, fetched through the
project's one download path (announced, resumable, checked, refused offline)."""

from __future__ import annotations

from pathlib import Path

from ganctl import paths

# Approximate sizes, for the announcement before the first byte arrives.
SIZES_MB = {"vgg19-dcbb9e9d.pth": 548, "inception_v3_google-0cc3c7bd.pth": 104,
            "pt_inception-2015-12-05-6726825d.pth": 96}


def folder() -> Path:
    return paths.weights_dir() / "extractors"


def torchvision_file(record, what: str, download: bool = True) -> Path | None:
    """The file of a torchvision weights record (e.g. `VGG19_Weights.IMAGENET1K_V1`); see
    `hub_file`."""
    return hub_file(record.url, what, download)


def hub_file(url: str, what: str, download: bool = True) -> Path | None:
    """A weights file named in torch.hub's way (NAME-SHA256PREFIX.pth): from
    GANCTL_HOME/weights/extractors, else a copy torch.hub already has, else downloaded
    (checked against the SHA-256 prefix in its name). None when `download` is False and it
    is not here; a one-line error when it cannot be had."""
    import torch

    from ganctl.data.download import fetch

    name = Path(url).name
    dest = folder() / name
    for path in (dest, Path(torch.hub.get_dir()) / "checkpoints" / name):
        if path.is_file():
            return path
    if not download:
        return None
    stem = Path(name).stem
    prefix = stem.rsplit("-", 1)[-1] if "-" in stem else None
    mb = SIZES_MB.get(name)
    fetch([url], dest, what=what, approx_size=mb * 10**6 if mb else None,
          sha256_prefix=prefix, fallback=f"put it at {dest}")
    return dest
