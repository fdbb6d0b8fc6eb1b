"""PSNR and SSIM against hand-computed values."""

from __future__ import annotations

import math

import torch

from ganctl.metrics.image import psnr, ssim


def test_psnr_hand_computed():
    x = torch.full((2, 3, 8, 8), 0.5)
    assert torch.allclose(psnr(x, x + 0.1), torch.tensor([20.0, 20.0]), atol=1e-4)
    # data range matters: the seed's 255-on-[0, 1] mistake inflates PSNR by 48 dB
    assert math.isclose(float(psnr(x, x + 0.1, data_range=255)[0]) - 20.0,
                        20 * math.log10(255), rel_tol=1e-5)
    assert torch.isinf(psnr(x, x)).all()


def test_ssim_identical_and_constant_images():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(2, 1, 32, 32, generator=g)
    assert torch.allclose(ssim(x, x), torch.ones(2), atol=1e-6)
    a, b = 0.2, 0.6
    c1 = 0.01**2
    expected = (2 * a * b + c1) / (a * a + b * b + c1)  # variances are zero
    got = ssim(torch.full((1, 1, 16, 16), a), torch.full((1, 1, 16, 16), b))
    assert math.isclose(float(got[0]), expected, rel_tol=1e-4)
    noisy = (x + 0.2 * torch.randn(x.shape, generator=g)).clamp(0, 1)
    assert (ssim(x, noisy) < 0.9).all() and (ssim(x, noisy) > 0).all()
