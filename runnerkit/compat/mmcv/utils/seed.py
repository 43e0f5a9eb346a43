"""mmcv's ``worker_init_fn``: seeds for data loader workers."""

from __future__ import annotations

import random

import numpy as np
import torch

__all__ = ["worker_init_fn"]


def worker_init_fn(worker_id: int, num_workers: int, rank: int, seed: int) -> None:
    """Seed NumPy, ``random`` and torch in a data loader worker with ``num_workers * rank + worker_id + seed``."""
    worker_seed = num_workers * rank + worker_id + seed
    np.random.seed(worker_seed)
    random.seed(worker_seed)
    torch.manual_seed(worker_seed)
