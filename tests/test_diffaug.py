"""Differentiable augmentation (ganctl/kit/diffaug.py): each transform does what it says and
passes gradients; augmenting real and generated images alike keeps the transforms out of
the generated images (augmenting only the real ones does not); every GAN plugin sends
every discriminator input through it."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from ganctl.kit import DIFFAUG_POLICIES, diffaug
from tests.conftest import TINY


def test_translation_shifts_each_image_whole_pixels_and_zero_fills_the_border():
    torch.manual_seed(0)
    x = torch.rand(64, 2, 16, 16) + 1  # no zeros in the input
    out = diffaug.translation(x)
    for img, src in zip(out, x):
        found = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)
                 if torch.equal(img, shifted(src, dy, dx))]
        assert len(found) == 1, "not a whole-pixel shift of at most 1/8 of the side"
    assert (out == 0).any() and (out != 0).any()


def shifted(img, dy, dx):
    """img moved so that out[y, x] = img[y + dy, x + dx], zero outside."""
    h, w = img.shape[-2:]
    pad = F.pad(img, [2, 2, 2, 2])
    return pad[:, 2 + dy:2 + dy + h, 2 + dx:2 + dx + w]


def test_cutout_zeros_one_square_of_half_the_side_and_keeps_the_rest():
    torch.manual_seed(0)
    x = torch.rand(200, 3, 16, 16) + 1
    out = diffaug.cutout(x)
    zero = out[:, 0] == 0
    assert torch.equal(zero, (out == 0).all(1)), "the hole goes through every channel"
    assert torch.equal(out[~zero[:, None].expand_as(out)], x[~zero[:, None].expand_as(x)])
    for mask in zero:
        rows, cols = mask.any(1).nonzero().flatten(), mask.any(0).nonzero().flatten()
        assert mask.sum() == len(rows) * len(cols), "the hole is a rectangle"
        assert len(rows) <= 8 and len(cols) <= 8
    full = zero.flatten(1).sum(1) == 64
    assert 0.2 < full.float().mean() < 0.9, "most holes lie wholly inside the image"


def test_color_transforms_both_halves_of_a_pair_alike_and_varies_between_images():
    torch.manual_seed(0)
    img = torch.rand(8, 3, 8, 8) * 2 - 1
    out = diffaug.color(torch.cat([img, img], 1), groups=2)
    assert torch.allclose(out[:, :3], out[:, 3:])
    assert not torch.allclose(out[:, :3], img)
    shift = (out[:, :3] - img).mean((1, 2, 3))
    assert shift.std() > 0.05, "each image gets its own draw"


@pytest.mark.parametrize("policy", [p for p in DIFFAUG_POLICIES if p not in ("none", "auto")])
def test_every_policy_passes_the_gradient_to_the_image(policy):
    torch.manual_seed(0)
    x = torch.rand(4, 3, 16, 16, requires_grad=True)
    out = diffaug.augmenter(policy)(x)
    assert out.shape == x.shape
    out.square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_none_is_the_identity_and_an_unknown_policy_is_refused():
    x = torch.rand(2, 3, 8, 8)
    assert diffaug.augmenter("none")(x) is x
    with pytest.raises(ValueError, match="color,translation,cutout"):
        diffaug.augmenter("cutout,color")


def test_auto_turns_every_transform_on_for_small_training_sets_only(capsys):
    assert diffaug.resolve("auto", 109) == "color,translation,cutout"
    assert diffaug.resolve("auto", diffaug.SMALL_DATA) == "none"
    assert diffaug.resolve("cutout", 10**6) == "cutout"
    x = torch.rand(2, 3, 16, 16)
    assert diffaug.augmenter("auto", 200_000)(x) is x
    torch.manual_seed(0)
    assert not torch.equal(diffaug.augmenter("auto", 109)(x), x)
    assert "diffaug=auto: color,translation,cutout (109 training images" in \
        capsys.readouterr().err


def toy_gan(augment_fakes: bool, seed: int = 0, steps: int = 300):
    """A small GAN on 8x8 images of one random gray level in [0.4, 0.8] each, with the
    discriminator behind cutout; returns 1000 generated images."""
    torch.manual_seed(seed)
    g = torch.nn.Sequential(torch.nn.Linear(16, 64), torch.nn.LeakyReLU(0.2),
                            torch.nn.Linear(64, 64), torch.nn.Tanh())
    d = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 64),
                            torch.nn.LeakyReLU(0.2), torch.nn.Linear(64, 1))
    opt_g, opt_d = (torch.optim.Adam(n.parameters(), 2e-3, betas=(0.5, 0.999)) for n in (g, d))
    aug = diffaug.augmenter("cutout")
    aug_fake = aug if augment_fakes else (lambda x: x)
    bce = F.binary_cross_entropy_with_logits
    for _ in range(steps):
        real = (0.4 + 0.4 * torch.rand(64, 1, 1, 1)).expand(64, 1, 8, 8)
        fake = g(torch.randn(64, 16)).view(64, 1, 8, 8)
        real_logits, fake_logits = d(aug(real)), d(aug_fake(fake.detach()))
        loss_d = bce(real_logits, torch.ones_like(real_logits)) + \
            bce(fake_logits, torch.zeros_like(fake_logits))
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        after = d(aug_fake(fake))
        opt_g.zero_grad()
        bce(after, torch.ones_like(after)).backward()
        opt_g.step()
    with torch.no_grad():
        return g(torch.randn(1000, 16))


def test_augmenting_real_and_generated_images_alike_keeps_cutout_holes_out_of_the_samples():
    """The real images have no pixel below 0.4. When only they are augmented, the generator
    learns to make the holes (the leak the DiffAugment paper describes): its samples get
    dark pixels and a lower mean. Augmenting its images too, they match the real ones."""
    alike, leaky = toy_gan(augment_fakes=True), toy_gan(augment_fakes=False)
    dark_alike, dark_leaky = ((s < 0.2).float().mean() for s in (alike, leaky))
    assert dark_leaky > 0.12, "control: augmenting only the real images leaks the holes"
    assert dark_alike < 0.5 * dark_leaky
    assert abs(alike.mean() - 0.6) < 0.05 < abs(leaky.mean() - 0.6)


# discriminator inputs per training step: real, generated for D's step, generated for G's
# (CycleGAN: that for each of its two discriminators)
PER_STEP = {"sneakers": 3, "faces": 3, "pix2pix": 3, "cyclegan": 6}


@pytest.mark.parametrize("plugin", [*PER_STEP, "sneakers2"])
def test_every_gan_plugin_sends_every_discriminator_input_through_the_augmentation(
        plugin, cli, monkeypatch):
    seen = []
    real = diffaug.translation

    def spy(x):
        seen.append(x.shape)
        return real(x)

    monkeypatch.setattr(diffaug, "translation", spy)
    args = TINY[plugin]
    name = plugin.rstrip("2")
    res = cli("train", name, "--data", "synthetic", "--no-publish", *args,
              "--set", "sample_every=1000", "diffaug=translation")
    assert res.code == 0, res.err
    # sneakers2 trains one warm-up step (pixel loss only, no D) and one adversarial step
    expected = 3 if plugin == "sneakers2" else 2 * PER_STEP[plugin]
    assert len(seen) == expected
    if plugin == "pix2pix":
        assert all(s[1] == 6 for s in seen), "D sees (input, image) pairs, both augmented"


def test_the_option_is_checked_and_absent_where_there_is_no_discriminator(cli):
    res = cli("train", "sneakers", "--data", "synthetic", "--steps", "1", "--dry-run",
              "--set", "diffaug=cutout,color")
    assert res.code != 0 and "diffaug" in res.err and "Traceback" not in res.err
    res = cli("train", "leaks", "--data", "synthetic", "--steps", "1", "--dry-run",
              "--set", "diffaug=cutout")
    assert res.code != 0 and "diffaug" in res.err and "Traceback" not in res.err
