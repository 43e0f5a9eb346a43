"""mmcv 1.x's ``mmcv.parallel``: the model wrappers the runner and evaluation code use."""

from __future__ import annotations

from runnerkit.compat.mmcv.parallel.data_parallel import MMDataParallel
from runnerkit.compat.mmcv.parallel.distributed import MMDistributedDataParallel
from runnerkit.compat.mmcv.parallel.utils import MODULE_WRAPPERS, is_module_wrapper

__all__ = ["MODULE_WRAPPERS", "MMDataParallel", "MMDistributedDataParallel", "is_module_wrapper"]
