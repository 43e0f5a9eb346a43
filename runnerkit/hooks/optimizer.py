"""Optimizer hooks: backward, gradient clipping, gradient accumulation and mixed precision.

None of them reads a tensor back to the host: the gradient norm is logged as a tensor and
averaged only at log intervals.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import warnings
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import torch
from pydantic import PositiveInt
from torch import Tensor
from torch.nn.utils import clip_grad_norm_
from torch.optim import Optimizer

from runnerkit._args import checked
from runnerkit._bounds import GradClip
from runnerkit.hooks.hook import Hook, keeps_train_mode
from runnerkit.parallel_fsdp import local_part, set_gradient_sync

if TYPE_CHECKING:
    from runnerkit.runners.base import BaseRunner

__all__ = ["AmpOptimizerHook", "Fp16OptimizerHook", "GradientCumulativeOptimizerHook", "OptimizerHook", "wrap_fp16_model"]


def _optimizers(runner: BaseRunner) -> list[torch.optim.Optimizer]:
    opt = runner.optimizer
    if opt is None:
        raise RuntimeError(
            f"{type(runner).__name__} has no optimizer, but an optimizer hook is registered; pass "
            "`optimizer=` to the runner (or drop `optimizer_config`)."
        )
    return list(opt.values()) if isinstance(opt, dict) else [opt]


def _loss(runner: BaseRunner) -> torch.Tensor:
    outputs = runner.outputs
    loss = outputs.get("loss") if outputs.__class__ is dict or isinstance(outputs, Mapping) else None
    if loss.__class__ is torch.Tensor:  # the usual case, without isinstance's subclass hooks
        return loss  # type: ignore[no-any-return]
    if not isinstance(loss, torch.Tensor):
        raise TypeError(
            f"`train_step` must return a dict whose `loss` is a tensor for the optimizer hook, got "
            f"{type(loss).__name__}; return `dict(loss=..., log_vars=..., num_samples=...)`."
        )
    return loss


def _window(runner: BaseRunner, cumulative_iters: int) -> int:
    """The number of iterations in the accumulation window of the current one (the last may be shorter)."""
    total = runner.max_iters or 0
    remainder = total % cumulative_iters
    if remainder and runner.iter >= total - remainder:
        return remainder
    return cumulative_iters


def _should_step(runner: BaseRunner, cumulative_iters: int) -> bool:
    return (runner.iter + 1) % cumulative_iters == 0 or runner.iter + 1 == runner.max_iters


def _sync_gradients(runner: BaseRunner, sync: bool) -> None:
    # Under DDP, only the iteration that steps all-reduces its gradients; the others accumulate
    # locally (what `DistributedDataParallel.no_sync()` does, spread over the step's forward
    # and the backward the hook runs later).
    if isinstance(runner.model, torch.nn.parallel.DistributedDataParallel):
        runner.model.require_backward_grad_sync = sync
    else:  # FSDP2: no reduce-scatter until the iteration that steps
        set_gradient_sync(runner.model, sync)


class OptimizerHook(Hook):
    """``zero_grad`` -> ``loss.backward()`` -> optional gradient clipping -> ``step`` (mmcv).

    Args:
        grad_clip: ``dict(max_norm=35, norm_type=2)`` for ``clip_grad_norm_``, or None. The norm
            is logged as ``grad_norm``.
        detect_anomalous_params: log parameters that got no gradient (slow; for debugging).

    Works with one optimizer or a dict of them (all are zeroed and stepped). Subclasses may skip
    ``super().__init__`` (as mmcv's allow): the arguments' defaults are class attributes.
    """

    priority = "ABOVE_NORMAL"
    grad_clip: dict[str, Any] | None = None
    detect_anomalous_params: bool = False
    _params: tuple[torch.nn.Module, list[torch.nn.Parameter]] | None = None

    @checked
    def __init__(self, grad_clip: GradClip | None = None, detect_anomalous_params: bool = False) -> None:
        if grad_clip is not None:
            if not isinstance(grad_clip, Mapping) or "max_norm" not in grad_clip:
                raise ValueError(f"`grad_clip` must be a dict with `max_norm` (e.g. dict(max_norm=35, norm_type=2)), got `{grad_clip!r}`.")
            unknown = set(grad_clip) - {"max_norm", "norm_type", "error_if_nonfinite", "foreach"}
            if unknown:
                raise ValueError(f"Unknown `grad_clip` keys {sorted(unknown)}; accepted: max_norm, norm_type, foreach.")
        self.grad_clip = dict(grad_clip) if grad_clip is not None else None
        self.detect_anomalous_params = detect_anomalous_params

    def clip_grads(self, params: Iterable[torch.nn.Parameter]) -> torch.Tensor | None:
        """Clip the gradients of ``params`` that require one and have one; return the total norm (a tensor).

        mmcv's signature: subclasses call ``self.clip_grads(runner.model.parameters())``. None when
        no parameter has a gradient.
        """
        if self.grad_clip is None:
            raise ValueError(f"{type(self).__name__}.clip_grads needs `grad_clip` (e.g. dict(max_norm=35, norm_type=2)), "
                             "but it is None.")
        grads = [p for p in params if p.requires_grad and p.grad is not None]
        if not grads:
            return None
        # FSDP2: the norm over every rank's shards, a replicated DTensor; log it as a plain tensor
        return local_part(clip_grad_norm_(grads, **self.grad_clip))

    def _model_params(self, runner: BaseRunner) -> list[torch.nn.Parameter]:
        """``runner.model``'s parameters, listed once per model (what the hooks clip)."""
        model = runner.model
        if self._params is None or self._params[0] is not model:
            self._params = (model, list(model.parameters()))
        return self._params[1]

    def _clip(self, runner: BaseRunner) -> None:
        """Clip ``runner.model``'s gradients and log the norm as ``grad_norm``."""
        self._log_grad_norm(runner, self.clip_grads(self._model_params(runner)))

    def _log_grad_norm(self, runner: BaseRunner, grad_norm: torch.Tensor | None) -> None:
        if grad_norm is not None:
            runner.log_buffer.update({"grad_norm": grad_norm}, runner.outputs.get("num_samples", 1))

    @keeps_train_mode
    def after_train_iter(self, runner: BaseRunner) -> None:
        opt = runner.optimizer
        # names imported from torch, not `torch.optim.Optimizer`: CPython 3.11 does not specialize
        # attribute reads on the torch module. One optimizer (the usual case): no list per iteration.
        single = isinstance(opt, Optimizer)
        if single:
            opt.zero_grad()
        else:
            for each in _optimizers(runner):
                each.zero_grad()
        outputs = runner.outputs
        loss = outputs.get("loss") if outputs.__class__ is dict else None
        if loss.__class__ is not Tensor:  # the usual case checked inline, the rest by _loss
            loss = _loss(runner)
        if self.detect_anomalous_params:
            self._detect_anomalous(loss, runner)
        loss.backward()
        if self.grad_clip is not None:
            self._clip(runner)
        if single:
            opt.step()
        else:
            for each in _optimizers(runner):
                each.step()

    def _detect_anomalous(self, loss: torch.Tensor, runner: BaseRunner) -> None:
        reachable: set[int] = set()
        stack = [loss.grad_fn]
        while stack:
            fn = stack.pop()
            if fn is None or id(fn) in reachable:
                continue
            reachable.add(id(fn))
            if hasattr(fn, "variable"):
                reachable.add(id(fn.variable))
            stack.extend(next_fn for next_fn, _ in fn.next_functions)
        for name, param in runner.model.named_parameters():
            if param.requires_grad and id(param) not in reachable:
                # keywords, as mmcv: loggers given to runners need only `log(level=..., msg=...)`
                runner.logger.log(level=logging.ERROR, msg=f"{name} with shape {tuple(param.size())} is not in the "
                                  "computational graph")


class GradientCumulativeOptimizerHook(OptimizerHook):
    """Accumulate gradients over ``cumulative_iters`` iterations before each step (mmcv).

    The loss is divided by the number of iterations in the accumulation window (the last
    window of a run may be shorter), so the update equals one over a larger batch.
    """

    cumulative_iters: int = 1

    @checked
    def __init__(self, cumulative_iters: PositiveInt = 1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cumulative_iters = cumulative_iters

    def _window(self, runner: BaseRunner) -> int:
        return _window(runner, self.cumulative_iters)

    @staticmethod
    def has_batch_norm(module: torch.nn.Module) -> bool:
        """Whether ``module`` has batch-norm layers (their statistics see the small batches, not the window)."""
        return any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in module.modules())

    def _init(self, runner: BaseRunner) -> None:
        """mmcv's set-up check: warn when batch norm makes accumulation differ from one larger batch."""
        if self.cumulative_iters > 1 and self.has_batch_norm(runner.model):
            warnings.warn(f"{type(self).__name__}: the model has batch-norm layers, whose statistics see each small "
                          "batch, so the result may differ slightly from one larger batch", UserWarning, stacklevel=2)

    def _get_loss_factor(self, runner: BaseRunner) -> int:
        """mmcv's name for the number of iterations in the current accumulation window."""
        return self._window(runner)

    def _should_step(self, runner: BaseRunner) -> bool:
        return _should_step(runner, self.cumulative_iters)

    def before_run(self, runner: BaseRunner) -> None:
        self._init(runner)

    @keeps_train_mode
    def before_train_iter(self, runner: BaseRunner) -> None:
        _sync_gradients(runner, self._should_step(runner))

    def after_run(self, runner: BaseRunner) -> None:
        _sync_gradients(runner, True)

    @keeps_train_mode
    def after_train_iter(self, runner: BaseRunner) -> None:
        optimizers = _optimizers(runner)
        loss = _loss(runner) / self._window(runner)
        loss.backward()
        if self._should_step(runner):
            if self.grad_clip is not None:
                self._clip(runner)
            for opt in optimizers:
                opt.step()
                opt.zero_grad()


_DTYPES = {"float16": torch.float16, "fp16": torch.float16, "bfloat16": torch.bfloat16, "bf16": torch.bfloat16}
#: the ``GradScaler`` arguments a ``loss_scale`` dict may give (mmcv: ``GradScaler(**loss_scale)``).
_SCALER_KEYS = ("init_scale", "growth_factor", "backoff_factor", "growth_interval", "enabled")


def _scaler_args(loss_scale: str | float | Mapping[str, Any]) -> tuple[dict[str, Any], float | None]:
    """``GradScaler`` arguments for mmcv's ``loss_scale``, and the fixed scale (None: dynamic).

    ``"dynamic"``: ``GradScaler()``'s defaults. A number: that scale, set again after every step
    (mmcv's ``loss_scaler.update(loss_scale)``; an overflowing step is still skipped). A dict:
    ``GradScaler(**loss_scale)``, e.g. ``dict(init_scale=512.0, growth_interval=1000)``.
    """
    if isinstance(loss_scale, Mapping):
        unknown = sorted(set(loss_scale) - set(_SCALER_KEYS))
        if unknown:
            raise ValueError(f"Unknown `loss_scale` keys {unknown} in {dict(loss_scale)!r}; a dict gives "
                             f"`torch.amp.GradScaler` arguments: {', '.join(_SCALER_KEYS)}.")
        return dict(loss_scale), None
    if loss_scale == "dynamic":
        return {}, None
    if isinstance(loss_scale, (int, float)) and not isinstance(loss_scale, bool) and loss_scale > 0:
        return {"init_scale": float(loss_scale)}, float(loss_scale)
    raise ValueError(f"`loss_scale` must be 'dynamic', a positive number or a dict of GradScaler arguments, "
                     f"got `{loss_scale!r}`.")


def wrap_fp16_model(model: torch.nn.Module) -> None:
    """Switch on ``fp16_enabled`` in every submodule that has the attribute (mmcv 1.x, PyTorch >= 1.6).

    Weights stay fp32: the methods decorated with mmcv's ``@auto_fp16``/``@force_fp32`` read the flag.
    """
    for module in model.modules():
        if hasattr(module, "fp16_enabled"):
            module.fp16_enabled = True  # type: ignore[assignment]


class AmpOptimizerHook(OptimizerHook):
    """runnerkit's mixed precision: whole steps run under ``torch.autocast``; fp16 losses are scaled.

    The model's forward (the whole ``train_step``) runs under ``torch.autocast`` on the parameters'
    device, CPU included, and fp16 losses are scaled by a ``torch.amp.GradScaler`` on that device.
    mmcv's :class:`Fp16OptimizerHook` differs: it autocasts nothing itself (see there).

    Args:
        dtype: ``"float16"`` (with loss scaling) or ``"bfloat16"`` (no scaling needed).
        loss_scale: ``"dynamic"`` (default), a fixed float scale, or a dict of ``GradScaler``
            arguments such as ``dict(init_scale=512.0)`` (fp16 only).
        device_type: ``"cuda"`` or ``"cpu"``; default: where the model's parameters are.
        grad_clip: as :class:`OptimizerHook` (gradients are unscaled first).
        cumulative_iters: accumulate gradients over this many iterations.

    The scaler's state is saved in checkpoints and restored on resume.
    """

    # defaults for subclasses that skip ``super().__init__``
    dtype: torch.dtype = torch.float16
    loss_scale: str | float | dict[str, Any] = "dynamic"
    device_type: str | None = None
    cumulative_iters: int = 1
    scaler: torch.amp.GradScaler | None = None
    _pending_state: dict[str, Any] | None = None
    _fixed_scale: float | None = None
    #: run each step under ``torch.autocast`` with an enabled scaler on any device (True); False: mmcv's
    #: ``Fp16OptimizerHook`` (no step autocast, ``fp16_enabled`` switched on, a scaler on CUDA only).
    autocast_step: ClassVar[bool] = True

    @checked
    def __init__(
        self,
        dtype: Literal["float16", "fp16", "bfloat16", "bf16"] = "float16",
        loss_scale: str | float | Mapping[str, Any] = "dynamic",
        device_type: str | None = None,
        grad_clip: Mapping[str, Any] | None = None,
        cumulative_iters: PositiveInt = 1,
        **kwargs: Any,
    ) -> None:
        super().__init__(grad_clip=grad_clip, **kwargs)
        _scaler_args(loss_scale)  # checked now, used when the run starts
        self.dtype = _DTYPES[dtype]
        self.loss_scale = dict(loss_scale) if isinstance(loss_scale, Mapping) else loss_scale
        self.device_type = device_type
        self.cumulative_iters = cumulative_iters
        self.scaler = None
        self._pending_state = None

    def before_run(self, runner: BaseRunner) -> None:
        device_type = self.device_type or next(
            (p.device.type for p in runner.model.parameters()), "cpu"
        )
        use_scaler = self.dtype == torch.float16
        if use_scaler:
            args, self._fixed_scale = _scaler_args(self.loss_scale)
            if not self.autocast_step and device_type != "cuda":
                args["enabled"] = False  # mmcv's torch.cuda.amp.GradScaler is disabled without CUDA
            self.scaler = torch.amp.GradScaler(device_type, **args)
            if self._pending_state:  # a disabled scaler saves an empty state
                self.scaler.load_state_dict(self._pending_state)
            self._pending_state = None
        if self.autocast_step:
            runner.step_context = functools.partial(_autocast, device_type, self.dtype)
        else:
            wrap_fp16_model(runner.model)

    @keeps_train_mode
    def before_train_iter(self, runner: BaseRunner) -> None:
        if self.cumulative_iters > 1:
            _sync_gradients(runner, _should_step(runner, self.cumulative_iters))

    def after_run(self, runner: BaseRunner) -> None:
        if self.autocast_step:
            runner.step_context = contextlib.nullcontext
        if self.cumulative_iters > 1:
            _sync_gradients(runner, True)

    @keeps_train_mode
    def after_train_iter(self, runner: BaseRunner) -> None:
        optimizers = _optimizers(runner)
        loss = _loss(runner)
        if self.cumulative_iters > 1:
            loss = loss / _window(runner, self.cumulative_iters)
            step = _should_step(runner, self.cumulative_iters)
        else:
            for opt in optimizers:
                opt.zero_grad()
            step = True
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
        else:
            loss.backward()
        if not step:
            return
        if self.grad_clip is not None:
            if self.scaler is not None:
                for opt in optimizers:
                    self.scaler.unscale_(opt)
            self._clip(runner)
        if self.scaler is not None:
            for opt in optimizers:
                self.scaler.step(opt)
            self.scaler.update(self._fixed_scale)  # a fixed scale is set again (mmcv); None: dynamic
        else:
            for opt in optimizers:
                opt.step()
        if self.cumulative_iters > 1:
            for opt in optimizers:
                opt.zero_grad()

    def state_dict(self) -> dict[str, Any]:
        return {"scaler": self.scaler.state_dict()} if self.scaler is not None else {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        scaler_state = state.get("scaler")
        if scaler_state is None:
            return
        if self.scaler is not None:
            self.scaler.load_state_dict(scaler_state)
        else:
            self._pending_state = scaler_state


class Fp16OptimizerHook(AmpOptimizerHook):
    """mmcv 1.x's fp16 hook (PyTorch >= 1.6): ``fp16_enabled`` switched on, the loss scaled on CUDA.

    As mmcv's: ``before_run`` switches on ``fp16_enabled`` in every module of the model that has
    the attribute (:func:`wrap_fp16_model`), so that methods decorated with ``@auto_fp16`` /
    ``@force_fp32`` run in half precision; the step itself is not autocast (unlike
    :class:`AmpOptimizerHook`), and the loss is scaled by a ``GradScaler`` only when the parameters
    are on CUDA; elsewhere the scaler is disabled (mmcv's ``torch.cuda.amp.GradScaler`` without CUDA),
    so on a CPU an undecorated model trains exactly as under :class:`OptimizerHook`.

    Accepts mmcv's ``loss_scale`` (``"dynamic"``, a number: that fixed scale, or a dict of ``GradScaler``
    arguments such as ``dict(init_scale=512.0)``), ``grad_clip``, ``coalesce``/``bucket_size_mb``/
    ``distributed`` (ignored: DDP handles them).
    """

    autocast_step: ClassVar[bool] = False

    @checked
    def __init__(
        self,
        grad_clip: Mapping[str, Any] | None = None,
        coalesce: bool = True,
        bucket_size_mb: int = -1,
        loss_scale: str | float | Mapping[str, Any] = 512.0,
        distributed: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(dtype="float16", loss_scale=loss_scale, grad_clip=grad_clip, **kwargs)


class GradientCumulativeFp16OptimizerHook(Fp16OptimizerHook):
    """mmcv's name: fp16 mixed precision with gradients accumulated over ``cumulative_iters`` iterations.

    The loss is divided by the number of iterations in the accumulation window (the last
    window of a run may be shorter) and the optimizer steps once per window, as
    :class:`GradientCumulativeOptimizerHook`; loss scaling as :class:`Fp16OptimizerHook`.

    Example:
        >>> hook = GradientCumulativeFp16OptimizerHook(cumulative_iters=4, loss_scale="dynamic")
    """

    def __init__(self, cumulative_iters: int = 1, **kwargs: Any) -> None:
        super().__init__(cumulative_iters=cumulative_iters, **kwargs)


@contextlib.contextmanager
def _autocast(device_type: str, dtype: torch.dtype) -> Iterator[None]:
    with torch.autocast(device_type=device_type, dtype=dtype):
        yield
