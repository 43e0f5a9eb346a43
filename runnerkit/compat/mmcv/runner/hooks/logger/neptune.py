"""mmcv 1.x's ``NeptuneLoggerHook`` (runnerkit's)."""

from __future__ import annotations

from runnerkit.hooks.trackers.neptune_logger import NeptuneLoggerHook

__all__ = [
    "NeptuneLoggerHook",
]
