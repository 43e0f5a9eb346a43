"""mmcv 1.x's ``DvcliveLoggerHook`` (runnerkit's)."""

from __future__ import annotations

from runnerkit.hooks.trackers.dvclive_logger import DvcliveLoggerHook

__all__ = [
    "DvcliveLoggerHook",
]
