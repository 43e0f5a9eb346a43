"""``DefaultOptimizerConstructor``: an optimizer whose parameter groups follow ``paramwise_cfg`` (mmcv 1.x's rules).

An optimizer constructor is built from ``(optimizer_cfg, paramwise_cfg)`` and called with the model;
it returns the optimizer. Without ``paramwise_cfg`` every parameter shares the optimizer's settings
(one group). With it, every parameter gets its own group, in the order mmcv 1.7.2 gives: a module's
own parameters (``named_parameters(recurse=False)``), then its children's, depth first. A group
carries ``lr``/``weight_decay`` only where a rule sets them; the optimizer's defaults fill the rest.

The rules, first match wins:

1. A frozen parameter (``requires_grad=False``) is added as it is.
2. ``bypass_duplicate``: a parameter already added (shared weights) is left out, with a warning.
3. ``custom_keys``: the longest key contained in ``"<module prefix>.<param name>"`` sets
   ``lr = lr * lr_mult`` and (when the optimizer has ``weight_decay``) ``weight_decay * decay_mult``.
4. Otherwise: ``bias_lr_mult`` for a ``bias`` outside normalization layers, ``dcn_offset_lr_mult``
   for a ``Conv2d`` named ``*conv_offset*`` that is the child of a deformable convolution; and for
   ``weight_decay``, ``norm_decay_mult`` for normalization layers, else ``dwconv_decay_mult`` for
   depthwise ``Conv2d`` (``in_channels == groups``), else ``bias_decay_mult`` for a ``bias``. The
   children of a deformable convolution (mmcv.ops' ``DeformConv2d``/``ModulatedDeformConv2d``,
   recognised by class name) take neither bias rule.

Subclasses (layer-wise learning-rate decay, ...) override :meth:`add_params` (or ``__call__``) and
read their own ``paramwise_cfg`` keys; such a subclass's ``paramwise_cfg`` is not checked against
:class:`~runnerkit.optim.ParamwiseConfig` unless it sets ``paramwise_model``.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar

import torch
from pydantic import BaseModel
from torch import nn

from runnerkit.optim.paramwise import ParamwiseConfig

__all__ = ["DefaultOptimizerConstructor"]

#: mmcv's normalization layers (``SyncBatchNorm`` is a ``_BatchNorm``).
NORM_LAYERS: tuple[type[nn.Module], ...] = (
    nn.modules.batchnorm._BatchNorm, nn.modules.instancenorm._InstanceNorm, nn.GroupNorm, nn.LayerNorm,
)

#: mmcv's deformable convolutions (``mmcv.ops``), recognised by class name so that mmcv.ops need not be installed.
DEFORM_CONVS = frozenset({"DeformConv2d", "ModulatedDeformConv2d"})


def is_deform_conv(module: nn.Module) -> bool:
    """Whether ``module`` is a deformable convolution (``DeformConv2d``, ``ModulatedDeformConv2d`` or a subclass)."""
    return any(cls.__name__ in DEFORM_CONVS for cls in type(module).__mro__)


class DefaultOptimizerConstructor:
    """Builds an optimizer over a model's parameters, with mmcv 1.x's ``paramwise_cfg`` rules.

    Args:
        optimizer_cfg: the optimizer: ``dict(type="SGD", lr=0.01, weight_decay=1e-4, ...)``; ``type``
            is a ``torch.optim`` name, ``"module:attr"`` or an optimizer class, the rest its arguments.
        paramwise_cfg: per-parameter multipliers (:class:`~runnerkit.optim.ParamwiseConfig`): ``custom_keys``,
            ``bias_lr_mult``, ``bias_decay_mult``, ``norm_decay_mult``, ``dwconv_decay_mult``,
            ``dcn_offset_lr_mult``, ``bypass_duplicate``. None or empty: one group with every parameter.

    Raises:
        TypeError: ``optimizer_cfg`` or ``paramwise_cfg`` is not a dict.
        ValueError: an unknown or ill-typed ``paramwise_cfg`` key (named, with the closest known ones);
            a ``*decay_mult`` without the optimizer's ``weight_decay``.

    Example:
        >>> model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
        >>> build = DefaultOptimizerConstructor(dict(type="SGD", lr=0.1, weight_decay=1e-4),
        ...                                     dict(norm_decay_mult=0.0))
        >>> [g.get("weight_decay") for g in build(model).param_groups]
        [0.0001, 0.0001, 0.0, 0.0]
    """

    #: the model ``paramwise_cfg`` is checked against (None: any dict, read by a subclass's own ``add_params``).
    paramwise_model: ClassVar[type[BaseModel] | None] = ParamwiseConfig
    #: the arguments' model (``runnerkit show``/``validate``); None for a subclass with its own ``__init__``.
    args_model: ClassVar[type[BaseModel] | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # A subclass with its own `add_params` or `__call__` reads its own keys (`num_layers`, `decay_rate`, ...).
        if ("add_params" in vars(cls) or "__call__" in vars(cls)) and "paramwise_model" not in vars(cls):
            cls.paramwise_model = None
        # A subclass taking other arguments gets its model from its own `__init__` (None here).
        cls.args_model = _args_model(cls) if cls.__init__ is DefaultOptimizerConstructor.__init__ else None

    def __init__(self, optimizer_cfg: dict[str, Any], paramwise_cfg: dict[str, Any] | None = None) -> None:
        if not isinstance(optimizer_cfg, Mapping):
            raise TypeError(f"`optimizer_cfg` must be a dict such as `dict(type=\"SGD\", lr=0.01)`, got "
                            f"{type(optimizer_cfg).__name__} `{optimizer_cfg!r:.60}`.")
        if paramwise_cfg is not None and not isinstance(paramwise_cfg, Mapping):
            raise TypeError(f"`paramwise_cfg` must be None or a dict such as `dict(norm_decay_mult=0.0)`, got "
                            f"{type(paramwise_cfg).__name__} `{paramwise_cfg!r:.60}`.")
        custom_keys = (paramwise_cfg or {}).get("custom_keys", {})
        if not isinstance(custom_keys, Mapping):
            raise TypeError(f"`paramwise_cfg.custom_keys` must be a dict key -> `dict(lr_mult=..., decay_mult=...)`, got "
                            f"{type(custom_keys).__name__} `{custom_keys!r:.60}`.")
        self.optimizer_cfg = optimizer_cfg
        self.paramwise_cfg: dict[str, Any] = {} if paramwise_cfg is None else paramwise_cfg  # type: ignore[assignment]
        self.base_lr = optimizer_cfg.get("lr")
        self.base_wd = optimizer_cfg.get("weight_decay")
        self._rules = self._check_paramwise()

    def _check_paramwise(self) -> ParamwiseConfig:
        """The rules of ``paramwise_cfg``, checked against ``paramwise_model`` (unknown keys refused)."""
        from pydantic import ValidationError

        from runnerkit._arg_errors import validate_args

        model = type(self).paramwise_model
        given = dict(self.paramwise_cfg)
        if model is None:  # a subclass reading its own keys: the standard ones still apply where given
            model, given = ParamwiseConfig, {k: v for k, v in given.items() if k in ParamwiseConfig.model_fields}
        try:
            validate_args(_holder(model), {"paramwise_cfg": given}, type(self).__name__)
        except ValidationError as err:
            details = "; ".join(f"`{'.'.join(map(str, e['loc']))}`: {e['msg']}" for e in err.errors())
            raise ValueError(f"{type(self).__name__}: bad `paramwise_cfg`: {details}.") from None
        rules = model.model_validate(given)
        if not isinstance(rules, ParamwiseConfig):  # a subclass's own model: the standard rules at their defaults
            rules = ParamwiseConfig.model_validate(
                {k: v for k, v in given.items() if k in ParamwiseConfig.model_fields})
        needs_wd = rules.decay_keys()
        if needs_wd and self.base_wd is None:
            raise ValueError(
                f"{type(self).__name__}: `paramwise_cfg` sets {', '.join(f'`{k}`' for k in needs_wd)}, which multiply the "
                f"optimizer's `weight_decay`, but the optimizer config has none; add `weight_decay=...` to it."
            )
        return rules

    # -- parameter groups -----------------------------------------------------------------------

    def add_params(self, params: list[dict[str, Any]], module: nn.Module, prefix: str = "",
                   is_dcn_module: int | float | None = None) -> None:
        """Append a group for each parameter of ``module`` and its children (depth first) to ``params``.

        Args:
            params: the parameter groups so far; extended in place.
            module: the module whose parameters are added.
            prefix: the module's name in the model (``"backbone.layer1.0"``; ``""`` for the model).
            is_dcn_module: whether ``module``'s parent is a deformable convolution (its ``conv_offset``
                child takes ``dcn_offset_lr_mult``); set by the recursion.
        """
        rules = self._rules
        keys = sorted(sorted(rules.custom_keys), key=len, reverse=True)  # longest first, ties alphabetical
        is_norm = isinstance(module, NORM_LAYERS)
        is_dwconv = isinstance(module, nn.Conv2d) and module.in_channels == module.groups
        is_offset = bool(is_dcn_module) and "conv_offset" in prefix and isinstance(module, nn.Conv2d)
        for name, param in module.named_parameters(recurse=False):
            group: dict[str, Any] = {"params": [param]}
            full = f"{prefix}.{name}"
            if not param.requires_grad:
                params.append(group)
                continue
            if rules.bypass_duplicate and any(p is param for g in params for p in g["params"]):
                # mmcv's words (its own tests compare them)
                warnings.warn(f"{prefix} is duplicate. It is skipped since bypass_duplicate=True", stacklevel=2)
                continue
            key = next((k for k in keys if k in full), None)
            if key is not None:
                group["lr"] = self._scaled(rules.custom_keys[key].lr_mult, full)
                if self.base_wd is not None:
                    group["weight_decay"] = self.base_wd * rules.custom_keys[key].decay_mult
            else:
                is_bias = name == "bias" and not is_dcn_module
                if is_bias and not is_norm:
                    group["lr"] = self._scaled(rules.bias_lr_mult, full)
                if is_offset:
                    group["lr"] = self._scaled(rules.dcn_offset_lr_mult, full)
                if self.base_wd is not None:
                    if is_norm:
                        group["weight_decay"] = self.base_wd * rules.norm_decay_mult
                    elif is_dwconv:
                        group["weight_decay"] = self.base_wd * rules.dwconv_decay_mult
                    elif is_bias:
                        group["weight_decay"] = self.base_wd * rules.bias_decay_mult
            params.append(group)
        dcn = is_deform_conv(module)
        for child_name, child in module.named_children():
            self.add_params(params, child, f"{prefix}.{child_name}" if prefix else child_name, is_dcn_module=dcn)

    def _scaled(self, mult: float, param: str) -> float:
        if self.base_lr is None:
            raise ValueError(
                f"{type(self).__name__}: `paramwise_cfg` sets a learning rate for `{param.lstrip('.')}` relative to the "
                f"optimizer's `lr`, but the optimizer config has none; add `lr=...` to it."
            )
        return float(self.base_lr) * mult

    def __call__(self, model: nn.Module) -> torch.optim.Optimizer:
        """The optimizer over ``model``'s parameters (a wrapper's ``.module`` is unwrapped, as in mmcv)."""
        if hasattr(model, "module"):
            model = model.module  # type: ignore[assignment]
        if not self.paramwise_cfg:
            return self.build_optimizer(model.parameters())
        params: list[dict[str, Any]] = []
        self.add_params(params, model)
        _refuse_duplicates(model, params)
        return self.build_optimizer(params)

    def build_optimizer(self, params: Any) -> torch.optim.Optimizer:
        """``optimizer_cfg["type"](params, **rest)``, the type resolved as a config's ``optimizer.type``."""
        from runnerkit.optim.registry import optimizer_class

        args = dict(self.optimizer_cfg)
        if "type" not in args:
            raise KeyError(f"`optimizer_cfg` needs a `type` naming the optimizer (e.g. `type=\"SGD\"`), got keys "
                           f"{sorted(args)}.")
        cls = optimizer_class(args.pop("type"))
        try:
            return cls(params, **args)  # type: ignore[no-any-return]
        except TypeError as err:
            raise TypeError(f"cannot build `{cls.__name__}` with {sorted(args)}: {err}") from err


def _args_model(cls: type[DefaultOptimizerConstructor]) -> type[BaseModel]:
    """``optimizer_cfg`` (given by code) and ``paramwise_cfg`` checked against ``cls.paramwise_model``."""
    from pydantic import ConfigDict, Field, WithJsonSchema, create_model

    runtime = Annotated[Any, WithJsonSchema({"x-runtime-only": True, "x-python-type": "dict"})]
    paramwise: Any = dict[str, Any] if cls.paramwise_model is None else cls.paramwise_model
    return create_model(  # type: ignore[call-overload,no-any-return]
        f"{cls.__name__}Args",
        __config__=ConfigDict(strict=True, extra="forbid", title=f"{cls.__name__}Args"),
        __doc__=f"Arguments of `{cls.__qualname__}`.",
        optimizer_cfg=(runtime, Field(..., description="The optimizer config without `constructor` and "
                                      "`paramwise_cfg` (its `type` and arguments).")),
        paramwise_cfg=(paramwise | None, Field(None, description="Per-parameter learning rate and weight decay "
                                               "multipliers (mmcv's `paramwise_cfg`).")),
    )


def _holder(model: type[BaseModel]) -> type[BaseModel]:
    """A model with one field ``paramwise_cfg`` of type ``model``, so messages name ``paramwise_cfg.<key>``."""
    from pydantic import ConfigDict, create_model

    cached = _HOLDERS.get(model)
    if cached is None:
        cached = create_model(f"{model.__name__}Holder", __config__=ConfigDict(strict=True),
                              paramwise_cfg=(model, ...))
        _HOLDERS[model] = cached
    return cached


_HOLDERS: dict[type[BaseModel], type[BaseModel]] = {}


def _refuse_duplicates(model: nn.Module, params: list[dict[str, Any]]) -> None:
    """A parameter in two groups (shared weights) is an error, as in torch; the message says how to fix it."""
    names: dict[int, list[str]] = {}
    for name, param in model.named_parameters(remove_duplicate=False):
        names.setdefault(id(param), []).append(name)
    seen: set[int] = set()
    for group in params:
        for param in group["params"]:
            if id(param) in seen:
                shared = " and ".join(f"`{n}`" for n in names.get(id(param), ["?"]))
                fix = ("Set `paramwise_cfg=dict(bypass_duplicate=True, ...)` to add it once, or untie the weights."
                       if param.requires_grad else "It is frozen (`requires_grad=False`), and frozen parameters are "
                       "added under every name, even with `bypass_duplicate`; untie the weights or unfreeze it.")
                raise ValueError(f"some parameters appear in more than one parameter group: {shared} are one "
                                 f"parameter (shared weights). {fix}")
            seen.add(id(param))


DefaultOptimizerConstructor.args_model = _args_model(DefaultOptimizerConstructor)
