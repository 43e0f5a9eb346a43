"""mmcv 1.x's ``TextLoggerHook`` (runnerkit's)."""

from __future__ import annotations

from runnerkit.hooks.text_logger import TextLoggerHook

__all__ = [
    "TextLoggerHook",
]
