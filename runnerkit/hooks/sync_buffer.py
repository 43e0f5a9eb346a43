"""``SyncBuffersHook``: average the model's buffers over processes after every epoch (mmcv 1.x)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import torch
import torch.distributed as dist

from runnerkit._args import checked
from runnerkit.hooks.hook import Hook
from runnerkit.parallel_fsdp import local_part

if TYPE_CHECKING:
    from runnerkit.runners.base import BaseRunner

__all__ = ["allreduce_buffers", "SyncBuffersHook"]


def allreduce_buffers(tensors: Iterable[torch.Tensor]) -> None:
    """Replace every tensor by its mean over all processes, in place (mmcv ``allreduce_params``).

    Tensors are flattened into one bucket per (device, dtype) so that each bucket costs a single
    collective. Integer tensors (such as BatchNorm's ``num_batches_tracked``) get the floor of the
    mean; boolean tensors and sharded ones (``DTensor``) are left alone. A no-op unless ``torch.distributed`` is initialised with more than one process.
    """
    if not (dist.is_available() and dist.is_initialized()):
        return
    world_size = dist.get_world_size()
    if world_size == 1:
        return
    buckets: dict[tuple[torch.device, torch.dtype], list[torch.Tensor]] = {}
    for tensor in tensors:
        if tensor.dtype == torch.bool or local_part(tensor) is not tensor:
            continue  # a sharded (DTensor) buffer: each rank holds its own part, nothing to average
        buckets.setdefault((tensor.device, tensor.dtype), []).append(tensor.data)
    for (_, dtype), bucket in buckets.items():
        flat = torch.cat([t.reshape(-1) for t in bucket])
        dist.all_reduce(flat, op=dist.ReduceOp.SUM)
        if dtype.is_floating_point or dtype.is_complex:
            flat.div_(world_size)
        else:
            flat = flat.div(world_size, rounding_mode="floor").to(dtype)
        offset = 0
        for t in bucket:
            n = t.numel()
            t.copy_(flat[offset : offset + n].view_as(t))
            offset += n


class SyncBuffersHook(Hook):
    """All-reduce-average the model's buffers (e.g. BatchNorm statistics) after every epoch.

    DistributedDataParallel keeps parameters in step but leaves each process with its own
    BatchNorm running statistics; averaging them after each epoch makes evaluation and
    checkpoints the same on every rank. Does nothing when not running distributed.

    Args:
        distributed: set ``False`` to turn the hook off (mmcv's argument).

    Example:
        >>> SyncBuffersHook().distributed
        True
    """

    @checked
    def __init__(self, distributed: bool = True) -> None:
        self.distributed = distributed

    def after_epoch(self, runner: BaseRunner) -> None:
        if self.distributed:
            allreduce_buffers(runner.model.buffers())
