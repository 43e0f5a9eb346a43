"""torch.distributed helpers (rank, world size, rank-0 guard)."""

from __future__ import annotations

import torch
import torch.distributed as dist


def unwrap_model(model: torch.nn.Module) -> torch.nn.Module:
    """The model inside a DDP/DataParallel wrapper (or the model itself)."""
    inner = getattr(model, "module", None)
    return inner if isinstance(inner, torch.nn.Module) else model


def get_dist_info() -> tuple[int, int]:
    """``(rank, world_size)``; ``(0, 1)`` when torch.distributed is not initialised."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def is_main_process() -> bool:
    """True on rank 0 (and when not distributed)."""
    return get_dist_info()[0] == 0
