"""The model contract: calling ``train_step``/``val_step`` (through DDP when wrapped); reading param groups."""

from __future__ import annotations

from typing import Any

import torch

from runnerkit.dist import unwrap_model

__all__ = ["ModelStep", "param_group_values", "step_owner"]


_NO_ATTR = object()


class ModelStep:
    """Calls ``<model>.train_step``/``val_step`` on whatever ``runner.model`` is at the time.

    A plain model's method is called directly, and so is a wrapper's own (``MMDataParallel``,
    ``MMDistributedDataParallel``). Otherwise a DDP-wrapped model's is called through DDP's
    ``forward`` (see :func:`_ddp_step`); a ``DataParallel`` wrapper's inner module is called.
    """

    __slots__ = ("_inner", "_model")

    def __init__(self) -> None:
        self._model: Any = None
        self._inner: Any = None

    def __call__(self, model: torch.nn.Module, name: str, data_batch: Any, optimizer: Any,
                 kwargs: dict[str, Any]) -> Any:
        if model is not self._model:  # the runner's model was replaced (wrapped, compiled): look again
            self._model, self._inner = model, step_owner(model)
        if self._inner is not model and isinstance(model, torch.nn.parallel.DistributedDataParallel):
            return _ddp_step(model, name, data_batch, optimizer, kwargs)
        return getattr(self._inner, name)(data_batch, optimizer, **kwargs)


def step_owner(model: torch.nn.Module) -> torch.nn.Module:
    """Whose ``train_step``/``val_step`` the runner calls: a wrapper that defines its own (mmcv's
    ``MMDataParallel`` moves the batch to the device there), else the model inside the wrapper."""
    return model if callable(getattr(type(model), "train_step", None)) else unwrap_model(model)


def _ddp_step(model: torch.nn.parallel.DistributedDataParallel, name: str, data_batch: Any, optimizer: Any,
              kwargs: dict[str, Any]) -> Any:
    """``model.module.<name>(data_batch, optimizer, **kwargs)`` run through DDP's ``forward``.

    DDP prepares its gradient all-reduce in ``forward``: calling ``.module.train_step`` directly
    would skip it and let the ranks drift apart. The step stands in for ``forward`` for the outer
    call only; inside it, the model's own ``self(x)`` reaches its real ``forward`` again.
    """
    inner = model.module
    step = getattr(inner, name)
    saved = inner.__dict__.get("forward", _NO_ATTR)

    def restore() -> None:
        if saved is _NO_ATTR:
            inner.__dict__.pop("forward", None)
        else:
            inner.__dict__["forward"] = saved

    def step_once(*args: Any, **kw: Any) -> Any:
        restore()
        return step(*args, **kw)

    inner.__dict__["forward"] = step_once
    try:
        return model(data_batch, optimizer, **kwargs)
    finally:
        restore()


def param_group_values(optimizer: Any, key: str) -> list[float] | dict[str, list[float]]:
    """``key`` (``"lr"``, ``"momentum"``: Adam's beta1 when there is no momentum) of every param group.

    A dict of optimizers gives a dict of lists, by optimizer name.
    """

    def values(opt: torch.optim.Optimizer) -> list[float]:
        out = []
        for group in opt.param_groups:
            if key == "momentum" and "momentum" not in group and "betas" in group:
                out.append(float(group["betas"][0]))
            else:
                out.append(float(group.get(key, 0.0)))
        return out

    if isinstance(optimizer, dict):
        return {name: values(opt) for name, opt in optimizer.items()}
    return values(optimizer)
