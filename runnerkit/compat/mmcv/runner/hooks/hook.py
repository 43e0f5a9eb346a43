"""mmcv 1.x's ``Hook`` base class and the ``HOOKS`` registry."""

from __future__ import annotations

from runnerkit.compat.mmcv._registry import HOOKS
from runnerkit.hooks.hook import Hook

__all__ = [
    "HOOKS",
    "Hook",
]
