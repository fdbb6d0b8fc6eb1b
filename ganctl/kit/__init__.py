"""What plugins build their recipes from: adversarial losses, learning-rate schedules,
paired and differentiable augmentation and seeded noise. The engine (train/) knows none of
it. Importing this package does not import torch (configs read the names below)."""

# The transforms of differentiable augmentation (kit/diffaug.py), and the `diffaug`
# option's values: "none", "auto" (all three below SMALL_DATA training images, else none),
# or any of them joined by commas, in this order.
DIFFAUG_KINDS = ("color", "translation", "cutout")
DIFFAUG_POLICIES = ("none", "auto", *(",".join(k for i, k in enumerate(DIFFAUG_KINDS) if m >> i & 1)
                              for m in range(1, 1 << len(DIFFAUG_KINDS))))
