"""mmcv's ``IS_*_AVAILABLE`` flags and ``is_*_available`` functions."""

from __future__ import annotations

import torch

__all__ = [
    "IS_CUDA_AVAILABLE", "IS_IPU_AVAILABLE", "IS_MLU_AVAILABLE", "IS_MPS_AVAILABLE", "IS_NPU_AVAILABLE",
    "is_cuda_available", "is_ipu_available", "is_mlu_available", "is_mps_available", "is_npu_available",
]


def is_cuda_available() -> bool:
    return torch.cuda.is_available()


def is_ipu_available() -> bool:
    """Graphcore IPUs (poptorch) are not supported by runnerkit: always False."""
    return False


def is_mlu_available() -> bool:
    return bool(getattr(torch, "is_mlu_available", lambda: False)())


def is_mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return mps is not None and bool(mps.is_available())


def is_npu_available() -> bool:
    npu = getattr(torch, "npu", None)
    return npu is not None and bool(npu.is_available())


IS_CUDA_AVAILABLE: bool = is_cuda_available()
IS_IPU_AVAILABLE: bool = is_ipu_available()
IS_MLU_AVAILABLE: bool = is_mlu_available()
IS_MPS_AVAILABLE: bool = is_mps_available()
IS_NPU_AVAILABLE: bool = is_npu_available()
