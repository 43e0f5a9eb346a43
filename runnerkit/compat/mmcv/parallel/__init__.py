"""mmcv 1.x's ``mmcv.parallel``: the model wrappers, ``DataContainer``, ``collate`` and ``scatter``."""

from __future__ import annotations

from runnerkit.compat.mmcv.parallel.collate import collate
from runnerkit.compat.mmcv.parallel.data_container import DataContainer
from runnerkit.compat.mmcv.parallel.data_parallel import MMDataParallel
from runnerkit.compat.mmcv.parallel.distributed import MMDistributedDataParallel
from runnerkit.compat.mmcv.parallel.scatter_gather import scatter, scatter_kwargs
from runnerkit.compat.mmcv.parallel.utils import MODULE_WRAPPERS, is_module_wrapper

__all__ = [
    "MODULE_WRAPPERS",
    "DataContainer",
    "MMDataParallel",
    "MMDistributedDataParallel",
    "collate",
    "is_module_wrapper",
    "scatter",
    "scatter_kwargs",
]
