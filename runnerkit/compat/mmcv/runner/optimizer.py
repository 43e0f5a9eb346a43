"""``build_optimizer`` (mmcv 1.x): a ``torch.optim`` optimizer over a model's parameters from a config."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

__all__ = ["build_optimizer"]


def build_optimizer(model: torch.nn.Module, cfg: Mapping[str, Any]) -> torch.optim.Optimizer:
    """``dict(type="SGD", lr=0.01, ...)`` -> ``torch.optim.SGD(model.parameters(), lr=0.01, ...)``.

    ``type`` is a ``torch.optim`` class name or an optimizer class. mmcv's ``paramwise_cfg``
    (per-parameter learning rates) is not supported: build the parameter groups yourself.

    Example:
        >>> build_optimizer(torch.nn.Linear(2, 1), dict(type="SGD", lr=0.1)).defaults["lr"]
        0.1
    """
    args = dict(cfg)
    if args.pop("paramwise_cfg", None):
        raise ValueError(
            "`paramwise_cfg` is not supported by runnerkit's `build_optimizer`; build the parameter groups "
            "yourself and pass them to the optimizer class (see docs/migration.md, 'Optimizers')."
        )
    if args.pop("constructor", None) not in (None, "DefaultOptimizerConstructor"):
        raise ValueError("Only the default optimizer constructor is supported; build the optimizer yourself.")
    opt_type = args.pop("type", None)
    cls = getattr(torch.optim, opt_type, None) if isinstance(opt_type, str) else opt_type
    if not (isinstance(cls, type) and issubclass(cls, torch.optim.Optimizer)):
        raise TypeError(f"`type` must name a `torch.optim` optimizer (e.g. 'SGD', 'AdamW') or be one, got `{opt_type!r}`.")
    return cls(model.parameters(), **args)
