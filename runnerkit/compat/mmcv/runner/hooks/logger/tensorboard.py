"""mmcv 1.x's ``TensorboardLoggerHook`` (runnerkit's)."""

from __future__ import annotations

from runnerkit.hooks.tensorboard_logger import TensorboardLoggerHook

__all__ = [
    "TensorboardLoggerHook",
]
