"""mmcv 1.x's fp16 helpers: ``auto_fp16``/``force_fp32`` decorators, ``wrap_fp16_model``, ``LossScaler``.

As in mmcv with PyTorch >= 1.6, a model is not converted to half: ``wrap_fp16_model`` switches on
``fp16_enabled`` and the decorated methods run under ``torch.autocast`` (half inputs where
``auto_fp16`` casts them, fp32 where ``force_fp32`` asks for it). As mmcv's ``torch.cuda.amp.autocast``,
``auto_fp16`` autocasts CUDA tensors only: on a CPU the method runs in its inputs' dtypes.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import torch
from torch import nn

from runnerkit.hooks.optimizer import wrap_fp16_model

__all__ = ["LossScaler", "auto_fp16", "cast_tensor_type", "force_fp32", "wrap_fp16_model"]


def cast_tensor_type(inputs: Any, src_type: torch.dtype | None, dst_type: torch.dtype) -> Any:
    """``inputs`` with every tensor of ``src_type`` (any dtype when None) cast to ``dst_type``.

    Mappings and other iterables are rebuilt with their own type; strings, modules, arrays and
    other objects are returned as they are.
    """
    if isinstance(inputs, nn.Module):
        return inputs
    if isinstance(inputs, torch.Tensor):
        return inputs.to(dst_type) if src_type is None or inputs.dtype == src_type else inputs
    if isinstance(inputs, (str, bytes)) or type(inputs).__module__ == "numpy":
        return inputs
    if isinstance(inputs, Mapping):
        return type(inputs)({k: cast_tensor_type(v, src_type, dst_type) for k, v in inputs.items()})  # type: ignore[call-arg]
    if isinstance(inputs, tuple) and hasattr(inputs, "_fields"):
        return type(inputs)(*(cast_tensor_type(v, src_type, dst_type) for v in inputs))
    if isinstance(inputs, Iterable) and isinstance(inputs, (list, tuple, set)):
        return type(inputs)(cast_tensor_type(v, src_type, dst_type) for v in inputs)
    return inputs


def _device_type(values: Iterable[Any]) -> str:
    for value in values:
        if isinstance(value, torch.Tensor):
            return value.device.type
    return "cuda" if torch.cuda.is_available() else "cpu"


def _cast_call(old_func: Callable[..., Any], apply_to: Iterable[str] | None, src: torch.dtype, dst: torch.dtype,
               autocast: bool, out_cast: tuple[torch.dtype, torch.dtype] | None, who: str,
               supported_types: tuple[type, ...]) -> Callable[..., Any]:
    spec = inspect.getfullargspec(old_func)
    arg_names = spec.args

    @functools.wraps(old_func)
    def new_func(*args: Any, **kwargs: Any) -> Any:
        if not args or not isinstance(args[0], supported_types):
            names = ", ".join(t.__name__ for t in supported_types)
            raise TypeError(f"@{who} can only be used to decorate the method of those classes {names}")
        if not getattr(args[0], "fp16_enabled", False):
            return old_func(*args, **kwargs)
        to_cast = set(apply_to) if apply_to is not None else set(arg_names)
        new_args = [cast_tensor_type(a, src, dst) if i < len(arg_names) and arg_names[i] in to_cast else a
                    for i, a in enumerate(args)]
        new_kwargs = {k: cast_tensor_type(v, src, dst) if k in to_cast else v for k, v in kwargs.items()}
        device = _device_type([*new_args[1:], *new_kwargs.values()])
        if autocast and device != "cuda":
            # mmcv autocasts with torch.cuda.amp.autocast, which leaves CPU ops alone: they run in their inputs' dtypes
            output = old_func(*new_args, **new_kwargs)
        else:
            dtype = torch.float16 if device == "cuda" or dst == torch.float16 else torch.bfloat16
            with torch.autocast(device_type=device, dtype=dtype, enabled=autocast):
                output = old_func(*new_args, **new_kwargs)
        if out_cast is not None:
            output = cast_tensor_type(output, *out_cast)
        return output

    return new_func


def auto_fp16(apply_to: Iterable[str] | None = None, out_fp32: bool = False,
              supported_types: tuple[type, ...] = (nn.Module,)) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Run a module method in fp16 once ``self.fp16_enabled`` is True (mmcv).

    The float32 tensors among the arguments named in ``apply_to`` (all when None) are cast to
    half, and the method runs under ``torch.autocast`` on CUDA (on a CPU, in the inputs' dtypes, as
    mmcv's ``torch.cuda.amp.autocast``). Without ``fp16_enabled`` it runs unchanged.

    Args:
        apply_to: the argument names to cast.
        out_fp32: cast half outputs back to float32.
        supported_types: the classes whose methods may be decorated.

    Example:
        >>> class Net(nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.fp16_enabled = False
        ...     @auto_fp16(apply_to=("x",))
        ...     def forward(self, x, y):
        ...         return x, y
    """

    def decorator(old_func: Callable[..., Any]) -> Callable[..., Any]:
        out = (torch.half, torch.float) if out_fp32 else None
        return _cast_call(old_func, apply_to, torch.float, torch.half, True, out, "auto_fp16", supported_types)

    return decorator


def force_fp32(apply_to: Iterable[str] | None = None, out_fp16: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Run a module method in fp32 (autocast off) even when ``self.fp16_enabled`` is True (mmcv).

    The half tensors among the arguments named in ``apply_to`` (all when None) are cast to float32.

    Args:
        apply_to: the argument names to cast.
        out_fp16: cast float32 outputs to half.
    """

    def decorator(old_func: Callable[..., Any]) -> Callable[..., Any]:
        out = (torch.float, torch.half) if out_fp16 else None
        return _cast_call(old_func, apply_to, torch.half, torch.float, False, out, "force_fp32", (nn.Module,))

    return decorator


class LossScaler:
    """A static or dynamic loss scale (mmcv 1.x's ``LossScaler``).

    Args:
        init_scale: the first scale.
        mode: ``"dynamic"`` (halve on overflow, grow every ``scale_window`` good steps) or ``"static"``.
        scale_factor: the factor of each change.
        scale_window: good iterations before the scale grows.
    """

    def __init__(self, init_scale: float = 2**32, mode: str = "dynamic", scale_factor: float = 2.0,
                 scale_window: int = 1000) -> None:
        if mode not in ("dynamic", "static"):
            raise ValueError(f"mode can only be dynamic or static, got `{mode!r}`.")
        self.cur_scale = float(init_scale)
        self.cur_iter = 0
        self.mode = mode
        self.last_overflow_iter = -1
        self.scale_factor = scale_factor
        self.scale_window = scale_window

    def has_overflow(self, params: Iterable[torch.nn.Parameter]) -> bool:
        """Whether any gradient holds an inf or a NaN (always False for a static scale)."""
        if self.mode != "dynamic":
            return False
        return any(p.grad is not None and LossScaler._has_inf_or_nan(p.grad.data) for p in params)

    @staticmethod
    def _has_inf_or_nan(x: torch.Tensor) -> bool:
        return not bool(torch.isfinite(x.float()).all())

    def update_scale(self, overflow: bool) -> None:
        """Halve the scale (not below 1) on overflow; grow it after ``scale_window`` good iterations."""
        if self.mode != "dynamic":
            return
        if overflow:
            self.cur_scale = max(self.cur_scale / self.scale_factor, 1.0)
            self.last_overflow_iter = self.cur_iter
        elif (self.cur_iter - self.last_overflow_iter) % self.scale_window == 0:
            self.cur_scale *= self.scale_factor
        self.cur_iter += 1

    def state_dict(self) -> dict[str, Any]:
        return {"cur_scale": self.cur_scale, "cur_iter": self.cur_iter, "mode": self.mode,
                "last_overflow_iter": self.last_overflow_iter, "scale_factor": self.scale_factor,
                "scale_window": self.scale_window}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        for key in self.state_dict():
            setattr(self, key, state_dict[key])

    @property
    def loss_scale(self) -> float:
        return self.cur_scale
