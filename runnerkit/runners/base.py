"""``BaseRunner``: validated arguments, mmcv's runner state and hook dispatch.

The training loops live in :mod:`runnerkit.runners.iter_based` and
:mod:`runnerkit.runners.epoch_based`; checkpoint files in :mod:`runnerkit.checkpoint`.
"""

from __future__ import annotations

import bisect
import contextlib
import logging
import os
import time
import warnings
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import torch

from runnerkit import dist as dist_utils
from runnerkit import requires
from runnerkit.dist import unwrap_model
from runnerkit.hooks.hook import STAGES, Hook, get_priority, overrides
from runnerkit.log_buffer import LogBuffer
from runnerkit.runners.args import BaseRunnerArgs
from runnerkit.runners.checkpointing import CheckpointMixin
from runnerkit.runners.compile import compile_model
from runnerkit.runners.data import PassIterator
from runnerkit.runners.finite import FiniteGuard
from runnerkit.runners.interrupt import Interrupt
from runnerkit.runners.training_hooks import TrainingHooksMixin


class BaseRunner(CheckpointMixin, TrainingHooksMixin):
    """State and hook machinery shared by every runner (mmcv 1.x ``BaseRunner``).

    Arguments are validated by ``args_model`` (a pydantic model; subclasses name their own,
    extending :class:`~runnerkit.runners.args.BaseRunnerArgs`). All problems are reported at
    once as a :class:`pydantic.ValidationError`.

    Args:
        model: a ``torch.nn.Module`` with ``train_step`` (and ``val_step``).
        batch_processor: deprecated alternative to ``train_step``.
        optimizer: an optimizer, a dict of them, or None.
        work_dir: where checkpoints and logs go (created).
        logger: a ``logging.Logger`` (default: the ``runnerkit`` logger).
        meta: free-form metadata saved in checkpoints.
        max_iters: iterations to train (exclusive with ``max_epochs``).
        max_epochs: epochs to train (exclusive with ``max_iters``).
        compile: ``True`` or a dict of ``torch.compile`` options compiles the model in place
            (:mod:`runnerkit.runners.compile`); checkpoint keys are unchanged.
        **kwargs: fields a subclass's ``args_model`` adds.

    Example:
        >>> import runnerkit, torch
        >>> class Net(torch.nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.fc = torch.nn.Linear(2, 1)
        ...     def train_step(self, data, optimizer, **kw):
        ...         loss = self.fc(data).pow(2).mean()
        ...         return dict(loss=loss, log_vars=dict(loss=loss.detach()), num_samples=len(data))
        >>> runner = runnerkit.IterBasedRunner(model=Net(), max_iters=10)
        >>> runner.model_name
        'Net'
    """

    args_model: ClassVar[type[BaseRunnerArgs]] = BaseRunnerArgs
    #: stop with ``NonFiniteLossError`` when a logged loss becomes NaN/inf, and never write a
    #: checkpoint with non-finite weights (see :mod:`runnerkit.runners.finite`); the config key
    #: ``check_finite`` sets it.
    check_finite: bool = True

    def __init__(
        self,
        model: Any = None,
        batch_processor: Callable[..., Any] | None = None,
        optimizer: Any = None,
        work_dir: str | os.PathLike[str] | None = None,
        logger: logging.Logger | None = None,
        meta: dict[str, Any] | None = None,
        max_iters: int | None = None,
        max_epochs: int | None = None,
        **kwargs: Any,
    ) -> None:
        given = dict(
            model=model, batch_processor=batch_processor, optimizer=optimizer, work_dir=work_dir,
            logger=logger, meta=meta, max_iters=max_iters, max_epochs=max_epochs, **kwargs,
        )
        self.args = type(self).args_model.model_validate(given)
        if batch_processor is not None:
            warnings.warn(
                "`batch_processor` is deprecated; define `train_step` and `val_step` on the model instead.",
                DeprecationWarning,
                stacklevel=2,
            )
        self.model: torch.nn.Module = self.args.model
        self.batch_processor = self.args.batch_processor
        self.optimizer = self.args.optimizer
        self.logger: logging.Logger = self.args.logger
        self.meta: dict[str, Any] | None = self.args.meta
        self.work_dir: str | None = self.args.work_dir
        if self.work_dir is not None:
            os.makedirs(self.work_dir, exist_ok=True)
        self._model_name = type(unwrap_model(self.model)).__name__
        compile_model(self.model, self.args.compile, self.logger)
        self._step_owner: tuple[torch.nn.Module, torch.nn.Module] = (self.model, _step_owner(self.model))
        self._rank, self._world_size = dist_utils.get_dist_info()
        self.timestamp = time.strftime("%Y%m%d_%H%M%S", time.localtime())
        self.mode: str | None = None
        self._hooks: list[Hook] = []
        self._hook_priorities: list[int] = []
        self._dispatch: dict[str, list[Hook]] = {stage: [] for stage in STAGES}
        self._epoch = 0
        self._iter = 0
        self._inner_iter = 0
        self._max_epochs = self.args.max_epochs
        self._max_iters = self.args.max_iters
        self.epoch_length = 0
        self.log_buffer = LogBuffer(across_ranks=True)
        self.finite_guard = FiniteGuard(self)
        #: set while a signal's stop is due (or, distributed, while ``run`` is active): checked each iteration
        self._interrupt: Interrupt | None = None
        self.log_buffer.after_average = self.finite_guard.after_average
        self.log_buffer.before_clear = self.finite_guard.before_clear
        self.outputs: dict[str, Any] = {}
        self.data_loader: Any = None
        self.data_batch: Any = None
        #: a factory of the context each step runs in (``AmpOptimizerHook`` sets autocast).
        self.step_context: Callable[[], contextlib.AbstractContextManager[Any]] = contextlib.nullcontext
        # loop bookkeeping for checkpoints and exact resume
        self._iter_done = False  # the current iteration's step has run, counters not yet advanced
        self._epoch_done = False  # the current epoch's batches are done, counter not yet advanced
        self._pass_iterators: dict[int, PassIterator] = {}
        self._flow_cursor: tuple[int, int] = (0, 0)  # (workflow phase, steps done in it)
        self._resume_flow: tuple[int, int] | None = None
        self._pending_resume: dict[str, Any] | None = None
        self._pending_hook_states: dict[str, Any] = {}
        self._applied_hook_states: set[str] = set()
        self._stop_reason: str | None = None
        from runnerkit._build import current_container

        #: the container that resolves hook names for this runner.
        self.container = current_container()

    # -- properties (mmcv) -----------------------------------------------------------------

    @property
    def model_name(self) -> str:
        """The model's class name (of ``.module`` for DDP/DataParallel wrappers)."""
        return self._model_name

    @property
    def rank(self) -> int:
        """This process's rank (0 when torch.distributed is not initialised)."""
        return self._rank

    @property
    def world_size(self) -> int:
        """The number of processes (1 when torch.distributed is not initialised)."""
        return self._world_size

    @property
    def hooks(self) -> list[Hook]:
        """The registered hooks, highest priority (lowest value) first."""
        return self._hooks

    @property
    def epoch(self) -> int:
        return self._epoch

    @property
    def iter(self) -> int:
        return self._iter

    @property
    def inner_iter(self) -> int:
        return self._inner_iter

    @property
    def max_epochs(self) -> int | None:
        return self._max_epochs

    @property
    def max_iters(self) -> int | None:
        return self._max_iters

    @property
    def completed_iters(self) -> int:
        """Training iterations finished so far (counts the current one once its step has run)."""
        return self._iter + (1 if self._iter_done else 0)

    @property
    def completed_epochs(self) -> int:
        """Training epochs finished so far (counts the current one once its batches are done)."""
        return self._epoch + (1 if self._epoch_done else 0)

    # -- stopping early -------------------------------------------------------------------------

    def request_stop(self, reason: str = "stop requested") -> None:
        """Ask the loop to stop cleanly (a hook's early stop, a signal handler).

        ``IterBasedRunner`` stops after the current iteration, ``EpochBasedRunner`` after the
        current epoch; then ``after_train_epoch`` (iteration runner) and ``after_run`` hooks run
        as at a normal end. The first reason given is kept.
        """
        if self._stop_reason is None:
            self._stop_reason = str(reason) or "stop requested"

    @property
    def stop_reason(self) -> str | None:
        """Why :meth:`request_stop` was called, or None while the run goes on."""
        return self._stop_reason

    def _flow_step_done(self) -> bool:
        """Whether the current workflow step (an iteration or an epoch) has finished."""
        return False

    def _flow_positions(self, flows: list[tuple[str, int]]) -> Any:
        """``(index, phase, steps already done)`` for one workflow cycle; a resumed run starts mid-cycle."""
        start, done = self._resume_flow or (0, 0)
        self._resume_flow = None
        for i, flow in enumerate(flows):
            if i < start:
                continue
            yield i, flow, (done if i == start else 0)

    def _log_start(self, workflow: list[tuple[str, int]], unit: str, total: int) -> None:
        self.logger.info("Start running, work_dir: %s", self.work_dir or "NONE")
        if self.logger.isEnabledFor(logging.DEBUG):  # 60 lines: shown with `--verbose`, not on every run
            self.logger.debug("Hooks will be executed in the following order:\n%s", self.get_hook_info())
        self.logger.info("workflow: %s, max: %d %s", workflow, total, unit)

    # -- the loop (subclasses) ---------------------------------------------------------------

    def train(self, data_loader: Any, **kwargs: Any) -> None:
        raise NotImplementedError

    def val(self, data_loader: Any, **kwargs: Any) -> None:
        raise NotImplementedError

    def run(self, data_loaders: list[Any], workflow: list[tuple[str, int]], **kwargs: Any) -> None:
        raise NotImplementedError

    def run_iter(self, data_batch: Any, train_mode: bool, **kwargs: Any) -> None:
        """One step: ``train_step``/``val_step`` (or the batch processor), then log its ``log_vars``."""
        if self.batch_processor is not None:
            with self.step_context():
                outputs = self.batch_processor(self.model, data_batch, train_mode=train_mode, **kwargs)
        elif train_mode:
            if self.step_context is contextlib.nullcontext:  # the common case: no context to enter
                outputs = self._call_step("train_step", data_batch, kwargs)
            else:
                with self.step_context():
                    outputs = self._call_step("train_step", data_batch, kwargs)
        else:
            with torch.no_grad(), self.step_context():
                outputs = self._call_step("val_step", data_batch, kwargs)
        if not isinstance(outputs, dict):
            step = "batch_processor" if self.batch_processor is not None else ("train_step" if train_mode else "val_step")
            raise TypeError(
                f"`{step}` must return a dict with `loss`, `log_vars` and `num_samples`, got {type(outputs).__name__}."
            )
        if "log_vars" in outputs:
            self.log_buffer.update(outputs["log_vars"], outputs.get("num_samples", 1))
        self.outputs = outputs

    def _call_step(self, name: str, data_batch: Any, kwargs: dict[str, Any]) -> Any:
        model = self.model
        if isinstance(model, torch.nn.parallel.DistributedDataParallel):
            return _ddp_step(model, name, data_batch, self.optimizer, kwargs)
        if model is not self._step_owner[0]:
            self._step_owner = (model, _step_owner(model))
        return getattr(self._step_owner[1], name)(data_batch, self.optimizer, **kwargs)

    # -- hooks -------------------------------------------------------------------------------

    def register_hook(self, hook: Hook, priority: int | str | None = None) -> None:
        """Add ``hook`` at ``priority`` (int 0-100 or a name such as ``"NORMAL"``).

        Hooks of equal priority run in registration order.
        """
        if not isinstance(hook, Hook):
            raise TypeError(f"`register_hook` expects a `runnerkit.Hook` instance, got {type(hook).__name__}.")
        requires.check(hook)
        value = get_priority(priority if priority is not None else hook.priority)
        hook.priority = value  # type: ignore[misc]  # mmcv stores the resolved value on the hook
        # insert after every hook with the same or a higher priority (stable order)
        index = bisect.bisect_right(self._hook_priorities, value)
        self._hooks.insert(index, hook)
        self._hook_priorities.insert(index, value)
        self._rebuild_dispatch()

    def _rebuild_dispatch(self) -> None:
        self._dispatch = {stage: [h for h in self._hooks if overrides(h, stage)] for stage in STAGES}

    def register_hook_from_cfg(self, hook_cfg: Mapping[str, Any]) -> None:
        """Build a hook from ``dict(type=..., priority=..., **args)`` and register it.

        ``type`` is a hook name found through the ``runnerkit.hooks`` entry points or plugins
        (bare, ``dist:Name``, ``module:attr``) or a Hook subclass. The dict is not mutated.
        """
        from runnerkit.hooks.builder import build_hook

        cfg = dict(hook_cfg)
        priority = cfg.pop("priority", None)
        hook = build_hook(cfg, self.container)
        self.register_hook(hook, priority=priority)

    def call_hook(self, fn_name: str) -> None:
        """Call stage ``fn_name`` of every hook that overrides it, in priority order."""
        try:
            hooks = self._dispatch[fn_name]
        except KeyError:
            raise ValueError(f"Unknown hook stage `{fn_name}`; expected one of {', '.join(STAGES)}.") from None
        for hook in hooks:
            getattr(hook, fn_name)(self)

    def get_hook_info(self) -> str:
        """A table of which hooks run at which stage, in order (as mmcv)."""
        lines = []
        for stage in STAGES:
            hooks = self._dispatch[stage]
            if not hooks:
                continue
            lines.append(f"{stage}:")
            lines.append("-" * 62)
            for hook in hooks:
                lines.append(f"({_priority_name(int(hook.priority)):<12}) {type(hook).__name__}")
            lines.append("-" * 62)
        return "\n".join(lines)

    # -- optimizer introspection (mmcv) -------------------------------------------------------

    def current_lr(self) -> list[float] | dict[str, list[float]]:
        """The learning rates of every param group (a dict for a dict of optimizers)."""
        return self._group_values("lr")

    def current_momentum(self) -> list[float] | dict[str, list[float]]:
        """The momentum (or Adam's beta1) of every param group."""
        return self._group_values("momentum")

    def _group_values(self, key: str) -> list[float] | dict[str, list[float]]:
        if self.optimizer is None:
            raise RuntimeError(f"`current_{key}` needs an optimizer, but this runner has none.")

        def values(opt: torch.optim.Optimizer) -> list[float]:
            out = []
            for group in opt.param_groups:
                if key == "momentum" and "momentum" not in group and "betas" in group:
                    out.append(float(group["betas"][0]))
                else:
                    out.append(float(group.get(key, 0.0)))
            return out

        if isinstance(self.optimizer, dict):
            return {name: values(opt) for name, opt in self.optimizer.items()}
        return values(self.optimizer)

    def __deepcopy__(self, memo: dict[int, Any]) -> BaseRunner:  # pragma: no cover - guard
        raise TypeError("Runners own live models and optimizers and cannot be deep-copied.")


_NO_ATTR = object()


def _step_owner(model: torch.nn.Module) -> torch.nn.Module:
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


def _priority_name(value: int) -> str:
    from runnerkit.hooks.hook import Priority

    try:
        return Priority(value).name
    except ValueError:
        return str(value)


