"""mmcv 1.x's ``ProfilerHook`` (runnerkit's)."""

from __future__ import annotations

from runnerkit.hooks.profiler import ProfilerHook

__all__ = [
    "ProfilerHook",
]
