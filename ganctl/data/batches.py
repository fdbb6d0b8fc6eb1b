"""An endless, resumable stream of training batches.

The order is a pure function of (seed, epoch), so the stream's whole state is two
integers: the epoch and how many batches of it were consumed. That is what makes
"k steps + resume + N-k steps" equal N steps. In a distributed run every rank computes
the same order and takes its own slice of each global batch (rank r of W takes the r-th
of W consecutive batches), so ranks never see the same image in one epoch.

In-memory datasets are batched by indexing (on the GPU when they fit); datasets read
from files go through one DataLoader whose workers persist across epochs.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import DataLoader, Dataset

from ganctl.console import info
from ganctl.data.sources import ImageTensors
from ganctl.device import usable_cores

# Whole in-memory datasets up to this size are moved to the GPU once.
DEVICE_RESIDENT_BYTES = 2 * 1024**3


class EpochKeyed(Dataset):
    """A dataset whose items depend on the epoch (unpaired data re-paired every epoch): it
    is indexed by (epoch, index) keys."""


class BatchStream:
    def __init__(self, dataset: Dataset, batch_size: int, seed: int, device: torch.device,
                 workers: int = 0, rank: int = 0, world: int = 1, say_cap: bool = True):
        self.n = len(dataset)
        if self.n < world:
            raise ValueError("empty dataset" if self.n == 0 else
                             f"{self.n} images cannot be shared by {world} processes")
        self.rank, self.world = rank, world
        self.batch_size = min(batch_size, self.n // world)
        self.seed = seed
        self.device = device
        self.workers = workers
        self.epoch = 0
        self.batch = 0
        self.dataset = dataset
        self.loader: DataLoader | None = None
        self.sampler = _Chunks()
        if isinstance(dataset, ImageTensors) and (
            device.type == "cpu" or dataset.nbytes() <= DEVICE_RESIDENT_BYTES
        ):
            self.dataset = dataset.to(device)
        elif workers > usable_cores():  # more would only compete for the same cores
            self.workers = usable_cores()
            if say_cap:  # the user asked for `workers`; a default is capped silently
                info(f"{self.workers} data loader worker(s) instead of {workers}: this machine "
                     f"gives the process {self.workers} CPU(s)")

    @property
    def batches_per_epoch(self) -> int:
        return self.n // (self.batch_size * self.world)

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
            bs = self.batch_size
            chunks = [order[(i * self.world + self.rank) * bs:][:bs]
                      for i in range(self.batch, self.batches_per_epoch)]
            for batch in self._load(chunks):
                self.batch += 1
                yield batch
            self.epoch += 1
            self.batch = 0

    def _load(self, chunks: list[torch.Tensor]):
        if isinstance(self.dataset, ImageTensors):
            for idx in chunks:  # a dataset too big for the GPU stays on the host: copy over
                yield tuple(t.to(self.device, non_blocking=True)
                            for t in self.dataset.get_batch(idx))
            return
        cuda = self.device.type == "cuda"
        # Datasets whose items depend on the epoch (unpaired data re-pairs every epoch)
        # take (epoch, index) keys: worker processes hold copies, so no shared state.
        keyed = isinstance(self.dataset, EpochKeyed)
        self.sampler.chunks = [[(self.epoch, i) for i in c.tolist()] if keyed else c.tolist()
                               for c in chunks]
        for batch in self._loader():
            batch = batch if isinstance(batch, (tuple, list)) else (batch,)
            yield tuple(t.to(self.device, non_blocking=cuda) for t in batch)

    def _loader(self) -> DataLoader:
        if self.loader is None:
            extra = {"persistent_workers": True, "prefetch_factor": 4} if self.workers else {}
            # Its own generator: every new iterator draws a base seed from it, which would
            # otherwise come from the global RNG and shift the training stream on resume.
            self.loader = DataLoader(self.dataset, batch_sampler=self.sampler,
                                     num_workers=self.workers,
                                     pin_memory=self.device.type == "cuda",
                                     generator=torch.Generator().manual_seed(self.seed),
                                     **extra)
        return self.loader


class _Chunks:
    """A batch sampler whose batches are set before each epoch's pass."""

    def __init__(self):
        self.chunks: list[list] = []

    def __iter__(self):
        return iter(self.chunks)

    def __len__(self) -> int:
        return len(self.chunks)
