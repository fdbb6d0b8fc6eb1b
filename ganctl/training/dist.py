"""Data-parallel training over torch.distributed, for processes started by torchrun.

Every process holds the full nets. Rank 0's initial weights are broadcast, each process
trains on its own shard of every batch order, and before each optimiser step the
gradients of that optimiser's parameters are averaged across processes in one
all-reduce. This is DistributedDataParallel's algorithm done explicitly per update:
a GAN step runs D several times before one backward and steps G and D separately,
which DDP's per-forward gradient hooks do not support.

Batch-norm buffers follow rank 0 (broadcast before each step, as DDP's
`broadcast_buffers` does) unless `sync_bn` turns the layers into SyncBatchNorm.
Only rank 0 writes run folders, logs, checkpoints and published weights.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as tdist
from torch import nn

from ganctl.device import resolve
from ganctl.errors import UsageError


@dataclass
class Dist:
    rank: int = 0
    world: int = 1
    backend: str = ""
    control: Any = None  # a gloo group for host-side flags and objects

    @property
    def on(self) -> bool:
        return self.world > 1

    @property
    def main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.on:
            tdist.barrier(group=self.control)

    def any(self, flag: bool) -> bool:
        """True on every rank if `flag` is true on any (host-side; no GPU sync)."""
        if not self.on:
            return flag
        t = torch.tensor([int(flag)])
        tdist.all_reduce(t, op=tdist.ReduceOp.MAX, group=self.control)
        return bool(t.item())

    def gather(self, obj) -> list:
        """`obj` of every rank, in rank order (on every rank)."""
        if not self.on:
            return [obj]
        out: list = [None] * self.world
        tdist.all_gather_object(out, obj, group=self.control)
        return out

    def broadcast(self, obj):
        """Rank 0's `obj` on every rank."""
        if not self.on:
            return obj
        box = [obj]
        tdist.broadcast_object_list(box, src=0, group=self.control)
        return box[0]

    def close(self) -> None:
        if self.on and tdist.is_initialized():
            tdist.destroy_process_group()


def start(device_spec: str) -> tuple[Dist, torch.device]:
    """Join the process group torchrun describes in the environment (WORLD_SIZE, RANK,
    LOCAL_RANK, MASTER_ADDR/PORT); a plain run is a world of one."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist(), resolve(device_spec)
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    spec = (device_spec or "auto").lower()
    if spec.startswith("cuda:"):
        raise UsageError("under torchrun each process uses cuda:LOCAL_RANK; pass --device "
                         "cuda (or auto) and pick GPUs with CUDA_VISIBLE_DEVICES")
    if spec == "cuda" or (spec == "auto" and torch.cuda.is_available()):
        device = resolve(f"cuda:{local}")
        backend = "nccl"
    elif spec in ("auto", "cpu"):
        device, backend = torch.device("cpu"), "gloo"
    else:
        raise UsageError(f"distributed training runs on cuda or cpu, not {device_spec!r}")
    tdist.init_process_group(backend, rank=rank, world_size=world)
    control = tdist.new_group(backend="gloo") if backend != "gloo" else None
    return Dist(rank, world, backend, control), device


def rank_seed(seed: int, rank: int) -> int:
    """Rank 0 keeps the run's seed (a world of one equals a plain run); others differ."""
    return seed if rank == 0 else seed + 1_000_003 * rank


def _flat_apply(tensors: list[torch.Tensor], op) -> None:
    """Run collective `op` on the tensors as one flat buffer per dtype, then copy back."""
    by_dtype: dict[torch.dtype, list[torch.Tensor]] = {}
    for t in tensors:
        by_dtype.setdefault(t.dtype, []).append(t)
    for group in by_dtype.values():
        flat = torch.cat([t.reshape(-1) for t in group])
        op(flat)
        offset = 0
        for t in group:
            t.copy_(flat[offset:offset + t.numel()].view_as(t))
            offset += t.numel()


def broadcast_state(nets, buffers_only: bool = False) -> None:
    """Make every rank hold rank 0's parameters (unless buffers_only) and buffers."""
    tensors = []
    for net in nets:
        if not buffers_only:
            tensors += [p.data for p in net.parameters()]
        tensors += list(net.buffers())
    if tensors:
        with torch.no_grad():
            _flat_apply(tensors, lambda flat: tdist.broadcast(flat, src=0))


class GradSync:
    """Average the gradients of an optimiser's parameters across ranks (one all-reduce)."""

    def __init__(self, world: int):
        self.world = world

    def __call__(self, opt: torch.optim.Optimizer) -> None:
        grads = [p.grad for g in opt.param_groups for p in g["params"] if p.grad is not None]
        if grads:
            def reduce(flat):
                tdist.all_reduce(flat)
                flat.div_(self.world)
            _flat_apply(grads, reduce)


def average(values: dict[str, torch.Tensor], world: int) -> dict[str, torch.Tensor]:
    """The mean over ranks of logged scalars (called at logging intervals only)."""
    if world <= 1 or not values:
        return values
    keys = sorted(values)
    flat = torch.stack([values[k].float().reshape(()) for k in keys])
    tdist.all_reduce(flat)
    flat /= world
    return dict(zip(keys, flat.unbind()))


def use_sync_bn(nets: dict[str, nn.Module], device: torch.device) -> None:
    """Batch statistics over the global batch: BatchNorm layers become SyncBatchNorm
    (same parameter objects, so optimisers are unaffected)."""
    if device.type != "cuda":
        raise UsageError("sync_bn needs CUDA (SyncBatchNorm has no CPU implementation)")
    for name, net in nets.items():
        nets[name] = nn.SyncBatchNorm.convert_sync_batchnorm(net)


def checksum(nets: dict[str, nn.Module]) -> str:
    """A digest of every parameter and buffer, to check that ranks agree."""
    h = hashlib.sha256()
    for name in sorted(nets):
        for key, t in sorted(nets[name].state_dict().items()):
            h.update(key.encode())
            flat = t.detach().cpu().contiguous().reshape(-1)
            h.update(flat.view(torch.uint8).numpy().tobytes())
    return h.hexdigest()[:16]
