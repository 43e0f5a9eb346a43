"""mmcv 1.x's ``MlflowLoggerHook`` (runnerkit's)."""

from __future__ import annotations

from runnerkit.hooks.trackers.mlflow_logger import MlflowLoggerHook

__all__ = [
    "MlflowLoggerHook",
]
