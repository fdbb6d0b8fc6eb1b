"""The plain references the quality bench compares ganctl against: what a competent user
writes in 60 lines (data as a tensor in memory, no per-step syncs), exactly as specified in
the issue "Results worth training for".

- Stage 1: a three-layer DCGAN, non-saturating BCE on logits, Adam 2e-4 (0.5, 0.999),
  batch 128, N(0, 0.02) init, samples with batch norm in eval mode.
- Stage 2: a residual over bicubic (conv3 3->48, six [conv3 48->48 + PReLU] with a skip,
  conv3 48->48 into PixelShuffle(4), last conv zero-initialised), L1, Adam 1e-3, batch 16
  of random pairs with horizontal flips.
- pix2pix and CycleGAN: the papers' recipes as their reference code trains them (the
  comments above `train_pix2pix` and `train_cyclegan` list them), data in memory.

Each `train_*` function trains for `seconds` of its own wall-clock time and hands a copy
of the generator to `snapshot(budget, net, steps, seconds)` as each budget is reached.
"""

from __future__ import annotations

import copy
import time

import torch
import torch.nn.functional as F
from torch import nn

ADAM = "fused"  # each bench's JSON records it; tools/report.py discloses it per table


def adam(params, lr: float, betas=(0.9, 0.999)) -> torch.optim.Adam:
    """Adam as a competent user writes it today: torch's fused kernel where it has one
    (CPU, CUDA), the same algorithm as its default per-parameter loop. (Before
    2026-12-07 the references used the default loop; tables measured then say so.)"""
    params = list(params)
    fused = all(p.device.type in ("cpu", "cuda") for p in params)
    return torch.optim.Adam(params, lr, betas=betas, fused=fused or None)


def minimize(opt: torch.optim.Optimizer, loss: torch.Tensor) -> None:
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()


def init_normal(*nets: nn.Module) -> None:
    for m in (m for net in nets for m in net.modules()):
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


def dcgan_nets(z_dim: int = 100) -> tuple[nn.Module, nn.Module]:
    g = nn.Sequential(
        nn.ConvTranspose2d(z_dim, 256, 7, 1, 0, bias=False), nn.BatchNorm2d(256), nn.ReLU(True),
        nn.ConvTranspose2d(256, 128, 4, 2, 1, bias=False), nn.BatchNorm2d(128), nn.ReLU(True),
        nn.ConvTranspose2d(128, 1, 4, 2, 1), nn.Tanh())
    d = nn.Sequential(
        nn.Conv2d(1, 64, 4, 2, 1), nn.LeakyReLU(0.2, True),
        nn.Conv2d(64, 128, 4, 2, 1, bias=False), nn.BatchNorm2d(128), nn.LeakyReLU(0.2, True),
        nn.Conv2d(128, 1, 7, 1, 0))
    init_normal(g, d)
    return g, d


def dcgan64_nets(z_dim: int = 100, width: int = 64) -> tuple[nn.Module, nn.Module]:
    """The classic 64-px DCGAN (the faces seed's): G z -> 512 -> 256 -> 128 -> 64 -> 3 of
    4x4 transposed convs with BN + ReLU and Tanh; D the mirror with LeakyReLU 0.2 and no
    BN on its first layer, one logit out."""
    w = [width * 8, width * 4, width * 2, width]
    g_layers = [nn.ConvTranspose2d(z_dim, w[0], 4, 1, 0, bias=False)]
    for c_in, c_out in zip(w, w[1:]):
        g_layers += [nn.BatchNorm2d(c_in), nn.ReLU(True),
                     nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False)]
    g = nn.Sequential(*g_layers, nn.BatchNorm2d(w[-1]), nn.ReLU(True),
                      nn.ConvTranspose2d(w[-1], 3, 4, 2, 1, bias=False), nn.Tanh())
    d_layers = [nn.Conv2d(3, width, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True)]
    for c_in, c_out in zip(w[::-1], w[::-1][1:]):
        d_layers += [nn.Conv2d(c_in, c_out, 4, 2, 1, bias=False), nn.BatchNorm2d(c_out),
                     nn.LeakyReLU(0.2, True)]
    d = nn.Sequential(*d_layers, nn.Conv2d(w[0], 1, 4, 1, 0, bias=False))
    init_normal(g, d)
    return g, d


class PlainGenerator(nn.Module):
    """The DCGAN generator taking flat latents (N, z_dim), as ganctl's do."""

    def __init__(self, g: nn.Module):
        super().__init__()
        self.g = g

    def forward(self, z):
        return self.g(z[:, :, None, None])


def train_dcgan(images: torch.Tensor, budgets: list[float], snapshot, seed: int = 0,
                batch: int = 128, z_dim: int = 100, nets=dcgan_nets) -> None:
    """`images`: uint8 (N, C, H, W) matching `nets(z_dim)` (28-px gray for `dcgan_nets`,
    64-px RGB for `dcgan64_nets`). Trains until the last budget (seconds)."""
    torch.manual_seed(seed)
    data = images.float().div(127.5).sub(1)
    batch = min(batch, len(data))
    g, d = nets(z_dim)
    opt_g = adam(g.parameters(), 2e-4, betas=(0.5, 0.999))
    opt_d = adam(d.parameters(), 2e-4, betas=(0.5, 0.999))
    bce = nn.BCEWithLogitsLoss()
    steps, spent, todo = 0, 0.0, sorted(budgets)
    while todo:
        order = torch.randperm(len(data))
        for i in range(len(data) // batch):
            t0 = time.perf_counter()
            real = data[order[i * batch:(i + 1) * batch]]
            fake = g(torch.randn(batch, z_dim, 1, 1))
            real_out, fake_out = d(real).view(-1), d(fake.detach()).view(-1)
            loss_d = bce(real_out, torch.ones_like(real_out)) + \
                bce(fake_out, torch.zeros_like(fake_out))
            minimize(opt_d, loss_d)
            out = d(fake).view(-1)
            loss_g = bce(out, torch.ones_like(out))
            minimize(opt_g, loss_g)
            steps += 1
            spent += time.perf_counter() - t0
            if spent >= todo[0]:
                snapshot(todo.pop(0), PlainGenerator(copy.deepcopy(g)).eval(), steps, spent)
                if not todo:
                    return


class PlainSR(nn.Module):
    def __init__(self, channels: int = 3, width: int = 48, n_convs: int = 6, scale: int = 4):
        super().__init__()
        self.scale = scale
        self.head = nn.Conv2d(channels, width, 3, 1, 1)
        self.body = nn.Sequential(*[m for _ in range(n_convs) for m in
                                    (nn.Conv2d(width, width, 3, 1, 1), nn.PReLU(width))])
        self.tail = nn.Conv2d(width, channels * scale * scale, 3, 1, 1)
        nn.init.zeros_(self.tail.weight)
        nn.init.zeros_(self.tail.bias)

    def forward(self, x):
        h = self.head(x)
        h = h + self.body(h)
        up = F.interpolate(x, scale_factor=self.scale, mode="bicubic", align_corners=False)
        return up + F.pixel_shuffle(self.tail(h), self.scale)


def train_sr(hr: torch.Tensor, downscale, budgets: list[float], snapshot, seed: int = 0,
             batch: int = 16) -> None:
    """`hr`: uint8 (N, C, H, W) high-resolution images; `downscale` makes the input."""
    torch.manual_seed(seed)
    data = hr.float().div(127.5).sub(1)
    net = PlainSR(channels=hr.shape[1])
    opt = adam(net.parameters(), 1e-3)
    steps, spent, todo = 0, 0.0, sorted(budgets)
    while todo:
        t0 = time.perf_counter()
        idx = torch.randint(0, len(data), (batch,))
        y = data[idx]
        flip = torch.rand(batch) < 0.5
        y = torch.where(flip[:, None, None, None], y.flip(-1), y)
        loss = F.l1_loss(net(downscale(y)), y)
        minimize(opt, loss)
        steps += 1
        spent += time.perf_counter() - t0
        if spent >= todo[0]:
            snapshot(todo.pop(0), copy.deepcopy(net).eval(), steps, spent)


# pix2pix as the paper's reference code builds it: U-Net 256 (8 levels, ngf 64, batch
# norm, no bias before batch norm, dropout 0.5 in the three inner ngf*8 decoder blocks),
# a 70x70 PatchGAN (ndf 64, 3 strided layers), BCE on logits, L1 x100, D loss halved,
# Adam 2e-4 (0.5, 0.999), batch 1, resize 286 + random crop 256 + flip, N(0, 0.02) init.

class UnetLevel(nn.Module):
    """One level of the U-Net: down, the inner levels, up, and the skip concatenation."""

    def __init__(self, outer: int, inner: int, sub: nn.Module | None = None,
                 in_ch: int | None = None, outermost: bool = False, dropout: bool = False):
        super().__init__()
        in_ch = in_ch or outer
        self.outermost = outermost
        down = [nn.Conv2d(in_ch, inner, 4, 2, 1, bias=False)]
        if not outermost:
            down = [nn.LeakyReLU(0.2, True), *down]
            if sub is not None:
                down.append(nn.BatchNorm2d(inner))
        up_in = inner if sub is None else inner * 2
        if outermost:
            up = [nn.ReLU(True), nn.ConvTranspose2d(up_in, outer, 4, 2, 1), nn.Tanh()]
        else:
            up = [nn.ReLU(True), nn.ConvTranspose2d(up_in, outer, 4, 2, 1, bias=False),
                  nn.BatchNorm2d(outer)] + ([nn.Dropout(0.5)] if dropout else [])
        self.model = nn.Sequential(*down, *([sub] if sub is not None else []), *up)

    def forward(self, x):
        return self.model(x) if self.outermost else torch.cat([x, self.model(x)], 1)


def unet(levels: int = 8, ngf: int = 64, channels: int = 3) -> nn.Module:
    block = UnetLevel(ngf * 8, ngf * 8)
    for i in range(levels - 5):
        block = UnetLevel(ngf * 8, ngf * 8, block, dropout=i < 3)
    for mult in (4, 2, 1):
        block = UnetLevel(ngf * mult, ngf * mult * 2, block)
    return UnetLevel(channels, ngf, block, in_ch=channels, outermost=True)


def patchgan(in_ch: int = 6, ndf: int = 64) -> nn.Module:
    layers = [nn.Conv2d(in_ch, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True)]
    for prev, mult, stride in ((1, 2, 2), (2, 4, 2), (4, 8, 1)):
        layers += [nn.Conv2d(ndf * prev, ndf * mult, 4, stride, 1, bias=False),
                   nn.BatchNorm2d(ndf * mult), nn.LeakyReLU(0.2, True)]
    return nn.Sequential(*layers, nn.Conv2d(ndf * 8, 1, 4, 1, 1))


def test_mode(g: nn.Module) -> nn.Module:
    """The reference's test setting: batch norm on the image's own statistics (it trained
    at batch 1), dropout off so the output is deterministic."""
    g.train()
    for m in g.modules():
        if isinstance(m, nn.Dropout):
            m.eval()
    return g


def train_pix2pix(a: torch.Tensor, b: torch.Tensor, budgets: list[float], snapshot,
                  seed: int = 0, load: int = 286, crop: int = 256) -> None:
    """`a`, `b`: uint8 (N, 3, H, W) inputs and targets. Trains at batch 1 until the last
    budget (seconds of its own training time)."""
    torch.manual_seed(seed)
    pairs = torch.cat([a, b], 1).float()
    pairs = F.interpolate(pairs, size=(load, load), mode="bicubic", align_corners=False)
    pairs = pairs.clamp(0, 255).div(127.5).sub(1)  # resized once, kept in memory
    g, d = unet(), patchgan()
    init_normal(g, d)
    opt_g = adam(g.parameters(), 2e-4, betas=(0.5, 0.999))
    opt_d = adam(d.parameters(), 2e-4, betas=(0.5, 0.999))
    bce = nn.BCEWithLogitsLoss()
    steps, spent, todo = 0, 0.0, sorted(budgets)
    while todo:
        for i in torch.randperm(len(pairs)).tolist():
            t0 = time.perf_counter()
            y, x = torch.randint(0, load - crop + 1, (2,)).tolist()
            pair = pairs[i:i + 1, :, y:y + crop, x:x + crop]
            if torch.rand(()) < 0.5:
                pair = pair.flip(-1)
            real_a, real_b = pair[:, :3], pair[:, 3:]
            fake_b = g(real_a)
            pred_real = d(torch.cat([real_a, real_b], 1))
            pred_fake = d(torch.cat([real_a, fake_b.detach()], 1))
            loss_d = 0.5 * (bce(pred_real, torch.ones_like(pred_real))
                            + bce(pred_fake, torch.zeros_like(pred_fake)))
            minimize(opt_d, loss_d)
            pred = d(torch.cat([real_a, fake_b], 1))
            loss_g = bce(pred, torch.ones_like(pred)) + 100 * F.l1_loss(fake_b, real_b)
            minimize(opt_g, loss_g)
            steps += 1
            spent += time.perf_counter() - t0
            if spent >= todo[0]:
                snapshot(todo.pop(0), test_mode(copy.deepcopy(g)), steps, spent)
                if not todo:
                    return


# CycleGAN as the paper's reference code builds it: ResNet generators (reflection padding,
# instance norm, 9 blocks at 256 px, 6 at 128 px as in the paper), 70x70 PatchGANs with
# instance norm, LSGAN, cycle x10, identity x0.5 of it, image pools of 50, Adam 2e-4
# (0.5, 0.999), batch 1, resize 286/256 of the crop + random crop + flip.

class ResBlock(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3), nn.InstanceNorm2d(dim), nn.ReLU(True),
            nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3), nn.InstanceNorm2d(dim))

    def forward(self, x):
        return x + self.body(x)


def resnet_generator(blocks: int, ngf: int = 64) -> nn.Module:
    layers = [nn.ReflectionPad2d(3), nn.Conv2d(3, ngf, 7), nn.InstanceNorm2d(ngf), nn.ReLU(True)]
    for mult in (1, 2):
        layers += [nn.Conv2d(ngf * mult, ngf * mult * 2, 3, 2, 1),
                   nn.InstanceNorm2d(ngf * mult * 2), nn.ReLU(True)]
    layers += [ResBlock(ngf * 4) for _ in range(blocks)]
    for mult in (4, 2):
        layers += [nn.ConvTranspose2d(ngf * mult, ngf * mult // 2, 3, 2, 1, output_padding=1),
                   nn.InstanceNorm2d(ngf * mult // 2), nn.ReLU(True)]
    return nn.Sequential(*layers, nn.ReflectionPad2d(3), nn.Conv2d(ngf, 3, 7), nn.Tanh())


def patchgan_instance(ndf: int = 64) -> nn.Module:
    layers = [nn.Conv2d(3, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True)]
    for prev, mult, stride in ((1, 2, 2), (2, 4, 2), (4, 8, 1)):
        layers += [nn.Conv2d(ndf * prev, ndf * mult, 4, stride, 1),
                   nn.InstanceNorm2d(ndf * mult), nn.LeakyReLU(0.2, True)]
    return nn.Sequential(*layers, nn.Conv2d(ndf * 8, 1, 4, 1, 1))


class Pool:
    """The paper's history of 50 generated images: once full, half the queries return an
    older image (and store the new one in its place)."""

    def __init__(self, size: int = 50):
        self.size, self.images = size, []

    def __call__(self, img: torch.Tensor) -> torch.Tensor:
        img = img.detach()
        if len(self.images) < self.size:
            self.images.append(img)
            return img
        if torch.rand(()) < 0.5:
            i = int(torch.randint(0, self.size, ()))
            self.images[i], img = img, self.images[i]
        return img


def train_cyclegan(a: torch.Tensor, b: torch.Tensor, budgets: list[float], snapshot,
                   seed: int = 0, crop: int = 256) -> None:
    """`a`, `b`: uint8 (N, 3, H, W) images of the two domains. Snapshots hand over
    (G_AB, G_BA) in eval mode."""
    torch.manual_seed(seed)
    load = round(crop * 286 / 256)

    def prepare(x):
        x = F.interpolate(x.float(), size=(load, load), mode="bicubic", align_corners=False)
        return x.clamp(0, 255).div(127.5).sub(1)

    a, b = prepare(a), prepare(b)
    blocks = 9 if crop >= 256 else 6
    g_ab, g_ba = resnet_generator(blocks), resnet_generator(blocks)
    d_a, d_b = patchgan_instance(), patchgan_instance()  # d_a judges B-side fakes, as in ganctl
    init_normal(g_ab, g_ba, d_a, d_b)
    opt_g = adam([*g_ab.parameters(), *g_ba.parameters()], 2e-4, betas=(0.5, 0.999))
    opt_d = adam([*d_a.parameters(), *d_b.parameters()], 2e-4, betas=(0.5, 0.999))
    pool_ab, pool_ba = Pool(), Pool()

    def lsgan(pred, real: bool):
        return F.mse_loss(pred, torch.full_like(pred, float(real)))

    def jitter(x):
        y, z = torch.randint(0, load - crop + 1, (2,)).tolist()
        x = x[None, :, y:y + crop, z:z + crop]
        return x.flip(-1) if torch.rand(()) < 0.5 else x

    steps, spent, todo = 0, 0.0, sorted(budgets)
    while todo:
        order_b = torch.randperm(len(b))
        for i in torch.randperm(len(a)).tolist():
            t0 = time.perf_counter()
            real_a, real_b = jitter(a[i]), jitter(b[int(order_b[i % len(b)])])
            fake_b, fake_a = g_ab(real_a), g_ba(real_b)
            for d in (d_a, d_b):
                d.requires_grad_(False)
            loss_g = (lsgan(d_a(fake_b), True) + lsgan(d_b(fake_a), True)
                      + 10 * F.l1_loss(g_ba(fake_b), real_a) + 10 * F.l1_loss(g_ab(fake_a), real_b)
                      + 5 * F.l1_loss(g_ab(real_b), real_b) + 5 * F.l1_loss(g_ba(real_a), real_a))
            minimize(opt_g, loss_g)
            for d in (d_a, d_b):
                d.requires_grad_(True)
            loss_d = 0.5 * (lsgan(d_a(real_b), True) + lsgan(d_a(pool_ab(fake_b)), False)
                            + lsgan(d_b(real_a), True) + lsgan(d_b(pool_ba(fake_a)), False))
            minimize(opt_d, loss_d)
            steps += 1
            spent += time.perf_counter() - t0
            if spent >= todo[0]:
                snapshot(todo.pop(0), (copy.deepcopy(g_ab).eval(), copy.deepcopy(g_ba).eval()),
                         steps, spent)
                if not todo:
                    return
