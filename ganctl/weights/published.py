"""The generators the pix2pix/CycleGAN authors published, one declared record per name.

This table is the one place that says which translation names have published weights,
where they live and what they are; `translate`, `demo` and `models export` fetch them on
first use when nothing local is cached, and `ganctl models list --available` prints it.
No checksums are published upstream: `sha256` stays None and the file is pinned by the
SHA-256 of its first download (`reference.pretrained`).
"""

from __future__ import annotations

from dataclasses import dataclass

CYCLEGAN_URL = "http://efrosgans.eecs.berkeley.edu/cyclegan/pretrained_models/{}.pth"
PIX2PIX_URL = "http://efrosgans.eecs.berkeley.edu/pix2pix/models-pytorch/{}.pth"
LICENCE = ("BSD (pytorch-CycleGAN-and-pix2pix); the training images keep their own terms, "
           "research use")
PIX2PIX_PAPER = "Isola et al., Image-to-Image Translation with Conditional Adversarial " \
                "Networks, CVPR 2017"
CYCLEGAN_PAPER = "Zhu et al., Unpaired Image-to-Image Translation using Cycle-Consistent " \
                 "Adversarial Networks, ICCV 2017"
# Approximate downloads: a U-Net 256 generator has 54.4 M float32 parameters, a 9-block
# ResNet generator 11.4 M.
UNET_MB, RESNET_MB = 218, 46


@dataclass(frozen=True)
class Published:
    """Published reference weights for one ganctl name."""

    name: str  # the ganctl plugin name they translate for
    model: str  # the authors' name of the file
    url: str
    sha256: str | None
    size_mb: int  # approximate download size
    licence: str
    paper: str
    direction: str = "AtoB"  # the way the file maps, in the dataset's A/B terms

    @property
    def filename(self) -> str:
        return f"{self.model}.pth"


def _pix2pix(name: str, model: str, direction: str = "AtoB") -> Published:
    return Published(name, model, PIX2PIX_URL.format(model), None, UNET_MB, LICENCE,
                     PIX2PIX_PAPER, direction)


def _cyclegan(name: str, model: str, direction: str) -> Published:
    return Published(name, model, CYCLEGAN_URL.format(model), None, RESNET_MB, LICENCE,
                     CYCLEGAN_PAPER, direction)


PUBLISHED: dict[str, Published] = {p.name: p for p in (
    _pix2pix("edges2shoes", "edges2shoes"),
    _pix2pix("facades", "facades_label2photo", "BtoA"),
    _pix2pix("maps", "sat2map"),
    _cyclegan("horse2zebra", "horse2zebra", "AtoB"),
    _cyclegan("zebra2horse", "zebra2horse", "BtoA"),
    _cyclegan("apple2orange", "apple2orange", "AtoB"),
    _cyclegan("orange2apple", "orange2apple", "BtoA"),
    _cyclegan("summer2winter_yosemite", "summer2winter_yosemite", "AtoB"),
    _cyclegan("winter2summer_yosemite", "winter2summer_yosemite", "BtoA"),
    _cyclegan("monet2photo", "monet2photo", "AtoB"),
    _cyclegan("photo2monet", "style_monet", "BtoA"),
    _cyclegan("photo2cezanne", "style_cezanne", "BtoA"),
    _cyclegan("photo2ukiyoe", "style_ukiyoe", "BtoA"),
    _cyclegan("photo2vangogh", "style_vangogh", "BtoA"),
    _cyclegan("iphone2dslr_flower", "iphone2dslr_flower", "AtoB"),
)}


def get(name: str) -> Published | None:
    return PUBLISHED.get(name)
