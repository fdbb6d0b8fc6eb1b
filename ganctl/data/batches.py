"""An endless, resumable stream of training batches.

The order is a pure function of (seed, epoch), so the stream's whole state is two
integers: the epoch and how many batches of it were consumed. That is what makes
"k steps + resume + N-k steps" equal N steps.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import DataLoader, Dataset

from ganctl.data.sources import ImageTensors

# Whole in-memory datasets up to this size are moved to the GPU once.
DEVICE_RESIDENT_BYTES = 2 * 1024**3


class BatchStream:
    def __init__(self, dataset: Dataset, batch_size: int, seed: int, device: torch.device,
                 workers: int = 0):
        self.n = len(dataset)
        if self.n == 0:
            raise ValueError("empty dataset")
        self.batch_size = min(batch_size, self.n)
        self.seed = seed
        self.device = device
        self.workers = workers
        self.epoch = 0
        self.batch = 0
        self.dataset = dataset
        if isinstance(dataset, ImageTensors) and (
            device.type == "cpu" or dataset.nbytes() <= DEVICE_RESIDENT_BYTES
        ):
            self.dataset = dataset.to(device)

    @property
    def batches_per_epoch(self) -> int:
        return self.n // self.batch_size

    def order(self, epoch: int) -> torch.Tensor:
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        return torch.randperm(self.n, generator=g)

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "batch": self.batch}

    def load_state_dict(self, state: dict) -> None:
        self.epoch, self.batch = int(state["epoch"]), int(state["batch"])

    def __iter__(self) -> Iterator[tuple[torch.Tensor, ...]]:
        while True:
            order = self.order(self.epoch)
            chunks = [order[i * self.batch_size:(i + 1) * self.batch_size]
                      for i in range(self.batch, self.batches_per_epoch)]
            for batch in self._load(chunks):
                self.batch += 1
                yield batch
            self.epoch += 1
            self.batch = 0

    def _load(self, chunks: list[torch.Tensor]):
        if hasattr(self.dataset, "set_epoch"):  # e.g. unpaired data re-pairs every epoch
            self.dataset.set_epoch(self.epoch)
        if isinstance(self.dataset, ImageTensors):
            for idx in chunks:  # a dataset too big for the GPU stays on the host: copy over
                yield tuple(t.to(self.device, non_blocking=True)
                            for t in self.dataset.get_batch(idx))
            return
        cuda = self.device.type == "cuda"
        loader = DataLoader(self.dataset, batch_sampler=[c.tolist() for c in chunks],
                            num_workers=self.workers, pin_memory=cuda)
        for batch in loader:
            batch = batch if isinstance(batch, (tuple, list)) else (batch,)
            yield tuple(t.to(self.device, non_blocking=cuda) for t in batch)
