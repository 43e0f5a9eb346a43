"""How a model is spread over the ranks: the ``parallel`` config key, one strategy per ``type``.

``parallel=dict(type="ddp", **options)`` (the default under a multi-process launch) wraps the model in
``torch.nn.parallel.DistributedDataParallel``; the options are its keyword arguments
(``find_unused_parameters``, ``broadcast_buffers``, ``bucket_cap_mb``, ...), checked against its
signature. mmcv's top-level ``find_unused_parameters = True`` is the same as
``parallel=dict(type="ddp", find_unused_parameters=True)``. ``parallel=dict(type="fsdp2", ...)``
shards the model with FSDP2 (:mod:`runnerkit.parallel_fsdp`).

A strategy is any object with ``check_options(options)`` (raises ``ValueError`` with a clear
message) and ``wrap(model, options)`` (returns the model the runner trains; the process group
exists). :data:`STRATEGIES` names each one by the import path of that object, so that a strategy's
heavy imports wait until it is used::

    from runnerkit.parallel import parallelize

    model = parallelize(model, {"type": "ddp", "find_unused_parameters": True})
"""

from __future__ import annotations

import functools
import importlib
import inspect
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import torch

__all__ = ["DDP", "STRATEGIES", "Strategy", "check_parallel", "is_spread", "parallel_config", "parallelize", "spread", "strategy"]

#: ``type`` -> ``"module:attr"`` of its :class:`Strategy`.
STRATEGIES: dict[str, str] = {
    "ddp": "runnerkit.parallel:DDP",
    "fsdp2": "runnerkit.parallel_fsdp:FSDP2",
}


class Strategy(Protocol):
    """What a ``parallel`` type provides."""

    def check_options(self, options: dict[str, Any]) -> None:
        """Raise ``ValueError`` (naming the option, what is expected and the fix) for bad ``options``."""

    def wrap(self, model: torch.nn.Module, options: dict[str, Any]) -> torch.nn.Module:
        """``model`` made ready for the process group (wrapped or sharded), with ``options``."""


class _DDP:
    """``DistributedDataParallel`` with the options as its keyword arguments."""

    #: set by runnerkit itself (the model and, on GPUs, the device).
    RESERVED = frozenset({"module"})

    def check_options(self, options: dict[str, Any]) -> None:
        known = ddp_arguments()
        unknown = [key for key in options if key not in known]
        if unknown:
            from runnerkit._suggest import did_you_mean

            key = unknown[0]
            hint = did_you_mean(key, known)
            raise ValueError(
                f"unknown `DistributedDataParallel` option `{key}`. {hint + ' ' if hint else ''}"
                f"It takes {', '.join(f'`{k}`' for k in known)}."
            )

    def wrap(self, model: torch.nn.Module, options: dict[str, Any]) -> torch.nn.Module:
        from runnerkit.launch import wrap_model

        return wrap_model(model, **options)


#: the ``ddp`` strategy.
DDP = _DDP()


@functools.cache
def ddp_arguments() -> tuple[str, ...]:
    """The keyword arguments of ``DistributedDataParallel`` (of the installed torch), ``module`` excluded."""
    from torch.nn.parallel import DistributedDataParallel

    params = inspect.signature(DistributedDataParallel.__init__).parameters
    return tuple(name for name in params if name not in {"self", *_DDP.RESERVED})


def strategy(kind: str) -> Strategy:
    """The strategy registered for ``type=kind``.

    Raises:
        ValueError: no strategy has that name.
    """
    if kind not in STRATEGIES:
        from runnerkit._suggest import did_you_mean

        hint = did_you_mean(kind, STRATEGIES)
        raise ValueError(
            f"unknown `type` `{kind}`; expected one of {', '.join(f'`{k}`' for k in STRATEGIES)}."
            f"{' ' + hint if hint else ''}"
        )
    module, _, attr = STRATEGIES[kind].partition(":")
    found: Strategy = getattr(importlib.import_module(module), attr)
    return found


def parallel_config(parallel: Mapping[str, Any] | None, find_unused_parameters: bool | None = None) -> dict[str, Any]:
    """The ``parallel`` section with its defaults: ``type="ddp"``, and mmcv's ``find_unused_parameters`` folded in.

    Raises:
        ValueError: ``find_unused_parameters`` is set for a type other than ``ddp``, or both it and
            ``parallel`` set it to different values.
    """
    cfg = dict(parallel or {})
    cfg.setdefault("type", "ddp")
    if find_unused_parameters is None:
        return cfg
    if cfg["type"] != "ddp":
        raise ValueError(
            f"the top-level `find_unused_parameters` is a DistributedDataParallel option, but `parallel.type` is "
            f"`{cfg['type']}`; remove it."
        )
    given = cfg.setdefault("find_unused_parameters", find_unused_parameters)
    if given != find_unused_parameters:
        raise ValueError(
            f"the top-level `find_unused_parameters={find_unused_parameters}` contradicts "
            f"`parallel.find_unused_parameters={given}`; keep one of them."
        )
    return cfg


def check_parallel(cfg: Mapping[str, Any]) -> None:
    """Check a ``parallel`` section (``type`` and its options) without building anything.

    Raises:
        ValueError: an unknown type or a bad option, with the fix.
    """
    if not isinstance(cfg, Mapping):
        raise ValueError(f"expected `dict(type=\"ddp\", **options)`, got {type(cfg).__name__} `{cfg!r:.60}`")
    options = dict(cfg)
    kind = options.pop("type", "ddp")
    if not isinstance(kind, str):
        raise ValueError(f"`type` must be a name such as `\"ddp\"`, got {type(kind).__name__} `{kind!r:.60}`")
    strategy(kind).check_options(options)


def parallelize(model: torch.nn.Module, cfg: Mapping[str, Any] | None = None) -> torch.nn.Module:
    """``model`` spread over the process group's ranks as ``cfg`` (a ``parallel`` section; default DDP) says.

    Raises:
        ValueError: as :func:`check_parallel`.
        DistributedError: the process group is not initialised.
    """
    options = dict(cfg or {})
    kind = options.pop("type", "ddp")
    chosen = strategy(kind)
    chosen.check_options(options)
    return chosen.wrap(model, options)


def is_spread(model: torch.nn.Module) -> bool:
    """Whether ``model`` is already wrapped or sharded for the ranks (DDP, DataParallel, FSDP2)."""
    from torch.distributed.fsdp import FSDPModule
    from torch.nn.parallel import DataParallel, DistributedDataParallel

    return isinstance(model, (DistributedDataParallel, DataParallel, FSDPModule))


def spread(model: torch.nn.Module, cfg: Mapping[str, Any] | None = None) -> torch.nn.Module:
    """:func:`parallelize` where it applies (the runner argument ``parallel``): ``model`` as it is without an
    initialised process group (one process) or when it is already wrapped or sharded.
    """
    from runnerkit.dist import is_initialized

    if not is_initialized() or is_spread(model):
        return model
    return parallelize(model, cfg)
