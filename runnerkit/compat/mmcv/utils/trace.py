"""mmcv's ``is_jit_tracing``."""

from __future__ import annotations

import torch

__all__ = ["is_jit_tracing"]


def is_jit_tracing() -> bool:
    """Whether ``torch.jit.trace`` is running."""
    return bool(torch._C._is_tracing())
