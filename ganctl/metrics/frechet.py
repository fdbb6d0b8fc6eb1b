"""Frechet distance and KID between two sets of feature vectors."""

from __future__ import annotations

import torch


def gaussian_stats(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and (unbiased) covariance of (N, D) features, in float64."""
    f = features.double()
    mu = f.mean(0)
    centered = f - mu
    return mu, centered.T @ centered / (len(f) - 1)


def _sqrt_psd(m: torch.Tensor) -> torch.Tensor:
    vals, vecs = torch.linalg.eigh((m + m.T) / 2)
    return (vecs * vals.clamp(min=0).sqrt()) @ vecs.T


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)).

    Tr((S1 S2)^(1/2)) is computed as the sum of square roots of the eigenvalues of the
    symmetric PSD matrix S1^(1/2) S2 S1^(1/2), which is stable where scipy.sqrtm is not.
    """
    mu1, mu2, sigma1, sigma2 = (t.double() for t in (mu1, mu2, sigma1, sigma2))
    root1 = _sqrt_psd(sigma1)
    middle = root1 @ sigma2 @ root1
    tr_covmean = torch.linalg.eigvalsh((middle + middle.T) / 2).clamp(min=0).sqrt().sum()
    value = (mu1 - mu2).pow(2).sum() + sigma1.trace() + sigma2.trace() - 2 * tr_covmean
    return max(float(value), 0.0)


def fd_from_features(a: torch.Tensor, b: torch.Tensor) -> float:
    return frechet_distance(*gaussian_stats(a), *gaussian_stats(b))


def kid(a: torch.Tensor, b: torch.Tensor, subset_size: int | None = None, subsets: int = 100,
        seed: int = 0) -> tuple[float, float, int]:
    """Kernel Inception Distance (unbiased MMD^2, cubic polynomial kernel) averaged over
    random subsets; returns (mean, std, subset size used). The subset size defaults to
    min(1000, len(a), len(b)) so small sets work."""
    a, b = a.double(), b.double()
    m = subset_size or min(1000, len(a), len(b))
    m = min(m, len(a), len(b))
    if m < 2:
        raise ValueError("KID needs at least 2 samples per set")
    d = a.shape[1]
    g = torch.Generator().manual_seed(seed)
    scores = []
    for _ in range(subsets):
        x = a[torch.randperm(len(a), generator=g)[:m]]
        y = b[torch.randperm(len(b), generator=g)[:m]]
        kxx = (x @ x.T / d + 1) ** 3
        kyy = (y @ y.T / d + 1) ** 3
        kxy = (x @ y.T / d + 1) ** 3
        off = m * (m - 1)
        scores.append((kxx.sum() - kxx.diagonal().sum()) / off
                      + (kyy.sum() - kyy.diagonal().sum()) / off - 2 * kxy.mean())
    s = torch.stack(scores)
    return float(s.mean()), float(s.std()) if len(s) > 1 else 0.0, m


def precision_recall(real: torch.Tensor, fake: torch.Tensor, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall (Kynkaanniemi et al. 2019): each point's k-NN radius
    within its own set defines a manifold; precision is the share of fakes inside the real
    manifold, recall the share of reals inside the fake manifold."""
    real, fake = real.double(), fake.double()
    if min(len(real), len(fake)) <= k:
        raise ValueError(f"precision/recall with k={k} needs more than {k} samples per set")

    def radii(x):
        d = torch.cdist(x, x)
        return d.kthvalue(k + 1, dim=1).values  # +1: the point itself is at distance 0

    r_real, r_fake = radii(real), radii(fake)
    precision = (torch.cdist(fake, real) <= r_real[None, :]).any(1).double().mean()
    recall = (torch.cdist(real, fake) <= r_fake[None, :]).any(1).double().mean()
    return float(precision), float(recall)
