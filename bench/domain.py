"""A small two-domain classifier (horse vs zebra, or any two folders) trained on the real
*training* images only, for scoring unpaired translation without downloaded weights:

- the share of translated test images the classifier calls the target domain;
- FD and KID between the translated images and the real target test images in its
  64-d penultimate features (few test images: read KID first, FD is biased upward).

Inputs are uint8 (N, 3, H, W) tensors at any size; the net sees 64x64 (area-resized),
trained with random crops of 56-64 px resized back, horizontal flips, and random blur and
desaturation of both domains. Without the last two it called a blurred zebra a horse and
a greyish horse a zebra, so an untrained generator's blur scored as a translation
(`robust_accuracy` reports the accuracy on blurred and on grey test images).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.transforms.functional import gaussian_blur

SIZE = 64
FEATURES = 64


class DomainNet(nn.Module):
    def __init__(self, classes: int = 2):
        super().__init__()
        chans = [3, 32, 64, 128, 128]
        layers = []
        for c_in, c_out in zip(chans, chans[1:]):
            layers += [nn.Conv2d(c_in, c_out, 3, 2, 1), nn.BatchNorm2d(c_out), nn.ReLU(True)]
        self.body = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                  nn.Linear(128, FEATURES), nn.ReLU(True))
        self.head = nn.Linear(FEATURES, classes)

    def features(self, x):
        return self.body(x)

    def forward(self, x):
        return self.head(self.features(x))


def prepare(images: torch.Tensor) -> torch.Tensor:
    """uint8 (N, 3, H, W) -> float (N, 3, 64, 64) in [-1, 1]."""
    x = images.float().div(127.5).sub(1)
    return F.interpolate(x, size=(SIZE, SIZE), mode="area") if x.shape[-1] != SIZE else x


def augment(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    n = len(x)
    side = int(torch.randint(56, SIZE + 1, (), generator=g))
    y0, x0 = torch.randint(0, SIZE - side + 1, (2,), generator=g).tolist()
    x = F.interpolate(x[:, :, y0:y0 + side, x0:x0 + side], size=(SIZE, SIZE),
                      mode="bilinear", align_corners=False)
    flip = torch.rand(n, generator=g) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(-1), x)
    colour = torch.where(torch.rand(n, generator=g) < 0.5, torch.rand(n, generator=g), 1.0)
    x = desaturate(x, colour)
    sigma = float(torch.empty(()).uniform_(0.3, 1.5, generator=g))
    blur = (torch.rand(n, generator=g) < 0.5)[:, None, None, None]
    return torch.where(blur, gaussian_blur(x, 7, sigma), x)


def desaturate(x: torch.Tensor, colour: torch.Tensor | float) -> torch.Tensor:
    """Mix each image with its grey version: `colour` 1 keeps it, 0 makes it grey."""
    grey = (x * torch.tensor([0.299, 0.587, 0.114])[:, None, None]).sum(1, keepdim=True)
    colour = torch.as_tensor(colour, dtype=x.dtype).reshape(-1, 1, 1, 1)
    return grey + colour * (x - grey)


def train(images_a: torch.Tensor, images_b: torch.Tensor, steps: int = 400,
          seed: int = 0) -> DomainNet:
    """Domain 0 = A, 1 = B; Adam 1e-3, batches of 32 balanced by sampling."""
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    a, b = prepare(images_a), prepare(images_b)
    net = DomainNet()
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    for _ in range(steps):
        ia = torch.randint(0, len(a), (16,), generator=g)
        ib = torch.randint(0, len(b), (16,), generator=g)
        x = augment(torch.cat([a[ia], b[ib]]), g)
        y = torch.cat([torch.zeros(16), torch.ones(16)]).long()
        loss = F.cross_entropy(net(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return net.eval()


@torch.no_grad()
def predict(net: DomainNet, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(P(domain B) per image, 64-d features)."""
    x = prepare(images)
    feats = net.features(x)
    return net.head(feats).softmax(1)[:, 1], feats


def accuracy(net: DomainNet, images_a: torch.Tensor, images_b: torch.Tensor) -> float:
    pa, _ = predict(net, images_a)
    pb, _ = predict(net, images_b)
    return float(((pa < 0.5).sum() + (pb >= 0.5).sum()) / (len(pa) + len(pb)))


@torch.no_grad()
def robust_accuracy(net: DomainNet, images_a: torch.Tensor,
                    images_b: torch.Tensor) -> dict[str, float]:
    """Accuracy on the images as they are, blurred (sigma 1 px at 64 px), and grey."""
    out = {}
    for name, change in (("plain", lambda x: x), ("blurred", lambda x: gaussian_blur(x, 7, 1.0)),
                         ("grey", lambda x: desaturate(x, 0.0))):
        pa, pb = (net.head(net.features(change(prepare(x)))).softmax(1)[:, 1]
                  for x in (images_a, images_b))
        out[name] = float(((pa < 0.5).sum() + (pb >= 0.5).sum()) / (len(pa) + len(pb)))
    return out


def scores(net: DomainNet, translated: torch.Tensor, real_target: torch.Tensor,
           target: int) -> dict[str, float]:
    """`translated` images meant to be domain `target` (0 = A, 1 = B) against real ones."""
    from ganctl.metrics.frechet import fd_from_features, kid

    p, f_fake = predict(net, translated)
    _, f_real = predict(net, real_target)
    share = (p >= 0.5).float().mean() if target == 1 else (p < 0.5).float().mean()
    return {"target_share": float(share), "fd": fd_from_features(f_fake.double(), f_real.double()),
            "kid": kid(f_fake, f_real)[0]}
