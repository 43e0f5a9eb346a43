"""mmcv 1.x's ``EMAHook`` (runnerkit's)."""

from __future__ import annotations

from runnerkit.hooks.ema import EMAHook

__all__ = [
    "EMAHook",
]
