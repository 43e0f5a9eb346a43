"""mmcv 1.x's ``SegmindLoggerHook`` (runnerkit's)."""

from __future__ import annotations

from runnerkit.hooks.trackers.segmind_logger import SegmindLoggerHook

__all__ = [
    "SegmindLoggerHook",
]
