"""ganctl's own metrics against the libraries people trust, on the same inputs:
torchmetrics (FD and KID through a custom feature extractor, PSNR, SSIM) and
scikit-learn (ROC AUC, average precision, k-NN radii for precision/recall). The
tolerances are the ones docs/metrics.md states."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganctl.metrics import detection, frechet, image

torchmetrics = pytest.importorskip("torchmetrics")
sklearn_metrics = pytest.importorskip("sklearn.metrics")

FD_RTOL = 1e-6  # both in float64
KID_RTOL = 1e-6
PSNR_ATOL = 1e-4  # dB, float32 arithmetic
SSIM_ATOL = 1e-5
AUC_ATOL = 1e-12


class Projection(torch.nn.Module):
    """A fixed feature extractor: flattened pixels through a seeded random projection,
    with a nonlinearity so the features are not Gaussian."""

    num_features = 24

    def __init__(self):
        super().__init__()
        g = torch.Generator().manual_seed(7)
        self.register_buffer("w", torch.randn(3 * 8 * 8, self.num_features, generator=g))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return torch.tanh(images.double().flatten(1) @ self.w.double() / 8)


def image_sets(n_real=300, n_fake=260):
    g = torch.Generator().manual_seed(0)
    real = torch.rand(n_real, 3, 8, 8, generator=g)
    fake = (torch.rand(n_fake, 3, 8, 8, generator=g) ** 1.5 + 0.05).clamp(0, 1)
    return real, fake


def test_fd_equals_torchmetrics_with_the_same_extractor():
    from torchmetrics.image.fid import FrechetInceptionDistance

    real, fake = image_sets()
    extractor = Projection()
    ref = FrechetInceptionDistance(feature=extractor, normalize=True).double()
    ref.update(real, real=True)
    ref.update(fake, real=False)
    want = float(ref.compute())
    got = frechet.fd_from_features(extractor(real), extractor(fake))
    assert want > 0.01  # the sets differ: a real distance, not 0 == 0
    assert got == pytest.approx(want, rel=FD_RTOL)


@pytest.mark.filterwarnings("ignore:Metric `Kernel Inception Distance` will save")
def test_kid_equals_torchmetrics_on_full_sets():
    from torchmetrics.image.kid import KernelInceptionDistance

    real, fake = image_sets(200, 200)
    extractor = Projection()
    # one subset of every sample: no random draw on either side, so the values must agree
    ref = KernelInceptionDistance(feature=extractor, subsets=1, subset_size=200,
                                  normalize=True)
    ref.update(real, real=True)
    ref.update(fake, real=False)
    want = float(ref.compute()[0])
    got, _, m = frechet.kid(extractor(real), extractor(fake), subset_size=200, subsets=1)
    assert m == 200 and abs(want) > 1e-4
    assert got == pytest.approx(want, rel=KID_RTOL)


def test_psnr_and_ssim_equal_torchmetrics():
    from torchmetrics.functional.image import (
        peak_signal_noise_ratio,
        structural_similarity_index_measure,
    )

    g = torch.Generator().manual_seed(3)
    clean = torch.rand(6, 3, 40, 48, generator=g)
    noisy = (clean + 0.08 * torch.randn(clean.shape, generator=g)).clamp(0, 1)
    want_psnr = peak_signal_noise_ratio(noisy, clean, data_range=1.0, reduction="none",
                                        dim=(1, 2, 3))
    assert torch.allclose(image.psnr(noisy, clean), want_psnr, atol=PSNR_ATOL, rtol=0)
    # torchmetrics' scalar also averages the reflect-padded border; ganctl (like Wang et
    # al.'s code and scikit-image) averages the valid region: compare on that region
    _, full = structural_similarity_index_measure(noisy, clean, data_range=1.0,
                                                  reduction="none", return_full_image=True)
    want_ssim = full[..., 5:-5, 5:-5].flatten(1).mean(1)
    got_ssim = image.ssim(noisy, clean)
    assert 0.1 < float(got_ssim.mean()) < 0.99
    assert torch.allclose(got_ssim, want_ssim, atol=SSIM_ATOL, rtol=0)


@pytest.mark.parametrize("ties", [False, True])
def test_roc_auc_and_average_precision_equal_scikit_learn(ties):
    rng = np.random.default_rng(5)
    labels = rng.integers(0, 2, 500)
    scores = rng.normal(labels * 0.8, 1.0)
    if ties:  # coarse scores: many ties, which both must count the same way
        scores = np.round(scores, 1)
    assert detection.roc_auc(labels, scores) == pytest.approx(
        sklearn_metrics.roc_auc_score(labels, scores), abs=AUC_ATOL)
    assert detection.average_precision(labels, scores) == pytest.approx(
        sklearn_metrics.average_precision_score(labels, scores), abs=AUC_ATOL)


def test_precision_recall_radii_equal_scikit_learn_neighbours():
    from sklearn.metrics import pairwise_distances
    from sklearn.neighbors import NearestNeighbors

    g = torch.Generator().manual_seed(11)
    real = torch.randn(150, 5, generator=g, dtype=torch.float64)
    fake = torch.randn(120, 5, generator=g, dtype=torch.float64) * 0.7 + 0.4
    k = 3

    def reference(a, b):  # share of b inside a's k-NN balls
        radii = NearestNeighbors(n_neighbors=k + 1).fit(a).kneighbors(a)[0][:, k]
        return float((pairwise_distances(b, a) <= radii[None, :]).any(1).mean())

    want = (reference(real.numpy(), fake.numpy()), reference(fake.numpy(), real.numpy()))
    got = frechet.precision_recall(real, fake, k=k)
    assert 0 < want[0] < 1 and 0 < want[1] < 1
    assert got == pytest.approx(want, abs=1e-12)
