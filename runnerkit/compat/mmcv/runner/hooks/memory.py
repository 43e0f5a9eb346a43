"""mmcv 1.x's ``EmptyCacheHook`` (runnerkit's)."""

from __future__ import annotations

from runnerkit.hooks.memory import EmptyCacheHook

__all__ = [
    "EmptyCacheHook",
]
