"""`ganctl evaluate`: FD/KID between generated and real images in a named feature space,
with every score labelled by how it was made, and cached reference statistics."""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from ganctl import checkpoint, paths, weights
from ganctl.errors import GanctlError, UsageError
from ganctl.metrics.frechet import fd_from_features, kid, precision_recall
from ganctl.tensors import imagenet_input, match_channels

INCEPTION_FILE = "inception_v3_google-0cc3c7bd.pth"  # torchvision's ImageNet weights
RESIZE = "bicubic, antialiased, on [-1, 1] tensors"
# The FID network's weights (TF Inception 2015-12-05 as pytorch-fid ported them).
FID_WEIGHTS_URL = ("https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/"
                   "pt_inception-2015-12-05-6726825d.pth")
FID_RESIZE = ("8-bit quantised, then bilinear to 299 x 299 without antialiasing "
              "(pytorch-fid's and torchmetrics' way)")
EXTRACTORS = "classifier, inception, inception-torchvision or torchscript:PATH[@SIZE]"


@dataclass
class Extractor:
    """Maps images in [-1, 1] (N, C, H, W) to features (N, D)."""

    name: str
    sha256: str
    size: int
    channels: int
    net: torch.nn.Module
    resize: str | None = RESIZE  # None: the net takes any size and resizes itself

    @torch.no_grad()
    def __call__(self, images: torch.Tensor, device) -> torch.Tensor:
        out = []
        for i in range(0, len(images), 250):
            x = images[i:i + 250].float().to(device)
            if x.shape[1] != self.channels:
                x = match_channels(x, self.channels)
            if self.resize and (x.shape[-1] != self.size or x.shape[-2] != self.size):
                x = F.interpolate(x, size=(self.size, self.size), mode="bicubic",
                                  align_corners=False, antialias=True).clamp(-1, 1)
            out.append(self.net(x).flatten(1).float().cpu())
        return torch.cat(out)


def extractor(spec: str, device) -> Extractor:
    """'classifier' (Fashion-MNIST CNN), 'inception' (the FID Inception network of every
    published FID), 'inception-torchvision' (torchvision's ImageNet Inception-v3, ganctl's
    `inception` before 2026-12-07: its FIDs compare with nothing published) or
    'torchscript:PATH' (any module: [-1, 1] images -> features, run at the size given as
    'torchscript:PATH@SIZE', default 64)."""
    if spec == "classifier":
        from ganctl.data import catalog
        from ganctl.metrics.classifier import fashion_classifier

        net, meta = fashion_classifier(catalog.locate("fashion-mnist"), device)
        return Extractor(f"fashion-classifier ({meta['origin']}, test accuracy "
                         f"{meta['test_accuracy']:.4f})", meta["sha256"], 28, 1,
                         _Features(net))
    if spec == "inception":
        from ganctl.nets.fid_inception import FIDInception

        path = weights.hub_file(FID_WEIGHTS_URL, "the FID Inception network (TF Inception "
                                "2015-12-05, for --extractor inception)")
        net = FIDInception()
        net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        return Extractor("fid-inception pool3 (2048-d, pt_inception-2015-12-05)",
                         checkpoint.sha256_of(path), 299, 3,
                         _Quantised(net.eval().to(device)), resize=None)
    if spec == "inception-torchvision":
        from torchvision.models import Inception_V3_Weights, inception_v3

        record = Inception_V3_Weights.IMAGENET1K_V1
        path = weights.torchvision_file(record, "torchvision's ImageNet Inception-v3 (for "
                                        "--extractor inception-torchvision)")

        net = inception_v3(weights=None, aux_logits=True, init_weights=False)
        net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        net.fc = torch.nn.Identity()
        return Extractor("torchvision inception-v3 pool3 (2048-d; not the FID network)",
                         checkpoint.sha256_of(path), 299, 3,
                         _ImageNetInput(net.eval().to(device)))
    if spec.startswith("torchscript:"):
        target, _, size = spec[len("torchscript:"):].partition("@")
        path = Path(target).expanduser()
        if not path.is_file():
            raise UsageError(f"--extractor {spec}: no such file")
        try:
            with warnings.catch_warnings():  # deprecated in new torch, still the format asked
                warnings.simplefilter("ignore", FutureWarning)
                net = torch.jit.load(str(path), map_location=device).eval()
        except Exception as e:  # noqa: BLE001 - any load failure is the user's file
            raise GanctlError(f"{path} is not a TorchScript module: {type(e).__name__}") from None
        return Extractor(f"torchscript {path.name}", checkpoint.sha256_of(path),
                         int(size or 64), 3, net)
    raise UsageError(f"--extractor must be {EXTRACTORS}")


class _Features(torch.nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net.features(x)


class _Quantised(torch.nn.Module):
    """[-1, 1] images rounded to 8-bit levels first, as saved images and the FID tools'
    loaders give them (generators' float outputs included)."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net(x.add(1).mul(127.5).round().div(127.5).sub(1))


class _ImageNetInput(torch.nn.Module):
    """[-1, 1] -> ImageNet normalisation -> the network."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net(imagenet_input(x))


def reference_features(ext: Extractor, key: str, load_real, device) -> tuple[torch.Tensor, bool]:
    """Features of the real set, cached by (real-set key, extractor hash); (features, hit)."""
    name = hashlib.sha256(f"{key}|{ext.sha256}".encode()).hexdigest()[:20]
    path = paths.cache_dir() / "refstats" / f"{name}.pt"
    if path.is_file():
        return checkpoint.load(path, kind="weights", plugin="refstats")["features"], True
    feats = ext(load_real(), device)
    checkpoint.save({"kind": "weights", "plugin": "refstats", "stage": 0, "key": key,
                     "extractor": ext.name, "features": feats}, path)
    return feats, False


def score(metrics: list[str], ext: Extractor, fake_feats: torch.Tensor,
          real_feats: torch.Tensor) -> dict:
    out = {}
    if "fd" in metrics:
        out["fd"] = round(fd_from_features(fake_feats, real_feats), 4)
    if "kid" in metrics:
        mean, std, subset = kid(fake_feats, real_feats)
        out.update(kid=round(mean, 6), kid_std=round(std, 6), kid_subset_size=subset)
    if "pr" in metrics:
        precision, recall = precision_recall(real_feats, fake_feats, k=3)
        out.update(precision=round(precision, 4), recall=round(recall, 4), pr_k=3)
    return out
