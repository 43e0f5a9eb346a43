"""mmcv 1.x's ``CheckpointHook`` (runnerkit's)."""

from __future__ import annotations

from runnerkit.hooks.checkpoint import CheckpointHook

__all__ = [
    "CheckpointHook",
]
