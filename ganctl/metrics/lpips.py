"""LPIPS (Zhang et al., The Unreasonable Effectiveness of Deep Features as a Perceptual
Metric, CVPR 2018, v0.1): the perceptual distance the image-to-image and super-resolution
papers report beside PSNR/SSIM. Lower is closer; 0 for identical images.

An ImageNet backbone (AlexNet, the paper's default, or VGG16) gives five feature maps;
each is normalised to unit length across channels, the squared difference of the two
images' maps is weighted per channel by the paper's learned 1x1 layer, averaged over
space, and the five are summed. Both files come through the one download path: the
backbone from torchvision (checked against the SHA-256 prefix in its name), the learned
layers from the authors' repository (BSD-2-Clause, checked against the SHA-256 of the
copy in the `lpips` package on PyPI).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ganctl import weights
from ganctl.weights.torch_hub import folder

LINS = ("https://raw.githubusercontent.com/richzhang/PerceptualSimilarity/master/lpips/"
        "weights/v0.1/")


@dataclass(frozen=True)
class Backbone:
    slices: tuple[tuple[int, int], ...]  # feature-layer ranges ending at each ReLU tapped
    channels: tuple[int, ...]
    lin_sha256: str


BACKBONES = {
    "alex": Backbone(((0, 2), (2, 5), (5, 8), (8, 10), (10, 12)), (64, 192, 384, 256, 256),
                     "df73285e35b22355a2df87cdb6b70b343713b667eddbda73e1977e0c860835c0"),
    "vgg": Backbone(((0, 4), (4, 9), (9, 16), (16, 23), (23, 30)), (64, 128, 256, 512, 512),
                    "a78928a0af1e5f0fcb1f3b9e8f8c3a2a5a3de244d830ad5c1feddc79b8432868"),
}


def _features(net: str) -> nn.Sequential:
    from torchvision.models import alexnet, vgg16

    return (alexnet if net == "alex" else vgg16)(weights=None).features


class LPIPS(nn.Module):
    """`forward(x, y)`: per-image LPIPS of two (N, 3, H, W) batches in [-1, 1]."""

    def __init__(self, net: str = "alex"):
        super().__init__()
        spec = BACKBONES[net]
        self.net_name = net
        self.features = _features(net)
        self.slices = spec.slices
        self.lins = nn.ModuleList(nn.Conv2d(c, 1, 1, bias=False) for c in spec.channels)
        self.register_buffer("shift", torch.tensor([-0.030, -0.088, -0.188]).view(1, 3, 1, 1))
        self.register_buffer("scale", torch.tensor([0.458, 0.448, 0.450]).view(1, 3, 1, 1))
        self.requires_grad_(False)

    def taps(self, x: torch.Tensor) -> list[torch.Tensor]:
        out, h = [], (x - self.shift) / self.scale
        for start, end in self.slices:
            for i in range(start, end):
                h = self.features[i](h)
            out.append(h / (h.pow(2).sum(1, keepdim=True).sqrt() + 1e-10))
        return out

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        total = 0
        for a, b, lin in zip(self.taps(x.float()), self.taps(y.float()), self.lins):
            total = total + lin((a - b).pow(2)).mean((2, 3))
        return total.flatten()


def load(net: str = "alex", device="cpu", download: bool = True) -> LPIPS | None:
    """LPIPS with its published weights (fetched on first use; None when `download` is
    False and they are not all here)."""
    from torchvision.models import AlexNet_Weights, VGG16_Weights

    from ganctl.data.download import fetch

    record = AlexNet_Weights.IMAGENET1K_V1 if net == "alex" else VGG16_Weights.IMAGENET1K_V1
    what = f"torchvision's ImageNet {'AlexNet' if net == 'alex' else 'VGG16'} (for LPIPS)"
    backbone = weights.torchvision_file(record, what, download=download)
    lin = folder() / f"lpips-v0.1-{net}.pth"
    if not lin.is_file():
        if not download:
            return None
        fetch([LINS + f"{net}.pth"], lin, sha256=BACKBONES[net].lin_sha256, approx_size=7000,
              what=f"LPIPS v0.1 {net} layer weights", fallback=f"put it at {lin}")
    if backbone is None:
        return None
    model = LPIPS(net)
    sd = torch.load(backbone, map_location="cpu", weights_only=True)
    model.features.load_state_dict({k.removeprefix("features."): v for k, v in sd.items()
                                    if k.startswith("features.")})
    lins = torch.load(lin, map_location="cpu", weights_only=True)
    model.lins.load_state_dict({f"{i}.weight": lins[f"lin{i}.model.1.weight"]
                                for i in range(len(model.lins))})
    return model.eval().to(device)


def distance(model: LPIPS, x: torch.Tensor, y: torch.Tensor, batch: int = 16) -> torch.Tensor:
    """Per-image LPIPS of two same-size batches in [-1, 1], on the model's device."""
    device = next(model.parameters()).device
    out = []
    with torch.no_grad():
        for i in range(0, len(x), batch):
            out.append(model(x[i:i + batch].to(device), y[i:i + batch].to(device)).cpu())
    return torch.cat(out)



MIN_SIDE = 64  # the LPIPS paper's patch size; AlexNet's strides leave too little below it


class Validation:
    """LPIPS for a training run's validation, only when its files are already here (after
    one `ganctl evaluate NAME --pairs`, say): training never downloads. Gray images are
    compared as RGB; images under MIN_SIDE px are not scored."""

    def __init__(self):
        self.model, self.tried = None, False

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor | None:
        """Mean LPIPS of two batches in [-1, 1], or None (no weights here, too small)."""
        if min(x.shape[-2:]) < MIN_SIDE:
            return None
        if not self.tried:
            self.tried = True
            try:
                self.model = load("alex", x.device, download=False)
            except Exception:  # noqa: BLE001 - a broken cached file must not stop training
                self.model = None
        if self.model is None:
            return None
        if x.shape[1] == 1:
            x, y = x.expand(-1, 3, -1, -1), y.expand(-1, 3, -1, -1)
        return distance(self.model, x, y).mean()
