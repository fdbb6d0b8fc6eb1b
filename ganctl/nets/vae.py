"""A convolutional VAE for anomaly detection, optionally conditioned on a small vector
(e.g. image metadata) given to both the encoder and the decoder."""

from __future__ import annotations

import math

import torch
from torch import nn

# Above this many encoder features, `features` pools the 4x4 map to 2x2 (the precision
# matrix of the feature score grows with its square: 2,048 features take 16 MB).
MAX_FEATURES = 2048


class ConvVAE(nn.Module):
    """Images in [0, 1] of side `size` (a power of two >= 16) -> latent -> reconstruction
    in [0, 1]. Four stride-2 conv blocks down to 4x4 (fewer for small sizes), mirrored.

    With `feature_stats`, the net also carries the mean and precision matrix of its
    encoder features on normal images (`feat_mean`, `feat_precision`, filled after
    training), for the Mahalanobis feature score. With `leak_head`, a linear head on the
    same features gives a logit for "like the known leaks" (trained on them beside the
    VAE), and `score_norm` holds the mean and spread of both scores on normal images, so
    `anomaly` can add them on one scale."""

    def __init__(self, channels: int = 3, size: int = 64, latent: int = 64, width: int = 32,
                 cond_dim: int = 0, feature_stats: bool = False, leak_head: bool = False):
        super().__init__()
        levels = int(math.log2(size)) - 2
        if 2 ** (levels + 2) != size or levels < 2:
            raise ValueError(f"VAE image size must be a power of two >= 16, got {size}")
        self.cond_dim, self.latent = cond_dim, latent
        chans = [width * 2**i for i in range(levels)]
        enc, cin = [], channels + cond_dim
        for c in chans:
            enc += [nn.Conv2d(cin, c, 4, 2, 1), nn.BatchNorm2d(c), nn.LeakyReLU(0.2, True)]
            cin = c
        self.encoder = nn.Sequential(*enc, nn.Flatten())
        flat = chans[-1] * 16
        self.to_stats = nn.Linear(flat, 2 * latent)
        self.from_latent = nn.Linear(latent + cond_dim, flat)
        dec = []
        for c_in, c_out in zip(chans[::-1], chans[::-1][1:] + [width]):
            dec += [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1), nn.BatchNorm2d(c_out),
                    nn.ReLU(True)]
        self.decoder = nn.Sequential(*dec, nn.Conv2d(width, channels, 3, 1, 1))
        self.top = chans[-1]
        self.pool_features = flat > MAX_FEATURES
        dim = flat // 4 if self.pool_features else flat  # what `features` returns
        if feature_stats:
            self.register_buffer("feat_mean", torch.zeros(dim))
            self.register_buffer("feat_precision", torch.zeros(dim, dim))
        self.leak_head = None
        if leak_head:
            self.leak_head = nn.Linear(dim, 1)
            self.register_buffer("score_norm", torch.tensor([0.0, 1.0, 0.0, 1.0]))

    def _hidden(self, x: torch.Tensor, cond: torch.Tensor | None) -> torch.Tensor:
        if self.cond_dim:
            x = torch.cat([x, cond[:, :, None, None].expand(-1, -1, *x.shape[-2:])], 1)
        return self.encoder(x)

    def encode(self, x: torch.Tensor, cond: torch.Tensor | None = None):
        mu, logvar = self.to_stats(self._hidden(x, cond)).chunk(2, dim=1)
        return mu, logvar.clamp(-20, 10)

    def features(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        """The encoder's flattened last feature map (pooled to 2x2 when large)."""
        h = self._hidden(x, cond)
        if self.pool_features:
            h = nn.functional.avg_pool2d(h.unflatten(1, (self.top, 4, 4)), 2).flatten(1)
        return h

    def mahalanobis(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        """Squared Mahalanobis distance of each image's features to the normal images'."""
        return self.distance(self.features(x, cond).float())

    def distance(self, h: torch.Tensor) -> torch.Tensor:
        """Squared Mahalanobis distance of features `h` to the normal images'."""
        d = h - self.feat_mean
        return ((d @ self.feat_precision) * d).sum(1)

    def leak_logit(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        """The leak head's logit per image (higher: more like the known leaks)."""
        return self.leak_head(self.features(x, cond)).squeeze(1)

    def anomaly(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        """The feature score: the Mahalanobis distance, plus the leak head's logit when the
        net has one, each standardised by its mean and spread on normal images."""
        h = self.features(x, cond).float()
        m = self.distance(h)
        if self.leak_head is None:
            return m
        n = self.score_norm
        return (m - n[0]) / n[1] + (self.leak_head(h).squeeze(1) - n[2]) / n[3]

    def decode(self, z: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        if self.cond_dim:
            z = torch.cat([z, cond], 1)
        h = self.from_latent(z).unflatten(1, (self.top, 4, 4))
        return torch.sigmoid(self.decoder(h))

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None):
        """(reconstruction, mu, logvar); sampling happens only in training mode."""
        mu, logvar = self.encode(x, cond)
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp() if self.training else mu
        return self.decode(z, cond), mu, logvar
