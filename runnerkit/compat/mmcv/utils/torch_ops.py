"""mmcv's ``torch_meshgrid``."""

from __future__ import annotations

import torch

__all__ = ["torch_meshgrid"]


def torch_meshgrid(*tensors: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """``torch.meshgrid`` with matrix (``"ij"``) indexing, without the indexing warning."""
    return torch.meshgrid(*tensors, indexing="ij")
