"""mmcv's ``parrots_wrapper``: PyTorch's private base classes under mmcv's names, and ``TORCH_VERSION``."""

from __future__ import annotations

from typing import Any

import torch
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.conv import _ConvNd, _ConvTransposeMixin
from torch.nn.modules.instancenorm import _InstanceNorm
from torch.nn.modules.pooling import _AdaptiveAvgPoolNd, _AdaptiveMaxPoolNd, _AvgPoolNd, _MaxPoolNd
from torch.utils.data import DataLoader

from runnerkit.compat.mmcv.utils.device_type import IS_CUDA_AVAILABLE, is_cuda_available

__all__ = [
    "IS_CUDA_AVAILABLE", "TORCH_VERSION", "is_cuda_available", "DataLoader", "PoolDataLoader",
    "SyncBatchNorm", "_AdaptiveAvgPoolNd", "_AdaptiveMaxPoolNd", "_AvgPoolNd", "_BatchNorm", "_ConvNd",
    "_ConvTransposeMixin", "_InstanceNorm", "_MaxPoolNd", "get_build_config", "is_rocm_pytorch",
]

TORCH_VERSION: str = torch.__version__
PoolDataLoader = DataLoader
SyncBatchNorm = torch.nn.SyncBatchNorm


def is_rocm_pytorch() -> bool:
    """Whether this PyTorch is built for ROCm (HIP)."""
    return getattr(torch.version, "hip", None) is not None


def get_build_config() -> str:
    """PyTorch's build configuration (``torch.__config__.show()``)."""
    return torch.__config__.show()


def __getattr__(name: str) -> Any:
    # torch.utils.cpp_extension imports setuptools: only on demand
    if name in ("BuildExtension", "CppExtension", "CUDAExtension"):
        from torch.utils import cpp_extension

        return getattr(cpp_extension, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
