"""mmcv's ``worker_init_fn`` and the small torch helpers of ``mmcv.utils`` (``torch_meshgrid``, ``is_jit_tracing``)."""

from __future__ import annotations

import random

import numpy as np
import torch

__all__ = ["is_jit_tracing", "torch_meshgrid", "worker_init_fn"]


def worker_init_fn(worker_id: int, num_workers: int, rank: int, seed: int) -> None:
    """Seed NumPy, ``random`` and torch in a data loader worker with ``num_workers * rank + worker_id + seed``."""
    worker_seed = num_workers * rank + worker_id + seed
    np.random.seed(worker_seed)
    random.seed(worker_seed)
    torch.manual_seed(worker_seed)


def torch_meshgrid(*tensors: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """``torch.meshgrid`` with matrix (``"ij"``) indexing, without the indexing warning."""
    return torch.meshgrid(*tensors, indexing="ij")


def is_jit_tracing() -> bool:
    """Whether ``torch.jit.trace`` is running."""
    return bool(torch._C._is_tracing())
