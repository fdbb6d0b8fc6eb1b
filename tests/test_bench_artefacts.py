"""bench/artefacts.py: the checkerboard and background scores of the CycleGAN bench."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from bench import artefacts


def photo_like(n: int = 2, side: int = 128, seed: int = 0) -> torch.Tensor:
    """Smooth random colour fields with some fine texture, uint8 (N, 3, H, W)."""
    g = torch.Generator().manual_seed(seed)
    coarse = F.interpolate(torch.rand(n, 3, side // 8, side // 8, generator=g), size=side,
                           mode="bicubic", align_corners=False)
    fine = torch.rand(n, 3, side, side, generator=g)
    return (coarse * 200 + fine * 30).clamp(0, 255).byte()


def test_checkerboard_sees_a_grid_pattern_and_not_texture():
    x = photo_like()
    plain = artefacts.checkerboard(x)
    grid = torch.zeros(1, 1, 128, 128)
    grid[..., ::2, ::2] = grid[..., 1::2, 1::2] = 6  # period 2, as a stride-2 layer stamps
    stamped = artefacts.checkerboard((x.float() + grid).clamp(0, 255).byte())
    coarse = torch.zeros(1, 1, 128, 128)
    coarse[..., ::4, :] = 6  # period 4, as the layer before it does
    assert plain < 1.0
    assert stamped > plain + 1.5
    assert artefacts.checkerboard((x.float() + coarse).clamp(0, 255).byte()) > plain + 1.5
    # moving the picture by a pixel moves content, not the score
    assert abs(artefacts.checkerboard(x.roll(1, -1)) - plain) < 0.2


def test_background_is_the_median_pixel_change():
    x = photo_like()
    assert artefacts.background(x, x) == {"background_change": 0.0, "colour_cast": 0.0}
    animal = x.clone()
    animal[..., 30:90, 30:90] = 255 - animal[..., 30:90, 30:90]  # a fifth of the picture
    assert artefacts.background(x, animal)["background_change"] == 0.0
    tint = (x.float() + torch.tensor([0.0, 20.0, 0.0]).view(1, 3, 1, 1)).clamp(0, 255).byte()
    scores = artefacts.background(x, tint)
    assert abs(scores["colour_cast"] - 20) < 1
    assert abs(scores["background_change"] - 20 / 3) < 1
