"""mmcv 1.x's ``WandbLoggerHook`` (runnerkit's)."""

from __future__ import annotations

from runnerkit.hooks.trackers.wandb_logger import WandbLoggerHook

__all__ = [
    "WandbLoggerHook",
]
