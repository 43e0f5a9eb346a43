"""``ProfilerHook``: profile the first epochs or iterations with ``torch.profiler`` (mmcv 1.x)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import torch
from pydantic import PositiveInt

from runnerkit._args import checked
from runnerkit.hooks.hook import Hook

if TYPE_CHECKING:
    from runnerkit.runners.base import BaseRunner

__all__ = ["ProfilerHook"]


_ACTIVITIES = {"cpu": torch.profiler.ProfilerActivity.CPU, "cuda": torch.profiler.ProfilerActivity.CUDA}


class ProfilerHook(Hook):
    """Run ``torch.profiler.profile`` over the first ``profile_iters`` epochs (or iterations).

    Args:
        by_epoch: count ``profile_iters`` in epochs (True) or iterations.
        profile_iters: how many epochs/iterations to profile.
        activities: ``"cpu"`` and/or ``"cuda"`` (CUDA is dropped when there is no GPU).
        schedule: ``dict(wait=..., warmup=..., active=..., repeat=...)`` for ``torch.profiler.schedule``.
        on_trace_ready: a callable, ``dict(type="log_trace", **table_kwargs)`` (print
            ``key_averages().table(...)`` to the log) or ``dict(type="tb_trace", dir_name=...)``
            (a TensorBoard trace; a relative ``dir_name`` is inside the work dir).
        record_shapes, profile_memory, with_stack, with_flops: passed to ``torch.profiler.profile``.
        json_trace_path: write a Chrome trace there when profiling ends.

    Example:
        >>> hook = ProfilerHook(by_epoch=False, profile_iters=5, on_trace_ready=dict(type="log_trace"))
    """

    priority = "VERY_LOW"

    @checked
    def __init__(
        self,
        by_epoch: bool = True,
        profile_iters: PositiveInt = 1,
        activities: Sequence[str] = ("cpu", "cuda"),
        schedule: Mapping[str, int] | None = None,
        on_trace_ready: Callable[..., Any] | Mapping[str, Any] | None = None,
        record_shapes: bool = False,
        profile_memory: bool = False,
        with_stack: bool = False,
        with_flops: bool = False,
        json_trace_path: str | os.PathLike[str] | None = None,
    ) -> None:
        if isinstance(activities, str) or not all(a in _ACTIVITIES for a in activities):
            raise ValueError(f"`activities` must be a list of 'cpu' and/or 'cuda', got `{activities!r}`.")
        if isinstance(on_trace_ready, Mapping) and on_trace_ready.get("type") not in ("log_trace", "tb_trace"):
            raise ValueError(
                f"`on_trace_ready` must be a callable, dict(type='log_trace', ...) or dict(type='tb_trace', "
                f"dir_name=...), got `{dict(on_trace_ready)!r}`."
            )
        if on_trace_ready is not None and not isinstance(on_trace_ready, Mapping) and not callable(on_trace_ready):
            raise TypeError(f"`on_trace_ready` must be a callable or a dict, got {type(on_trace_ready).__name__}.")
        self.by_epoch = by_epoch
        self.profile_iters = profile_iters
        self.activities = list(activities)
        self.schedule = dict(schedule) if schedule is not None else None
        self.on_trace_ready = on_trace_ready
        self.record_shapes = record_shapes
        self.profile_memory = profile_memory
        self.with_stack = with_stack
        self.with_flops = with_flops
        self.json_trace_path = os.fspath(json_trace_path) if json_trace_path is not None else None
        self.profiler: torch.profiler.profile | None = None

    def _trace_handler(self, runner: BaseRunner) -> Callable[..., Any] | None:
        spec = self.on_trace_ready
        if spec is None or callable(spec):
            return spec  # type: ignore[return-value]
        options = {k: v for k, v in spec.items() if k != "type"}
        if spec["type"] == "log_trace":
            def log_trace(prof: torch.profiler.profile) -> None:
                runner.logger.info("%s", prof.key_averages().table(**options))

            return log_trace
        dir_name = os.fspath(options.pop("dir_name", "tf_tracing_logs"))
        if not os.path.isabs(dir_name) and runner.work_dir is not None:
            dir_name = os.path.join(runner.work_dir, dir_name)
        handler: Callable[..., Any] = torch.profiler.tensorboard_trace_handler(dir_name, **options)
        return handler

    def before_run(self, runner: BaseRunner) -> None:
        limit = runner.max_epochs if self.by_epoch else runner.max_iters
        if limit is not None and self.profile_iters > limit:
            unit = "epochs" if self.by_epoch else "iterations"
            raise ValueError(f"`profile_iters` ({self.profile_iters}) is more than the run's {limit} {unit}.")
        activities = [_ACTIVITIES[a] for a in self.activities if a != "cuda" or torch.cuda.is_available()]
        schedule = torch.profiler.schedule(**self.schedule) if self.schedule is not None else None
        self.profiler = torch.profiler.profile(
            activities=activities,
            schedule=schedule,
            on_trace_ready=self._trace_handler(runner),
            record_shapes=self.record_shapes,
            profile_memory=self.profile_memory,
            with_stack=self.with_stack,
            with_flops=self.with_flops,
        )
        self.profiler.__enter__()
        runner.logger.info("profiler is profiling...")

    def _stop(self) -> None:
        if self.profiler is None:
            return
        profiler, self.profiler = self.profiler, None
        profiler.__exit__(None, None, None)
        if self.json_trace_path is not None:
            profiler.export_chrome_trace(self.json_trace_path)

    def after_train_iter(self, runner: BaseRunner) -> None:
        if self.profiler is None:
            return
        self.profiler.step()
        if not self.by_epoch and runner.iter + 1 >= self.profile_iters:
            self._stop()

    def after_train_epoch(self, runner: BaseRunner) -> None:
        if self.by_epoch and runner.epoch + 1 >= self.profile_iters:
            self._stop()

    def after_run(self, runner: BaseRunner) -> None:
        self._stop()
