"""mmcv 1.x's ``mmcv.utils``: config, registry, logging, environment, version, path and progress helpers.

After :func:`runnerkit.compat.mmcv.install` (with no mmcv installed), ``import mmcv.utils`` gives
this package. ``Config`` reads files with runnerkit's own config reader.
"""

from __future__ import annotations

from typing import Any

from runnerkit.compat.mmcv.utils.config import Config, ConfigDict, DictAction
from runnerkit.compat.mmcv.utils.device_type import (
    IS_CUDA_AVAILABLE,
    IS_IPU_AVAILABLE,
    IS_MLU_AVAILABLE,
    IS_MPS_AVAILABLE,
    IS_NPU_AVAILABLE,
)
from runnerkit.compat.mmcv.utils.env import collect_env
from runnerkit.compat.mmcv.utils.logging import get_logger, print_log
from runnerkit.compat.mmcv.utils.misc import (
    check_prerequisites,
    concat_list,
    deprecated_api_warning,
    has_method,
    import_modules_from_strings,
    is_list_of,
    is_method_overridden,
    is_seq_of,
    is_str,
    is_tuple_of,
    iter_cast,
    list_cast,
    requires_executable,
    requires_package,
    slice_list,
    to_1tuple,
    to_2tuple,
    to_3tuple,
    to_4tuple,
    to_ntuple,
    tuple_cast,
)
from runnerkit.compat.mmcv.utils.parrots_wrapper import (
    TORCH_VERSION,
    DataLoader,
    PoolDataLoader,
    SyncBatchNorm,
    _AdaptiveAvgPoolNd,
    _AdaptiveMaxPoolNd,
    _AvgPoolNd,
    _BatchNorm,
    _ConvNd,
    _ConvTransposeMixin,
    _InstanceNorm,
    _MaxPoolNd,
    get_build_config,
    is_rocm_pytorch,
)
from runnerkit.compat.mmcv.utils.path import (
    check_file_exist,
    find_vcs_root,
    fopen,
    is_filepath,
    mkdir_or_exist,
    scandir,
    symlink,
)
from runnerkit.compat.mmcv.utils.progressbar import (
    ProgressBar,
    track_iter_progress,
    track_parallel_progress,
    track_progress,
)
from runnerkit.compat.mmcv.utils.registry import Registry, build_from_cfg
from runnerkit.compat.mmcv.utils.seed import worker_init_fn
from runnerkit.compat.mmcv.utils.timer import Timer, TimerError, check_time
from runnerkit.compat.mmcv.utils.torch_ops import torch_meshgrid
from runnerkit.compat.mmcv.utils.trace import is_jit_tracing
from runnerkit.compat.mmcv.utils.version_utils import digit_version, get_git_hash

__all__ = [
    "IS_CUDA_AVAILABLE",
    "IS_IPU_AVAILABLE",
    "IS_MLU_AVAILABLE",
    "IS_MPS_AVAILABLE",
    "IS_NPU_AVAILABLE",
    "TORCH_VERSION",
    "Config",
    "ConfigDict",
    "DataLoader",
    "DictAction",
    "PoolDataLoader",
    "ProgressBar",
    "Registry",
    "SyncBatchNorm",
    "Timer",
    "TimerError",
    "_AdaptiveAvgPoolNd",
    "_AdaptiveMaxPoolNd",
    "_AvgPoolNd",
    "_BatchNorm",
    "_ConvNd",
    "_ConvTransposeMixin",
    "_InstanceNorm",
    "_MaxPoolNd",
    "build_from_cfg",
    "check_file_exist",
    "check_prerequisites",
    "check_time",
    "collect_env",
    "concat_list",
    "deprecated_api_warning",
    "digit_version",
    "find_vcs_root",
    "fopen",
    "get_build_config",
    "get_git_hash",
    "get_logger",
    "has_method",
    "import_modules_from_strings",
    "is_filepath",
    "is_jit_tracing",
    "is_list_of",
    "is_method_overridden",
    "is_rocm_pytorch",
    "is_seq_of",
    "is_str",
    "is_tuple_of",
    "iter_cast",
    "list_cast",
    "mkdir_or_exist",
    "print_log",
    "requires_executable",
    "requires_package",
    "scandir",
    "slice_list",
    "symlink",
    "to_1tuple",
    "to_2tuple",
    "to_3tuple",
    "to_4tuple",
    "to_ntuple",
    "torch_meshgrid",
    "track_iter_progress",
    "track_parallel_progress",
    "track_progress",
    "tuple_cast",
    "worker_init_fn",
]


def __getattr__(name: str) -> Any:
    if name in ("BuildExtension", "CppExtension", "CUDAExtension"):
        from runnerkit.compat.mmcv.utils import parrots_wrapper

        return getattr(parrots_wrapper, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
