"""mmcv 1.x's ``LogBuffer`` (runnerkit's)."""

from __future__ import annotations

from runnerkit.log_buffer import LogBuffer

__all__ = ["LogBuffer"]
