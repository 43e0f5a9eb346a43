"""mmcv 1.x's ``DefaultRunnerConstructor`` (runnerkit's)."""

from __future__ import annotations

from runnerkit._build import DefaultRunnerConstructor

__all__ = ["DefaultRunnerConstructor"]
