"""mmcv's ``IS_*_AVAILABLE`` flags."""

from __future__ import annotations

import torch

__all__ = ["IS_CUDA_AVAILABLE", "IS_IPU_AVAILABLE", "IS_MLU_AVAILABLE", "IS_MPS_AVAILABLE", "IS_NPU_AVAILABLE"]

IS_CUDA_AVAILABLE: bool = torch.cuda.is_available()
IS_MPS_AVAILABLE: bool = bool(getattr(torch.backends, "mps", None)) and torch.backends.mps.is_available()
IS_IPU_AVAILABLE = False
IS_MLU_AVAILABLE = False
IS_NPU_AVAILABLE: bool = bool(getattr(torch, "npu", None)) and getattr(torch, "npu").is_available()  # noqa: B009
