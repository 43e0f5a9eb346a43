"""Optimizer constructors: parameter groups from ``paramwise_cfg`` (mmcv 1.x), as components.

An optimizer config ``dict(type="SGD", lr=0.01, constructor=..., paramwise_cfg=dict(...))`` is
built by an optimizer constructor: ``DefaultOptimizerConstructor`` (mmcv's rules) unless
``constructor`` names another, installed under the entry-point group
``runnerkit.optimizer_constructors`` or returned by a plugin's ``runnerkit_optimizer_constructors()``.
"""

from __future__ import annotations

from runnerkit.optim.builder import build_optimizer, build_optimizer_constructor
from runnerkit.optim.default_constructor import DefaultOptimizerConstructor
from runnerkit.optim.paramwise import CustomKeyConfig, ParamwiseConfig
from runnerkit.optim.registry import optimizer_class, register_optimizer, registered_optimizers, unregister_optimizer

__all__ = [
    "CustomKeyConfig",
    "DefaultOptimizerConstructor",
    "ParamwiseConfig",
    "build_optimizer",
    "build_optimizer_constructor",
    "optimizer_class",
    "register_optimizer",
    "registered_optimizers",
    "unregister_optimizer",
]
