"""mmcv 1.x's ``mmcv.runner.optimizer``: optimizer registries, constructors and ``build_optimizer`` on runnerkit's."""

from __future__ import annotations

from runnerkit.compat.mmcv.runner.optimizer.builder import (
    OPTIMIZER_BUILDERS,
    OPTIMIZERS,
    build_optimizer,
    build_optimizer_constructor,
)
from runnerkit.compat.mmcv.runner.optimizer.default_constructor import DefaultOptimizerConstructor

__all__ = [
    "OPTIMIZERS",
    "OPTIMIZER_BUILDERS",
    "DefaultOptimizerConstructor",
    "build_optimizer",
    "build_optimizer_constructor",
]
