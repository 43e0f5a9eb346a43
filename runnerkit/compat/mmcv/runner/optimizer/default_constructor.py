"""mmcv 1.x's ``DefaultOptimizerConstructor``: runnerkit's own (the same class), with mmcv 1.7.2's ``paramwise_cfg`` rules."""

from __future__ import annotations

from runnerkit.optim.default_constructor import DefaultOptimizerConstructor

__all__ = ["DefaultOptimizerConstructor"]
