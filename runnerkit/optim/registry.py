"""Optimizer classes registered at run time (mmcv's ``@OPTIMIZERS.register_module()``), and optimizer lookup.

A config's ``optimizer.type`` names a ``torch.optim`` class, a ``"module:attr"`` class or (from Python)
the class itself; classes registered here by code are found by their name too, before ``torch.optim``'s.
"""

from __future__ import annotations

from typing import Any

__all__ = ["optimizer_class", "register_optimizer", "registered_optimizers", "unregister_optimizer"]

_registered: dict[str, type] = {}


def register_optimizer(cls: type, name: str | None = None, *, force: bool = False) -> None:
    """Make ``cls`` (a ``torch.optim.Optimizer`` subclass) buildable as ``type=name`` (default: its class name).

    Raises:
        TypeError: ``cls`` is not an optimizer class.
        KeyError: the name is taken (by ``torch.optim`` or an earlier registration) and ``force`` is False.
    """
    import torch

    if not (isinstance(cls, type) and issubclass(cls, torch.optim.Optimizer)):
        raise TypeError(f"An optimizer must be a subclass of `torch.optim.Optimizer`, got `{cls!r:.60}`.")
    key = name or cls.__name__
    builtin = getattr(torch.optim, key, None)
    taken = _registered.get(key) or (builtin if isinstance(builtin, type) else None)
    if taken is not None and taken is not cls and not force:
        raise KeyError(f"{key} is already registered in optimizer (as `{taken.__module__}.{taken.__qualname__}`); "
                       "register yours under another name, or pass force=True.")
    _registered[key] = cls


def unregister_optimizer(name: str) -> None:
    """Forget an optimizer registered under ``name`` (no error when there is none)."""
    _registered.pop(name, None)


def registered_optimizers() -> dict[str, type]:
    """The optimizer classes registered at run time, by name."""
    return dict(_registered)


def optimizer_class(spec: Any, key: str = "optimizer.type") -> Any:
    """The optimizer class ``spec`` names: a registered name, a ``torch.optim`` name, ``"module:attr"`` or a class."""
    if isinstance(spec, str) and spec in _registered:
        return _registered[spec]
    from runnerkit._resolve import resolve

    return resolve("optimizer", spec, key)
