"""Frechet distance and KID against closed forms and hand-computed cases."""

from __future__ import annotations

import math

import torch

from ganctl.metrics.frechet import (
    fd_from_features,
    frechet_distance,
    gaussian_stats,
    kid,
    precision_recall,
)


def test_frechet_closed_form_for_diagonal_gaussians():
    mu1, mu2 = torch.tensor([0.0, 1.0, 2.0]), torch.tensor([1.0, 1.0, 0.0])
    v1, v2 = torch.tensor([1.0, 4.0, 9.0]), torch.tensor([4.0, 4.0, 1.0])
    expected = float((mu1 - mu2).pow(2).sum() + (v1.sqrt() - v2.sqrt()).pow(2).sum())
    got = frechet_distance(mu1, torch.diag(v1), mu2, torch.diag(v2))
    assert math.isclose(got, expected, rel_tol=1e-9)  # = 5 + 1 + 0 + 4 = 10


def test_frechet_closed_form_for_full_covariances():
    # commuting covariances: Tr((S1 S2)^1/2) = sum sqrt(l1 l2) in the shared eigenbasis
    q, _ = torch.linalg.qr(torch.randn(4, 4, generator=torch.Generator().manual_seed(0),
                                       dtype=torch.float64))
    l1, l2 = torch.tensor([1.0, 2, 3, 4], dtype=torch.float64), torch.tensor(
        [4.0, 1, 1, 9], dtype=torch.float64)
    s1, s2 = q @ torch.diag(l1) @ q.T, q @ torch.diag(l2) @ q.T
    expected = float(l1.sum() + l2.sum() - 2 * (l1 * l2).sqrt().sum())
    got = frechet_distance(torch.zeros(4), s1, torch.zeros(4), s2)
    assert math.isclose(got, expected, rel_tol=1e-9)


def test_sample_estimate_and_identical_sets():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(20000, 3, generator=g)
    b = torch.randn(20000, 3, generator=g) * 2 + 1
    assert math.isclose(fd_from_features(a, b), 3 * 1 + 3 * 1, rel_tol=0.05)
    assert fd_from_features(a, a) < 1e-8
    mu, sigma = gaussian_stats(a)
    assert mu.dtype == torch.float64 and sigma.shape == (3, 3)


def test_kid_hand_computed_and_behaviour():
    x = torch.tensor([[0.0], [1.0]])
    y = torch.tensor([[1.0], [2.0]])
    mean, std, m = kid(x, y, subsets=1)
    assert m == 2 and math.isclose(mean, 9.5, rel_tol=1e-9) and std == 0.0
    g = torch.Generator().manual_seed(1)
    a, b = torch.randn(300, 8, generator=g), torch.randn(300, 8, generator=g)
    same, _, m = kid(a, b, subsets=20)
    shifted, _, _ = kid(a, b + 1, subsets=20)
    assert m == 300 and abs(same) < 0.1 * shifted


def test_precision_recall_knn():
    g = torch.Generator().manual_seed(0)
    real = torch.randn(400, 2, generator=g)
    same = torch.randn(400, 2, generator=g)
    p, r = precision_recall(real, same)
    assert p > 0.9 and r > 0.9
    collapsed = torch.zeros(400, 2) + 0.01 * torch.randn(400, 2, generator=g)
    p, r = precision_recall(real, collapsed)
    assert p > 0.9 and r < 0.2  # realistic but not diverse: high precision, low recall
    far = torch.randn(400, 2, generator=g) + 10
    assert precision_recall(real, far) == (0.0, 0.0)
