"""``build_optimizer``: an optimizer config (with ``constructor`` / ``paramwise_cfg``) and a model in, the optimizer out.

The optimizer constructor is a component of kind ``optimizer_constructor`` (entry-point group
``runnerkit.optimizer_constructors``, pluggy hook ``runnerkit_optimizer_constructors``), found by
name like any runner or hook; ``DefaultOptimizerConstructor`` is runnerkit's own.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from runnerkit._container import Container

__all__ = ["DEFAULT_CONSTRUCTOR", "build_optimizer", "build_optimizer_constructor", "split_optimizer_cfg"]

DEFAULT_CONSTRUCTOR = "DefaultOptimizerConstructor"


def split_optimizer_cfg(cfg: Mapping[str, Any]) -> tuple[Any, dict[str, Any], Any]:
    """``(constructor, optimizer_cfg, paramwise_cfg)`` of an mmcv optimizer config (deep-copied, as mmcv)."""
    optimizer_cfg = copy.deepcopy(dict(cfg))
    constructor = optimizer_cfg.pop("constructor", DEFAULT_CONSTRUCTOR)
    paramwise_cfg = optimizer_cfg.pop("paramwise_cfg", None)
    return constructor, optimizer_cfg, paramwise_cfg


def build_optimizer_constructor(cfg: Mapping[str, Any], container: Container | None = None) -> Any:
    """``dict(type=<constructor>, optimizer_cfg=..., paramwise_cfg=...)`` -> the constructor object.

    ``type`` is an ``optimizer_constructor`` component's name (bare or ``"dist:Name"``), a
    ``"module:attr"`` class or the class itself.
    """
    from runnerkit._resolve import resolve

    if not isinstance(cfg, Mapping):
        raise TypeError(f"cfg must be a dict such as `dict(type=\"DefaultOptimizerConstructor\", optimizer_cfg=...)`, "
                        f"got {type(cfg).__name__}")
    args = dict(cfg)
    if "type" not in args:
        raise KeyError(f"`cfg` must contain the key \"type\" naming the optimizer constructor, got keys {sorted(args)}")
    cls = resolve("optimizer_constructor", args.pop("type"), "optimizer.constructor", container)
    return cls(**args)


def build_optimizer(model: Any, cfg: Mapping[str, Any], container: Container | None = None) -> Any:
    """The optimizer ``cfg`` describes, over ``model``'s parameters (mmcv 1.x's ``build_optimizer``).

    Args:
        model: the model (a wrapper's ``.module`` is used).
        cfg: ``dict(type="SGD", lr=..., constructor=..., paramwise_cfg=...)``; ``constructor``
            defaults to ``DefaultOptimizerConstructor``; ``paramwise_cfg`` goes to the constructor.
        container: where the constructor's name is looked up (default: the current container).

    Example:
        >>> import torch
        >>> opt = build_optimizer(torch.nn.Linear(2, 1), dict(type="SGD", lr=0.1, weight_decay=1e-4,
        ...                                                   paramwise_cfg=dict(bias_decay_mult=0.0)))
        >>> [g["weight_decay"] for g in opt.param_groups]
        [0.0001, 0.0]
    """
    constructor, optimizer_cfg, paramwise_cfg = split_optimizer_cfg(cfg)
    build = build_optimizer_constructor(
        dict(type=constructor, optimizer_cfg=optimizer_cfg, paramwise_cfg=paramwise_cfg), container
    )
    return build(model)
