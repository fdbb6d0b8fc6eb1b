"""A small Fashion-MNIST classifier whose penultimate features give a Frechet distance
that means something at 28x28 grayscale (Inception features do not)."""

from __future__ import annotations

import hashlib
import time

import torch
import torch.nn.functional as F
from torch import nn

from ganctl import checkpoint, paths
from ganctl.console import info
from ganctl.tensors import match_channels, to_unit

FEATURES = 128


class SmallCNN(nn.Module):
    def __init__(self, classes: int = 10):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(True),
            nn.Conv2d(32, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(True), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(True),
            nn.Conv2d(64, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(True), nn.MaxPool2d(2),
            nn.Flatten(), nn.Dropout(0.3), nn.Linear(64 * 7 * 7, FEATURES), nn.ReLU(True))
        self.head = nn.Linear(FEATURES, classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """x in [-1, 1], (N, 1, 28, 28) -> (N, FEATURES)."""
        return self.body(x)

    def forward(self, x):
        return self.head(self.features(x))


def train_classifier(train_x, train_y, test_x, test_y, epochs: int = 3, seed: int = 0,
                     device="cpu", progress: bool = False) -> tuple[SmallCNN, float]:
    """Train on uint8 (N, 1, 28, 28) images; returns the net and its test accuracy.
    `progress`: a bar with ETA on stderr (plain lines where it is no terminal)."""
    from ganctl.progress import Reporter

    torch.manual_seed(seed)
    net = SmallCNN().to(device)
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, 2e-3, total_steps=epochs *
                                                (len(train_x) // 128))
    g = torch.Generator().manual_seed(seed)
    total = epochs * (len(train_x) // 128)
    bar = Reporter(total, 0.0, 0, 0.0, "training the feature classifier", enabled=progress)
    done, t0 = 0, time.monotonic()
    for _ in range(epochs):
        net.train()
        order = torch.randperm(len(train_x), generator=g)
        for i in range(len(train_x) // 128):
            idx = order[i * 128:(i + 1) * 128]
            x = to_unit(train_x[idx]).to(device)
            if torch.rand(1, generator=g).item() < 0.5:
                x = x.flip(-1)
            loss = F.cross_entropy(net(x), train_y[idx].long().to(device))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            done += 1
            bar.step(done, done / (len(train_x) // 128), time.monotonic() - t0)
            if done % 100 == 0 or done == total:
                bar.logged({"step": done, "epoch": done / (len(train_x) // 128),
                            "loss": loss.item()})
    bar.close()
    return net.eval(), accuracy(net, test_x, test_y, device)


@torch.no_grad()
def accuracy(net, x, y, device="cpu") -> float:
    net.eval()
    correct = 0
    for i in range(0, len(x), 1000):
        pred = net(to_unit(x[i:i + 1000]).to(device)).argmax(1).cpu()
        correct += int((pred == y[i:i + 1000].long()).sum())
    return correct / len(x)


@torch.no_grad()
def embed(net: SmallCNN, images: torch.Tensor, device="cpu") -> torch.Tensor:
    """Features of uint8 (N, 1, 28, 28) images or float ones in [-1, 1]."""
    net.eval()
    out = []
    for i in range(0, len(images), 1000):
        chunk = images[i:i + 1000]
        x = match_channels(to_unit(chunk) if chunk.dtype == torch.uint8 else chunk.float(), 1)
        out.append(net.features(x.to(device)).cpu())
    return torch.cat(out)


BUNDLED = "fashion-classifier"  # ganctl/weights/bundled/, made by `python -m tools.bundle`


def bundled_classifier(device="cpu") -> tuple[SmallCNN, dict] | None:
    """The classifier that ships with ganctl (trained by `train_classifier`, seed 0, on the
    60,000 Fashion-MNIST training images), or None when this install lacks the file. The
    same file everywhere, so FD/KID in its features compare across machines."""
    from ganctl.weights import bundled, formats

    path = bundled.path(BUNDLED)
    if path is None:
        return None
    doc = formats.read(path)
    net = SmallCNN()
    net.load_state_dict({k: v.float() for k, v in doc["nets"]["classifier"].items()})
    meta = {**doc.get("recipe_meta", {}), "sha256": checkpoint.sha256_of(path),
            "file": str(path), "origin": "bundled"}
    return net.to(device).eval(), meta


def fashion_classifier(root, device="cpu") -> tuple[SmallCNN, dict]:
    """The bundled classifier; without it, one trained here on the Fashion-MNIST files
    in `root` on first use (announced, with a progress bar) and cached."""
    from ganctl.data.layouts import IDX_FILES, fashion_mnist

    shipped = bundled_classifier(device)
    if shipped is not None:
        return shipped
    if root is None:
        from ganctl.errors import GanctlError

        raise GanctlError("this install has no bundled Fashion-MNIST classifier, and "
                          "training one needs Fashion-MNIST: `ganctl download-data "
                          "fashion-mnist` first")
    h = hashlib.sha256()
    for name in IDX_FILES["train"] + IDX_FILES["test"]:
        p = root / name
        h.update(f"{name}:{p.stat().st_size if p.exists() else 0}".encode())
    key = h.hexdigest()[:12]
    path = paths.cache_dir() / "extractors" / f"fashion-classifier-{key}.pt"
    if path.is_file():
        saved = checkpoint.load(path, kind="weights", plugin="metrics")
        net = SmallCNN()
        net.load_state_dict(saved["nets"]["classifier"])
        sha = hashlib.sha256(path.read_bytes()).hexdigest()
        return net.to(device).eval(), {**saved["meta"], "sha256": sha, "file": str(path),
                                       "origin": "trained here"}
    info("this install has no bundled Fashion-MNIST classifier: training one once (3 "
         "epochs of 60,000 images, a few CPU-minutes; cached afterwards)")
    tx, ty = fashion_mnist(root, "train")
    vx, vy = fashion_mnist(root, "test")
    tx, ty, vx, vy = map(torch.from_numpy, (tx, ty, vx, vy))
    net, acc = train_classifier(tx, ty, vx, vy, device=device, progress=True)
    meta = {"test_accuracy": acc, "dataset_key": key, "features": FEATURES,
            "train_images": len(tx)}
    checkpoint.save({"kind": "weights", "plugin": "metrics", "stage": 0, "meta": meta,
                     "nets": {"classifier": net.state_dict()}}, path)
    info(f"classifier test accuracy {acc:.4f}; saved {path}")
    return net, {**meta, "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                 "file": str(path), "origin": "trained here"}
