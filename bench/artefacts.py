"""What the domain classifier does not see in a translation: a checkerboard from the
up-sampling layers, and changes to the background (a colour cast, stripes off the animal).

horse2zebra has no masks, so the background is taken as the median pixel: the animal
covers less than half of most of its photographs, so the median per-pixel change of a
translation is the change of its background.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

PERIOD = 4  # two stride-2 up-sampling layers: patterns of period 2 (the last) and 4
REGION = 64  # pixels per side of the regions whose phase means are compared


def _gray(images: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) uint8 -> (N, 1, H, W) float 0-255, cropped to whole regions."""
    x = images.float().mean(1, keepdim=True)
    h, w = (s - s % REGION for s in x.shape[-2:])
    return x[..., :h, :w]


def checkerboard(images: torch.Tensor) -> float:
    """A periodic pattern tied to the pixel grid, in grey levels (0-255): the high-passed
    image's mean at each of the PERIOD x PERIOD pixel phases, per REGION-pixel region;
    their standard deviation over the phases, averaged over regions and images. Image
    content averages out over a region's pixels; a pattern the up-sampling stamps on at a
    fixed phase does not."""
    x = _gray(images)
    high = x - F.avg_pool2d(F.pad(x, (2, 2, 2, 2), mode="replicate"), 5, stride=1)
    n, _, h, w = high.shape
    k = REGION // PERIOD
    # (N, h/R, k, P, w/R, k, P): region row, row in region / P, row phase, the same for columns
    phases = high.reshape(n, h // REGION, k, PERIOD, w // REGION, k, PERIOD)
    means = phases.mean((2, 5))  # (N, h/R, P, w/R, P): each phase's mean per region
    return float(means.permute(0, 1, 3, 2, 4).flatten(3).std(-1).mean())


def background(source: torch.Tensor, translated: torch.Tensor) -> dict[str, float]:
    """The median pixel's change from `source` to `translated` (both (N, 3, H, W) uint8),
    in grey levels, averaged over images: `background_change`, the median of the per-pixel
    mean absolute change over the channels; `colour_cast`, the length of the per-channel
    median signed change (a tint over the whole picture)."""
    d = translated.float() - source.float()
    change = d.abs().mean(1).flatten(1).median(1).values
    cast = d.flatten(2).median(2).values.norm(dim=1)
    return {"background_change": float(change.mean()), "colour_cast": float(cast.mean())}
