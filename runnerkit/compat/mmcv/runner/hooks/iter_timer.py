"""mmcv 1.x's ``IterTimerHook`` (runnerkit's)."""

from __future__ import annotations

from runnerkit.hooks.iter_timer import IterTimerHook

__all__ = [
    "IterTimerHook",
]
