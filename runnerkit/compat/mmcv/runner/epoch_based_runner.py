"""mmcv 1.x's ``EpochBasedRunner`` (runnerkit's) and the deprecated ``Runner`` alias."""

from __future__ import annotations

import warnings
from typing import Any

from runnerkit.compat.mmcv._registry import RUNNERS
from runnerkit.runners.epoch_based import EpochBasedRunner

__all__ = ["EpochBasedRunner", "Runner"]


class Runner(EpochBasedRunner):
    """Deprecated name for :class:`EpochBasedRunner` (mmcv)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        warnings.warn("Runner was deprecated, please use EpochBasedRunner instead", DeprecationWarning, stacklevel=2)
        super().__init__(*args, **kwargs)


# mmcv registers the alias too: `RUNNERS.module_dict` and `build_runner(dict(type="Runner"))` know it.
if RUNNERS.get("Runner") is None:
    RUNNERS.register_module(module=Runner)
