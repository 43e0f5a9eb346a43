"""mmcv 1.x's ``ClosureHook`` (runnerkit's)."""

from __future__ import annotations

from runnerkit.hooks.closure import ClosureHook

__all__ = [
    "ClosureHook",
]
