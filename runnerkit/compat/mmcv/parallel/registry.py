"""mmcv 1.x's ``mmcv.parallel.registry``: where ``MODULE_WRAPPERS`` lives in mmcv's layout."""

from __future__ import annotations

from runnerkit.compat.mmcv.parallel.utils import MODULE_WRAPPERS

__all__ = ["MODULE_WRAPPERS"]
