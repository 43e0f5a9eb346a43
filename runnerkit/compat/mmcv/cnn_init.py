"""mmcv's weight initializers (``mmcv.cnn.utils.weight_init``), which ``BaseModule.init_weights`` runs.

``mmcv.cnn`` itself is not part of the layer (projects stand it in); a stand-in can re-export
``INITIALIZERS``, ``initialize``, ``update_init_info`` and the ``*_init`` functions from here.
``init_cfg`` names an initializer by ``type`` (``Normal``, ``Xavier``, ``Kaiming``, ``Constant``,
``Uniform``, ``TruncNormal``, ``Caffe2Xavier``, ``Pretrained``); ``layer`` limits it to modules of
those class names (or whose direct base class has that name), ``override`` gives one named
submodule its own initializer. The tensors are filled with the same ``torch.nn.init`` calls in the
same order as mmcv 1.7.2, so a seeded model starts from the same weights.
"""

from __future__ import annotations

import copy
import math
import warnings
from typing import Any

import torch
from torch import nn

from runnerkit.compat.mmcv.utils import Registry, build_from_cfg, get_logger, print_log

__all__ = [
    "INITIALIZERS", "BaseInit", "Caffe2XavierInit", "ConstantInit", "KaimingInit", "NormalInit", "PretrainedInit",
    "TruncNormalInit", "UniformInit", "XavierInit", "bias_init_with_prob", "caffe2_xavier_init", "constant_init",
    "initialize", "kaiming_init", "normal_init", "trunc_normal_", "trunc_normal_init", "uniform_init", "update_init_info",
    "xavier_init",
]

INITIALIZERS = Registry("initializer", scope="mmcv")


def update_init_info(module: nn.Module, init_info: str) -> None:
    """Record ``init_info`` for each parameter of ``module`` whose mean changed since the last record.

    Raises:
        RuntimeError: ``module`` is not inside a running ``init_weights`` or gained a parameter there.
    """
    info = getattr(module, "_params_init_info", None)
    if info is None:
        raise RuntimeError(f"Can not find `_params_init_info` in {module}")
    for name, param in module.named_parameters():
        if param not in info:
            raise RuntimeError(
                f"Find a new :obj:`Parameter` named `{name}` during executing the `init_weights` of "
                f"`{type(module).__name__}`. Please do not add or replace parameters during executing the "
                "`init_weights`. "
            )
        mean = param.data.mean()
        if info[param]["tmp_mean_value"] != mean:
            info[param]["init_info"] = init_info
            info[param]["tmp_mean_value"] = mean


def _has(module: nn.Module, name: str) -> bool:
    return getattr(module, name, None) is not None


def constant_init(module: nn.Module, val: float, bias: float = 0) -> None:
    if _has(module, "weight"):
        nn.init.constant_(module.weight, val)  # type: ignore[arg-type]
    if _has(module, "bias"):
        nn.init.constant_(module.bias, bias)  # type: ignore[arg-type]


def _check_distribution(distribution: str) -> None:
    if distribution not in ("uniform", "normal"):
        raise ValueError(f"distribution must be 'uniform' or 'normal', but got {distribution!r}")


def xavier_init(module: nn.Module, gain: float = 1, bias: float = 0, distribution: str = "normal") -> None:
    _check_distribution(distribution)
    if _has(module, "weight"):
        fill = nn.init.xavier_uniform_ if distribution == "uniform" else nn.init.xavier_normal_
        fill(module.weight, gain=gain)  # type: ignore[arg-type]
    if _has(module, "bias"):
        nn.init.constant_(module.bias, bias)  # type: ignore[arg-type]


def normal_init(module: nn.Module, mean: float = 0, std: float = 1, bias: float = 0) -> None:
    if _has(module, "weight"):
        nn.init.normal_(module.weight, mean, std)  # type: ignore[arg-type]
    if _has(module, "bias"):
        nn.init.constant_(module.bias, bias)  # type: ignore[arg-type]


def trunc_normal_(tensor: torch.Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0,
                  b: float = 2.0) -> torch.Tensor:
    """Fill ``tensor`` from N(``mean``, ``std``²) cut to [``a``, ``b``] by inverting the normal CDF
    (one uniform draw per value, as mmcv 1.7.2; recent PyTorch's ``trunc_normal_`` draws differently)."""
    if mean < a - 2 * std or mean > b + 2 * std:
        warnings.warn("mean is more than 2 std from [a, b] in trunc_normal_; the distribution of values may be "
                      "incorrect.", stacklevel=2)

    def cdf(x: float) -> float:
        return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0

    with torch.no_grad():
        low, high = cdf((a - mean) / std), cdf((b - mean) / std)
        tensor.uniform_(2 * low - 1, 2 * high - 1)
        tensor.erfinv_()
        tensor.mul_(std * math.sqrt(2.0))
        tensor.add_(mean)
        tensor.clamp_(min=a, max=b)
    return tensor


def trunc_normal_init(module: nn.Module, mean: float = 0, std: float = 1, a: float = -2, b: float = 2,
                      bias: float = 0) -> None:
    if _has(module, "weight"):
        trunc_normal_(module.weight, mean, std, a, b)  # type: ignore[arg-type]
    if _has(module, "bias"):
        nn.init.constant_(module.bias, bias)  # type: ignore[arg-type]


def uniform_init(module: nn.Module, a: float = 0, b: float = 1, bias: float = 0) -> None:
    if _has(module, "weight"):
        nn.init.uniform_(module.weight, a, b)  # type: ignore[arg-type]
    if _has(module, "bias"):
        nn.init.constant_(module.bias, bias)  # type: ignore[arg-type]


def kaiming_init(module: nn.Module, a: float = 0, mode: str = "fan_out", nonlinearity: str = "relu",
                 bias: float = 0, distribution: str = "normal") -> None:
    _check_distribution(distribution)
    if _has(module, "weight"):
        fill = nn.init.kaiming_uniform_ if distribution == "uniform" else nn.init.kaiming_normal_
        fill(module.weight, a=a, mode=mode, nonlinearity=nonlinearity)  # type: ignore[arg-type]
    if _has(module, "bias"):
        nn.init.constant_(module.bias, bias)  # type: ignore[arg-type]


def caffe2_xavier_init(module: nn.Module, bias: float = 0) -> None:
    """Caffe2's ``XavierFill``: Kaiming uniform, fan in, leaky ReLU with slope 1."""
    kaiming_init(module, a=1, mode="fan_in", nonlinearity="leaky_relu", bias=bias, distribution="uniform")


def bias_init_with_prob(prior_prob: float) -> float:
    """The bias that makes a sigmoid output ``prior_prob``."""
    return float(-math.log((1 - prior_prob) / prior_prob))


class BaseInit:
    """An initializer: fills the layers named in ``layer`` (all of them when the initializer is
    used on a whole module) and records what it did.

    Args:
        bias: the value for biases.
        bias_prob: instead of ``bias``, the prior probability a sigmoid output should start at.
        layer: class name(s) of the layers to initialize.
    """

    def __init__(self, *, bias: float = 0, bias_prob: float | None = None, layer: str | list[str] | None = None) -> None:
        self.wholemodule = False
        if not isinstance(bias, (int, float)):
            raise TypeError(f"bias must be a number, but got a {type(bias)}")
        if bias_prob is not None and not isinstance(bias_prob, float):
            raise TypeError(f"bias_prob type must be float, but got {type(bias_prob)}")
        if layer is not None and not isinstance(layer, (str, list)):
            raise TypeError(f"layer must be a str or a list of str, but got a {type(layer)}")
        self.bias = bias_init_with_prob(bias_prob) if bias_prob is not None else bias
        self.layer = [layer] if isinstance(layer, str) else list(layer or [])

    def fill(self, module: nn.Module) -> None:
        """Initialize one layer (subclasses)."""
        raise NotImplementedError

    def __call__(self, module: nn.Module) -> None:
        wanted = set(self.layer)

        def init(m: nn.Module) -> None:
            if self.wholemodule or wanted & {type(m).__name__, *(b.__name__ for b in type(m).__bases__)}:
                self.fill(m)

        module.apply(init)
        if hasattr(module, "_params_init_info"):
            update_init_info(module, init_info=self._get_init_info())

    def _get_init_info(self) -> str:
        return f"{type(self).__name__}, bias={self.bias}"


@INITIALIZERS.register_module(name="Constant")
class ConstantInit(BaseInit):
    """Weights filled with ``val``."""

    def __init__(self, val: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.val = val

    def fill(self, module: nn.Module) -> None:
        constant_init(module, self.val, self.bias)

    def _get_init_info(self) -> str:
        return f"{type(self).__name__}: val={self.val}, bias={self.bias}"


@INITIALIZERS.register_module(name="Xavier")
class XavierInit(BaseInit):
    """Glorot & Bengio's initialization (``distribution`` ``"normal"`` or ``"uniform"``)."""

    def __init__(self, gain: float = 1, distribution: str = "normal", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.gain = gain
        self.distribution = distribution

    def fill(self, module: nn.Module) -> None:
        xavier_init(module, self.gain, self.bias, self.distribution)

    def _get_init_info(self) -> str:
        return f"{type(self).__name__}: gain={self.gain}, distribution={self.distribution}, bias={self.bias}"


@INITIALIZERS.register_module(name="Normal")
class NormalInit(BaseInit):
    """Weights drawn from N(``mean``, ``std``²)."""

    def __init__(self, mean: float = 0, std: float = 1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.mean = mean
        self.std = std

    def fill(self, module: nn.Module) -> None:
        normal_init(module, self.mean, self.std, self.bias)

    def _get_init_info(self) -> str:
        return f"{type(self).__name__}: mean={self.mean}, std={self.std}, bias={self.bias}"


@INITIALIZERS.register_module(name="TruncNormal")
class TruncNormalInit(BaseInit):
    """Weights drawn from N(``mean``, ``std``²) cut to [``a``, ``b``]."""

    def __init__(self, mean: float = 0, std: float = 1, a: float = -2, b: float = 2, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.mean = mean
        self.std = std
        self.a = a
        self.b = b

    def fill(self, module: nn.Module) -> None:
        trunc_normal_init(module, self.mean, self.std, self.a, self.b, self.bias)

    def _get_init_info(self) -> str:
        return f"{type(self).__name__}: a={self.a}, b={self.b}, mean={self.mean}, std={self.std}, bias={self.bias}"


@INITIALIZERS.register_module(name="Uniform")
class UniformInit(BaseInit):
    """Weights drawn from U(``a``, ``b``)."""

    def __init__(self, a: float = 0.0, b: float = 1.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.a = a
        self.b = b

    def fill(self, module: nn.Module) -> None:
        uniform_init(module, self.a, self.b, self.bias)

    def _get_init_info(self) -> str:
        return f"{type(self).__name__}: a={self.a}, b={self.b}, bias={self.bias}"


@INITIALIZERS.register_module(name="Kaiming")
class KaimingInit(BaseInit):
    """He et al.'s initialization."""

    def __init__(self, a: float = 0, mode: str = "fan_out", nonlinearity: str = "relu", distribution: str = "normal",
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.a = a
        self.mode = mode
        self.nonlinearity = nonlinearity
        self.distribution = distribution

    def fill(self, module: nn.Module) -> None:
        kaiming_init(module, self.a, self.mode, self.nonlinearity, self.bias, self.distribution)

    def _get_init_info(self) -> str:
        return (f"{type(self).__name__}: a={self.a}, mode={self.mode}, nonlinearity={self.nonlinearity}, "
                f"distribution ={self.distribution}, bias={self.bias}")


@INITIALIZERS.register_module(name="Caffe2Xavier")
class Caffe2XavierInit(KaimingInit):
    """Caffe2's ``XavierFill`` (Kaiming uniform, fan in, leaky ReLU slope 1)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(a=1, mode="fan_in", nonlinearity="leaky_relu", distribution="uniform", **kwargs)


@INITIALIZERS.register_module(name="Pretrained")
class PretrainedInit:
    """Weights loaded from ``checkpoint`` (not strict); with ``prefix``, only the keys under it, prefix removed.

    Args:
        checkpoint: a path or URL :func:`mmcv.runner.load_checkpoint` reads.
        prefix: e.g. ``"backbone."`` to load a detector's backbone into a backbone.
        map_location: passed to the loader.
    """

    def __init__(self, checkpoint: str, prefix: str | None = None, map_location: Any = None) -> None:
        self.checkpoint = checkpoint
        self.prefix = prefix
        self.map_location = map_location
        self.wholemodule = False

    def __call__(self, module: nn.Module) -> None:
        from runnerkit.compat.mmcv.runner.checkpoint import (
            _load_checkpoint_with_prefix,
            load_checkpoint,
            load_state_dict,
        )

        logger = get_logger("mmcv")
        if self.prefix is None:
            print_log(f"load model from: {self.checkpoint}", logger=logger)
            load_checkpoint(module, self.checkpoint, map_location=self.map_location, strict=False, logger=logger)
        else:
            print_log(f"load {self.prefix} in model from: {self.checkpoint}", logger=logger)
            state_dict = _load_checkpoint_with_prefix(self.prefix, self.checkpoint, map_location=self.map_location)
            load_state_dict(module, state_dict, strict=False, logger=logger)
        if hasattr(module, "_params_init_info"):
            update_init_info(module, init_info=self._get_init_info())

    def _get_init_info(self) -> str:
        return f"{type(self).__name__}: load from {self.checkpoint}"


def _initialize(module: nn.Module, cfg: dict[str, Any], wholemodule: bool = False) -> None:
    func = build_from_cfg(cfg, INITIALIZERS)
    func.wholemodule = wholemodule
    func(module)


def _initialize_override(module: nn.Module, override: dict[str, Any] | list[dict[str, Any]],
                         cfg: dict[str, Any]) -> None:
    if not isinstance(override, (dict, list)):
        raise TypeError(f"override must be a dict or a list of dict, but got {type(override)}")
    for item in [override] if isinstance(override, dict) else override:
        item = copy.deepcopy(item)
        name = item.pop("name", None)
        if name is None:
            raise ValueError(f'`override` must contain the key "name", but got {item}')
        if not item:
            item.update(cfg)  # only a name: the init_cfg's own initializer, on the whole submodule
        elif "type" not in item:
            raise ValueError(f'`override` need "type" key, but got {item}')
        if not hasattr(module, name):
            raise RuntimeError(f"module did not have attribute {name}, but init_cfg is {item}.")
        _initialize(getattr(module, name), item, wholemodule=True)


def initialize(module: nn.Module, init_cfg: dict[str, Any] | list[dict[str, Any]]) -> None:
    """Initialize ``module`` by ``init_cfg`` (a dict or a list of them, applied in order).

    Example:
        >>> net = nn.Sequential(nn.Conv1d(3, 1, 3), nn.Linear(1, 2))
        >>> initialize(net, [dict(type="Constant", layer="Conv1d", val=1), dict(type="Constant", layer="Linear", val=2)])
        >>> float(net[1].weight[0, 0])
        2.0
    """
    if not isinstance(init_cfg, (dict, list)):
        raise TypeError(f"init_cfg must be a dict or a list of dict, but got {type(init_cfg)}")
    for cfg in [init_cfg] if isinstance(init_cfg, dict) else init_cfg:
        cfg = copy.deepcopy(cfg)  # one init_cfg may be shared by several modules
        override = cfg.pop("override", None)
        _initialize(module, cfg)
        if override is not None:
            cfg.pop("layer", None)
            _initialize_override(module, override, cfg)


