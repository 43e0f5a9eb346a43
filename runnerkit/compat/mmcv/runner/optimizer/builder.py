"""mmcv 1.x's ``OPTIMIZERS``, ``OPTIMIZER_BUILDERS``, ``build_optimizer`` and ``build_optimizer_constructor``.

``OPTIMIZER_BUILDERS`` is a view onto runnerkit's container (kind ``optimizer_constructor``): a class
registered with ``@OPTIMIZER_BUILDERS.register_module()`` is a component like an installed one, and
``DefaultOptimizerConstructor`` is runnerkit's. ``OPTIMIZERS`` holds ``torch.optim``'s classes and
those registered with ``@OPTIMIZERS.register_module()`` (:func:`runnerkit.optim.register_optimizer`),
which configs then name by ``type`` too.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import torch

from runnerkit.compat.mmcv._registry import ComponentRegistry
from runnerkit.compat.mmcv.utils.registry import Registry, build_from_cfg
from runnerkit.optim.builder import DEFAULT_CONSTRUCTOR
from runnerkit.optim.registry import register_optimizer, registered_optimizers

__all__ = ["OPTIMIZERS", "OPTIMIZER_BUILDERS", "TORCH_OPTIMIZERS", "build_optimizer", "build_optimizer_constructor"]


def _torch_optimizers() -> dict[str, type]:
    """Every ``torch.optim.Optimizer`` subclass in ``torch.optim``, ``Optimizer`` itself included (as mmcv)."""
    return {
        name: cls for name, cls in sorted(vars(torch.optim).items())
        if isinstance(cls, type) and issubclass(cls, torch.optim.Optimizer)
    }


class OptimizerRegistry(Registry):
    """mmcv's ``OPTIMIZERS``: ``torch.optim``'s classes and those registered by code, shared with runnerkit's configs."""

    def __init__(self) -> None:
        super().__init__("optimizer", scope="mmcv")

    @property
    def module_dict(self) -> dict[str, Any]:
        return {**_torch_optimizers(), **registered_optimizers(), **self._module_dict}

    def __len__(self) -> int:
        return len(self.module_dict)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name}, items={self.module_dict})"

    def get(self, key: str) -> Any:
        """The optimizer class called ``key`` (registered, then ``torch.optim``), or None."""
        scope, real_key = self.split_scope_key(key)
        if scope is not None and scope != self.scope:
            return super().get(key)
        return self.module_dict.get(real_key)

    def _register_module(self, module: Any, module_name: str | list[str] | None = None, force: bool = False) -> None:
        if not isinstance(module, type) or not issubclass(module, torch.optim.Optimizer):
            # mmcv accepts any class or function; runnerkit's configs only build optimizer classes
            super()._register_module(module, module_name, force)
            return
        names = [module.__name__] if module_name is None else [module_name] if isinstance(module_name, str) \
            else list(module_name)
        for name in names:
            register_optimizer(module, name, force=force)


#: mmcv's optimizer registry (``torch.optim`` and registered optimizers).
OPTIMIZERS = OptimizerRegistry()
#: mmcv's optimizer-constructor registry: runnerkit's ``optimizer_constructor`` components.
OPTIMIZER_BUILDERS = ComponentRegistry("optimizer builder", "optimizer_constructor")
#: the ``torch.optim`` names in ``OPTIMIZERS`` (mmcv's ``TORCH_OPTIMIZERS``).
TORCH_OPTIMIZERS = list(_torch_optimizers())


def build_optimizer_constructor(cfg: Mapping[str, Any]) -> Any:
    """``OPTIMIZER_BUILDERS.build(cfg)``: ``dict(type=<constructor>, optimizer_cfg=..., paramwise_cfg=...)``."""
    return build_from_cfg(dict(cfg), OPTIMIZER_BUILDERS)


def build_optimizer(model: torch.nn.Module, cfg: Mapping[str, Any]) -> Any:
    """The optimizer ``cfg`` describes over ``model``'s parameters, through its constructor (mmcv 1.7.2).

    ``cfg["constructor"]`` names the constructor (default ``DefaultOptimizerConstructor``) and
    ``cfg["paramwise_cfg"]`` its rules; the rest is the optimizer's config.

    Example:
        >>> opt = build_optimizer(torch.nn.Linear(2, 1), dict(type="SGD", lr=0.1, paramwise_cfg=dict(bias_lr_mult=2.0)))
        >>> [g["lr"] for g in opt.param_groups]
        [0.1, 0.2]
    """
    optimizer_cfg = copy.deepcopy(dict(cfg))
    constructor = optimizer_cfg.pop("constructor", DEFAULT_CONSTRUCTOR)
    paramwise_cfg = optimizer_cfg.pop("paramwise_cfg", None)
    build = build_optimizer_constructor(
        dict(type=constructor, optimizer_cfg=optimizer_cfg, paramwise_cfg=paramwise_cfg)
    )
    return build(model)
