"""mmcv 1.x's ``BaseRunner`` (runnerkit's)."""

from __future__ import annotations

from runnerkit.runners.base import BaseRunner

__all__ = ["BaseRunner"]
