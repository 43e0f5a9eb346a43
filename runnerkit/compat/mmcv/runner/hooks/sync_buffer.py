"""mmcv 1.x's ``SyncBuffersHook`` (runnerkit's)."""

from __future__ import annotations

from runnerkit.hooks.sync_buffer import SyncBuffersHook

__all__ = [
    "SyncBuffersHook",
]
