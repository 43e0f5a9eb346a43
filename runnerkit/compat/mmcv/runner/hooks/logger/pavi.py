"""mmcv 1.x's ``PaviLoggerHook`` (runnerkit's)."""

from __future__ import annotations

from runnerkit.hooks.trackers.pavi_logger import PaviLoggerHook

__all__ = [
    "PaviLoggerHook",
]
