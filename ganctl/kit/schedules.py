"""Learning-rate schedules (factors for torch.optim.lr_scheduler.LambdaLR)."""

from __future__ import annotations


class LinearDecay:
    """The pix2pix/CycleGAN schedule: lr factor 1 for `n_epochs`, then linearly to 0 over
    `n_decay` epochs: 1 - max(0, epoch + 1 - n_epochs) / (n_decay + 1), and 0 from then on
    (a `--minutes` run can outlast the schedule: a negative rate would undo training)."""

    def __init__(self, n_epochs: int, n_decay: int):
        self.n_epochs, self.n_decay = n_epochs, n_decay

    def __call__(self, epoch: int) -> float:
        return max(0.0, 1.0 - max(0, epoch + 1 - self.n_epochs) / float(self.n_decay + 1))
