"""``BaseRunner``: validated arguments, the loop state, hook dispatch and the loop both runners share.

The layers are described in docs/architecture.md: mmcv's defaults (:mod:`runnerkit.runners.defaults`)
and saving/resuming (:mod:`runnerkit.runners.checkpointing`) are functions over this class's public
surface, which the methods of the same names here call.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

import torch

from runnerkit import dist as dist_utils
from runnerkit import requires
from runnerkit.dist import unwrap_model
from runnerkit.hooks.hook import Hook
from runnerkit.log_buffer import LogBuffer
from runnerkit.runners import checkpointing, defaults, train_loop
from runnerkit.runners.args import BaseRunnerArgs, validate_runner_args
from runnerkit.runners.checkpointing import ResumePoint
from runnerkit.runners.compile import compile_model
from runnerkit.runners.data import PassIterator
from runnerkit.runners.dispatch import HookDispatch
from runnerkit.runners.finite import FiniteGuard
from runnerkit.runners.interrupt import Interrupt
from runnerkit.runners.loop_state import LoopState
from runnerkit.runners.step import ModelStep, param_group_values

__all__ = ["BaseRunner"]


class BaseRunner:
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

    Attributes:
        loop: where the run is (:class:`~runnerkit.runners.loop_state.LoopState`); ``epoch``,
            ``iter``, ``inner_iter``, ``max_epochs`` and ``max_iters`` read it.
        dispatch: the registered hooks by priority and by stage.
        log_buffer: the ``log_vars`` of each step, averaged by the logger hooks.
        outputs: the last step's output dict.
        step_context: a factory of the context each step runs in (``AmpOptimizerHook`` sets autocast).
        pending_resume: what :meth:`resume` read that ``run`` applies when it starts (None: nothing).
        rank_states: every rank's RNG states and data positions from :meth:`gather_rank_states`.

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
    #: the workflow counts epochs (False: iterations); also mmcv's ``by_epoch`` default for hooks.
    by_epoch: ClassVar[bool] = True
    #: the file name template used when the caller gives none (``epoch_{}.pth`` / ``iter_{}.pth``).
    default_filename_tmpl: ClassVar[str] = "epoch_{}.pth"
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
        self.args = validate_runner_args(type(self), given)
        if batch_processor is not None:
            warnings.warn(
                "`batch_processor` is deprecated; define `train_step` and `val_step` on the model instead.",
                DeprecationWarning,
                stacklevel=2,
            )
        self.model: torch.nn.Module = self.args.model
        if self.args.parallel is not None:  # a no-op in one process and for a model already wrapped
            from runnerkit.parallel import spread

            self.model = spread(self.model, self.args.parallel)
        self.batch_processor = self.args.batch_processor
        self.optimizer = self.args.optimizer
        self.logger: logging.Logger = self.args.logger
        self.meta: dict[str, Any] | None = self.args.meta
        self.work_dir: str | None = self.args.work_dir
        if self.work_dir is not None:
            os.makedirs(self.work_dir, exist_ok=True)
        self._model_name = type(unwrap_model(self.model)).__name__
        compile_model(self.model, self.args.compile, self.logger)
        self._rank, self._world_size = dist_utils.get_dist_info()
        self.timestamp = time.strftime("%Y%m%d_%H%M%S", time.localtime())
        self.mode: str | None = None
        self.loop = LoopState(type(self).by_epoch, max_epochs=self.args.max_epochs, max_iters=self.args.max_iters)
        self.dispatch = HookDispatch()
        self.epoch_length = 0
        self.log_buffer = LogBuffer(across_ranks=True)
        self.finite_guard = FiniteGuard(self)
        #: set while a signal's stop is due (or, distributed, while ``run`` is active): checked each iteration
        self.interrupt: Interrupt | None = None
        self.log_buffer.after_average = self.finite_guard.after_average
        self.log_buffer.before_clear = self.finite_guard.before_clear
        self.outputs: dict[str, Any] = {}
        self.data_loader: Any = None
        self.data_batch: Any = None
        self.step_context: Callable[[], contextlib.AbstractContextManager[Any]] = contextlib.nullcontext
        self.pending_resume: ResumePoint | None = None
        self.rank_states: tuple[tuple[Any, ...], list[Any]] | None = None
        self._model_step = ModelStep()
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
        return self.dispatch.hooks

    @property
    def epoch(self) -> int:
        """The epoch in progress (0-based)."""
        return self.loop.epoch

    @property
    def iter(self) -> int:
        """Training iterations finished before the current one."""
        return self.loop.iter

    @property
    def inner_iter(self) -> int:
        """The current iteration's index within its epoch or validation pass."""
        return self.loop.inner_iter

    @property
    def max_epochs(self) -> int | None:
        """Epochs to train (None for an iteration budget)."""
        return self.loop.max_epochs

    @property
    def max_iters(self) -> int | None:
        """Iterations to train (``EpochBasedRunner``: ``max_epochs`` times the loader's length)."""
        return self.loop.max_iters

    @property
    def completed_iters(self) -> int:
        """Training iterations finished so far (counts the current one once its step has run)."""
        return self.loop.completed_iters

    @property
    def completed_epochs(self) -> int:
        """Training epochs finished so far (counts the current one once its batches are done)."""
        return self.loop.completed_epochs

    # -- stopping early -------------------------------------------------------------------------

    def request_stop(self, reason: str = "stop requested") -> None:
        """Ask the loop to stop cleanly (a hook's early stop, a signal handler).

        ``IterBasedRunner`` stops after the current iteration, ``EpochBasedRunner`` after the
        current epoch; then ``after_train_epoch`` (iteration runner) and ``after_run`` hooks run
        as at a normal end. The first reason given is kept.
        """
        if self.loop.stop_reason is None:
            self.loop.stop_reason = str(reason) or "stop requested"

    @property
    def stop_reason(self) -> str | None:
        """Why :meth:`request_stop` was called, or None while the run goes on."""
        return self.loop.stop_reason

    # -- the loop (subclasses) ---------------------------------------------------------------

    def train(self, data_loader: Any, **kwargs: Any) -> None:
        raise NotImplementedError

    def val(self, data_loader: Any, **kwargs: Any) -> None:
        raise NotImplementedError

    def run(self, data_loaders: list[Any], workflow: list[tuple[str, int]], **kwargs: Any) -> None:
        raise NotImplementedError

    def _finished(self) -> bool:
        """Whether training has reached its end (``max_epochs`` or ``max_iters``)."""
        raise NotImplementedError

    def _run_workflow(self, data_loaders: list[Any], flows: list[tuple[str, int]], unit: str, total: int,
                      kwargs: dict[str, Any]) -> None:
        """Start, restore a resumed position, cycle through the workflow, end (:func:`~runnerkit.runners.train_loop.run_workflow`)."""
        train_loop.run_workflow(self, data_loaders, flows, unit, total, kwargs)

    def _run_phase(self, index: int, mode: str, done: int, count: int, until_done: bool,
                   kwargs: dict[str, Any]) -> None:
        """Steps ``done..count-1`` of a workflow phase: one ``train``/``val`` call (an epoch, an iteration) each."""
        loop = self.loop
        loop.phase = index
        if not loop.by_epoch:
            loop.inner_iter = done
        step = getattr(self, mode)
        for n in range(done, count):
            if (mode == "train" and self._finished()) or loop.stop_reason is not None:
                break
            loop.phase_step = n
            step(loop.passes[index], **kwargs)

    def _train_loop(self, batches: PassIterator, steps: int, kwargs: dict[str, Any], cycle: int = 0) -> None:
        """Training iterations over ``batches`` (:func:`~runnerkit.runners.train_loop.train_loop`)."""
        train_loop.train_loop(self, batches, steps, kwargs, cycle)

    def _val_iter(self, data_batch: Any, kwargs: dict[str, Any]) -> None:
        """One validation iteration on a batch already fetched."""
        self.data_batch = data_batch
        self.call_hook("before_val_iter")
        self.run_iter(data_batch, train_mode=False, **kwargs)
        self.call_hook("after_val_iter")
        self.data_batch = None
        self.loop.inner_iter += 1

    def run_iter(self, data_batch: Any, train_mode: bool, **kwargs: Any) -> None:
        """One step: ``train_step``/``val_step`` (or the batch processor), then log its ``log_vars``."""
        if self.batch_processor is not None:
            with self.step_context():
                outputs = self.batch_processor(self.model, data_batch, train_mode=train_mode, **kwargs)
        elif train_mode:
            if self.step_context is contextlib.nullcontext:  # the common case: no context to enter
                outputs = self._model_step(self.model, "train_step", data_batch, self.optimizer, kwargs)
            else:
                with self.step_context():
                    outputs = self._model_step(self.model, "train_step", data_batch, self.optimizer, kwargs)
        else:
            with torch.no_grad(), self.step_context():
                outputs = self._model_step(self.model, "val_step", data_batch, self.optimizer, kwargs)
        if not isinstance(outputs, dict):
            train_loop.check_outputs(outputs, "batch_processor" if self.batch_processor is not None
                           else ("train_step" if train_mode else "val_step"))
        if "log_vars" in outputs:
            self.log_buffer.update(outputs["log_vars"], outputs.get("num_samples", 1))
        self.outputs = outputs

    # -- hooks -------------------------------------------------------------------------------

    def register_hook(self, hook: Hook, priority: int | str | None = None) -> None:
        """Add ``hook`` at ``priority`` (int 0-100 or a name such as ``"NORMAL"``).

        Hooks of equal priority run in registration order. A hook whose optional dependencies
        are missing is refused here (:func:`runnerkit.requires.check`).
        """
        if isinstance(hook, Hook):
            requires.check(hook)
        self.dispatch.add(hook, priority)

    def register_hook_from_cfg(self, hook_cfg: Mapping[str, Any]) -> None:
        """Build a hook from ``dict(type=..., priority=..., **args)`` and register it.

        ``type`` is a hook name found through the ``runnerkit.hooks`` entry points or plugins
        (bare, ``dist:Name``, ``module:attr``) or a Hook subclass. The dict is not mutated.
        """
        from runnerkit.hooks.builder import build_hook

        cfg = dict(hook_cfg)
        priority = cfg.pop("priority", None)
        self.register_hook(build_hook(cfg, self.container), priority=priority)

    def call_hook(self, fn_name: str) -> None:
        """Call stage ``fn_name`` of every hook that overrides it, in priority order."""
        self.dispatch.call(self, fn_name)

    def get_hook_info(self) -> str:
        """A table of which hooks run at which stage, in order (as mmcv)."""
        return self.dispatch.info()

    # -- mmcv's defaults (runnerkit.runners.defaults) ----------------------------------------------

    def register_training_hooks(
        self,
        lr_config: defaults.HookConfig,
        optimizer_config: defaults.HookConfig = None,
        checkpoint_config: defaults.HookConfig = None,
        log_config: Mapping[str, Any] | None = None,
        momentum_config: defaults.HookConfig = None,
        timer_config: defaults.HookConfig = {"type": "IterTimerHook"},  # noqa: B006 - mmcv's default, never mutated
        custom_hooks_config: Sequence[Any] | Mapping[str, Any] | Hook | None = None,
    ) -> None:
        """Register the standard hooks in mmcv's order and priorities (callers' dicts are not mutated).

        * lr (VERY_HIGH): ``dict(policy="step", step=[8, 11], warmup="linear", ...)``
        * momentum (HIGH): ``dict(policy="cyclic", ...)``
        * optimizer (ABOVE_NORMAL): ``dict(grad_clip=dict(max_norm=35))``, ``type`` defaults to ``OptimizerHook``
        * checkpoint (NORMAL): ``dict(interval=1, max_keep_ckpts=3)``
        * timer (LOW): ``dict(type="IterTimerHook")``
        * loggers (VERY_LOW): ``dict(interval=50, hooks=[dict(type="TextLoggerHook")])``
        * custom hooks: a list of ``dict(type=..., priority=...)`` or hook objects
        """
        defaults.register_training_hooks(self, lr_config, optimizer_config, checkpoint_config, log_config,
                                         momentum_config, timer_config, custom_hooks_config)

    def register_lr_hook(self, lr_config: defaults.HookConfig) -> None:
        defaults.register_lr_hook(self, lr_config)

    def register_momentum_hook(self, momentum_config: defaults.HookConfig) -> None:
        defaults.register_momentum_hook(self, momentum_config)

    def register_optimizer_hook(self, optimizer_config: defaults.HookConfig) -> None:
        defaults.register_optimizer_hook(self, optimizer_config)

    def register_checkpoint_hook(self, checkpoint_config: defaults.HookConfig) -> None:
        defaults.register_checkpoint_hook(self, checkpoint_config)

    def register_timer_hook(self, timer_config: defaults.HookConfig) -> None:
        defaults.register_timer_hook(self, timer_config)

    def register_logger_hooks(self, log_config: Mapping[str, Any] | None) -> None:
        defaults.register_logger_hooks(self, log_config)

    def register_custom_hooks(self, custom_config: Sequence[Any] | Mapping[str, Any] | Hook | None) -> None:
        defaults.register_custom_hooks(self, custom_config)

    # -- checkpoints (runnerkit.runners.checkpointing) ----------------------------------------

    def save_checkpoint(self, out_dir: str | os.PathLike[str], filename_tmpl: str | None = None,
                        save_optimizer: bool = True, meta: dict[str, Any] | None = None,
                        create_symlink: bool = True, *, sharded: bool | None = None, async_save: bool = False,
                        on_written: Callable[[str], None] | None = None) -> str:
        """Write a checkpoint atomically into ``out_dir`` and return its path.

        Args:
            out_dir: the folder (created if needed).
            filename_tmpl: e.g. ``"epoch_{}.pth"``, formatted with the completed epochs
                (``EpochBasedRunner``) or iterations (``IterBasedRunner``).
            save_optimizer: also save the optimizer state(s).
            meta: extra metadata (a dict), merged over the runner's ``meta``.
            create_symlink: point ``last_checkpoint`` (and ``latest.pth``) at the new file.
            sharded: write a sharded checkpoint folder (torch.distributed.checkpoint; default: when
                the model is sharded). A sharded model's checkpoint is a collective: every rank calls
                this (``checkpointing.every_rank_saves``); a file checkpoint of it holds whole weights.
            async_save: write in the background (``runnerkit.checkpoint_async``).
            on_written: called with the path on rank 0 once the checkpoint is complete.
        """
        return checkpointing.save_checkpoint(self, out_dir, filename_tmpl, save_optimizer, meta, create_symlink,
                                             sharded=sharded, async_save=async_save, on_written=on_written)

    def gather_rank_states(self) -> None:
        """Collect every rank's RNG states and data positions for rank 0's next checkpoint.

        A collective: under torch.distributed every rank must call it (``CheckpointHook`` does,
        right before rank 0 saves); a checkpoint saved at the same loop position then holds them
        under ``runnerkit.ranks``, and :meth:`resume` gives each rank its own. A no-op in one
        process. ``save_checkpoint`` itself never communicates, so rank 0 may call it alone.
        """
        checkpointing.gather_rank_states(self)

    def load_checkpoint(self, filename: str | os.PathLike[str], map_location: Any = "cpu", strict: bool = False,
                        revise_keys: Sequence[tuple[str, str]] = ((r"^module\.", ""),),
                        weights_only: bool = True) -> dict[str, Any]:
        """Load model weights from ``filename`` (mmcv ``load_checkpoint``) and return the checkpoint.

        Keys are revised by ``revise_keys`` (default: strip a DDP ``module.`` prefix). Loads with
        ``weights_only=True`` unless the caller opts out for a trusted file.
        """
        return checkpointing.load_checkpoint(self, filename, map_location, strict, revise_keys, weights_only)

    def resume(self, checkpoint: str | os.PathLike[str], resume_optimizer: bool = True,
               map_location: Any = "cpu", weights_only: bool = True) -> None:
        """Continue from ``checkpoint`` (a file, or a work dir to take its latest checkpoint).

        Weights, optimizer state, counters, hook states, RNG states and every data loader's
        position are restored, so a resumed run ends with the same weights as one never
        stopped. Works on CPU-only machines (``map_location="cpu"``).
        """
        checkpointing.resume(self, checkpoint, resume_optimizer, map_location, weights_only)

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
        return param_group_values(self.optimizer, key)

    def __deepcopy__(self, memo: dict[int, Any]) -> BaseRunner:  # pragma: no cover - guard
        raise TypeError("Runners own live models and optimizers and cannot be deep-copied.")

