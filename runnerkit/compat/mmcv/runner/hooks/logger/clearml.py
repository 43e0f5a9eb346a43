"""mmcv 1.x's ``ClearMLLoggerHook`` (runnerkit's)."""

from __future__ import annotations

from runnerkit.hooks.trackers.clearml_logger import ClearMLLoggerHook

__all__ = [
    "ClearMLLoggerHook",
]
