"""mmcv 1.x's ``LoggerHook`` base class (runnerkit's)."""

from __future__ import annotations

from runnerkit.hooks.logger_base import LoggerHook

__all__ = [
    "LoggerHook",
]
