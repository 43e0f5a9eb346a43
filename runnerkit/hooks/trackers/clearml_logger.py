"""``ClearMLLoggerHook``: log to ClearML (mmcv 1.x name and arguments)."""

from __future__ import annotations

from collections.abc import Mapping
from types import ModuleType
from typing import TYPE_CHECKING, Any

import torch

from runnerkit.hooks.trackers._base import TrackerHook
from runnerkit.requires import Requirement

if TYPE_CHECKING:
    from runnerkit.runners.base import BaseRunner

__all__ = ["ClearMLLoggerHook"]


class ClearMLLoggerHook(TrackerHook):
    """Report the averaged values as ClearML scalars every ``interval`` iterations (rank 0 only).

    Needs ``pip install clearml``; the client is imported when the run starts. The optimizer(s)
    are connected to the task so that their settings show in ClearML.

    Args:
        init_kwargs: passed to ``clearml.Task.init``.
        interval, ignore_last, reset_flag, by_epoch: see :class:`~runnerkit.hooks.logger_base.LoggerHook`.

    Example:
        >>> hook = ClearMLLoggerHook(init_kwargs=dict(project_name="demo", task_name="run-1"))
    """

    requires = (Requirement("clearml"),)

    def __init__(
        self,
        init_kwargs: Mapping[str, Any] | None = None,
        interval: int = 10,
        ignore_last: bool = True,
        reset_flag: bool = False,
        by_epoch: bool = True,
    ) -> None:
        super().__init__(interval, ignore_last, reset_flag, by_epoch)
        self.init_kwargs = dict(init_kwargs or {})
        self.clearml: Any = None
        self.task: Any = None
        self.task_logger: Any = None

    def start(self, runner: BaseRunner, client: ModuleType) -> None:
        self.clearml = client
        self.task = client.Task.init(**self.init_kwargs)
        self.task_logger = self.task.get_logger()
        optimizers = runner.optimizer if isinstance(runner.optimizer, dict) else {None: runner.optimizer}
        for name, optimizer in optimizers.items():
            if isinstance(optimizer, torch.optim.Optimizer):
                self.task.connect(optimizer, name=name or type(optimizer).__name__)

    def write(self, runner: BaseRunner, tags: dict[str, Any]) -> None:
        step = self.get_iter(runner)
        for tag, value in tags.items():
            self.task_logger.report_scalar(tag, tag, value, step)

    def finish(self, runner: BaseRunner) -> None:
        if self.task is not None:
            self.task.upload_artifact("Model Architecture", runner.model)
