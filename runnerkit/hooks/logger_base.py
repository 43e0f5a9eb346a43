"""``LoggerHook``: mmcv's interval logic shared by every logger (text, TensorBoard, ...)."""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, Any

import torch
from pydantic import PositiveInt

from runnerkit._args import checked
from runnerkit.hooks.hook import Hook, keeps_train_mode, next_multiple

if TYPE_CHECKING:
    from runnerkit.runners.base import BaseRunner

__all__ = ["LoggerHook"]


class LoggerHook(Hook):
    """Averages the log buffer every ``interval`` iterations and calls :meth:`log`.

    Args:
        interval: log every this many iterations (of the epoch when ``by_epoch``).
        ignore_last: skip a last, shorter interval at the end of an epoch.
        reset_flag: clear the averaged output after logging (the last logger gets it set).
        by_epoch: count iterations within the epoch (True) or globally (False).

    The buffer is averaged, and tensors read back to the host, only at log intervals.
    """

    priority = "VERY_LOW"

    @checked
    def __init__(self, interval: PositiveInt = 10, ignore_last: bool = True, reset_flag: bool = False,
                 by_epoch: bool = True) -> None:
        self.interval = interval
        self.ignore_last = ignore_last
        self.reset_flag = reset_flag
        self.by_epoch = by_epoch

    def log(self, runner: BaseRunner) -> None:
        """Write ``runner.log_buffer.output`` somewhere (subclasses)."""
        raise NotImplementedError

    @staticmethod
    def is_scalar(val: Any) -> bool:
        if isinstance(val, numbers.Number):
            return True
        return isinstance(val, torch.Tensor) and val.numel() == 1

    def get_mode(self, runner: BaseRunner) -> str:
        if runner.mode == "train":
            return "train" if "time" in runner.log_buffer.output else "val"
        return str(runner.mode)

    def get_epoch(self, runner: BaseRunner) -> int:
        return runner.epoch + 1 if runner.mode == "train" else runner.epoch

    def get_iter(self, runner: BaseRunner, inner_iter: bool = False) -> int:
        if self.by_epoch and inner_iter:
            return runner.inner_iter + 1
        return runner.iter + 1

    def get_lr_tags(self, runner: BaseRunner) -> dict[str, float]:
        if runner.optimizer is None:
            return {}
        lrs = runner.current_lr()
        if isinstance(lrs, dict):
            return {f"learning_rate/{k}": v[0] for k, v in lrs.items()}
        return {"learning_rate": lrs[0]}

    def get_momentum_tags(self, runner: BaseRunner) -> dict[str, float]:
        if runner.optimizer is None:
            return {}
        momentums = runner.current_momentum()
        if isinstance(momentums, dict):
            return {f"momentum/{k}": v[0] for k, v in momentums.items() if v}
        return {"momentum": momentums[0]} if momentums else {}

    def get_loggable_tags(self, runner: BaseRunner, add_mode: bool = True, tags_to_skip: tuple[str, ...] = ("time", "data_time")) -> dict[str, float]:
        """The buffer's scalars (as ``<mode>/<name>`` with ``add_mode``), the learning rates and momentums (mmcv)."""
        tags: dict[str, float] = {}
        for name, val in runner.log_buffer.output.items():
            if name in tags_to_skip or not self.is_scalar(val):
                continue
            tags[f"{self.get_mode(runner)}/{name}" if add_mode else name] = float(val)
        tags.update(self.get_lr_tags(runner))
        tags.update(self.get_momentum_tags(runner))
        return tags

    def before_run(self, runner: BaseRunner) -> None:
        for hook in runner.hooks[::-1]:
            if isinstance(hook, LoggerHook):
                hook.reset_flag = True
                break

    def before_epoch(self, runner: BaseRunner) -> None:
        runner.log_buffer.clear()

    def due_iter(self, runner: BaseRunner, stage: str) -> int:
        """``after_train_iter`` is due at the log intervals (and whenever a log output is waiting)."""
        cur = runner.iter
        if (stage != "after_train_iter" or type(self).after_train_iter is not LoggerHook.after_train_iter
                or runner.log_buffer.ready):
            return cur
        counts_epochs = runner.loop.by_epoch  # inner_iter runs through an epoch (not a workflow cycle)
        if self.by_epoch:
            if not counts_epochs:
                return cur
            inner = runner.inner_iter
            due = cur + next_multiple(inner, self.interval) - inner
        else:
            due = next_multiple(cur, self.interval)
        if not self.ignore_last:
            if not counts_epochs:
                return cur
            due = min(due, cur + max(runner.epoch_length - 1 - runner.inner_iter, 0))
        return due

    @keeps_train_mode
    def after_train_iter(self, runner: BaseRunner) -> None:
        buffer = runner.log_buffer
        if (self.by_epoch and self.every_n_inner_iters(runner, self.interval)) or (not self.by_epoch and self.every_n_iters(runner, self.interval)) or (self.end_of_epoch(runner) and not self.ignore_last):
            buffer.average(self.interval)
        if buffer.ready:
            self.log(runner)
            if self.reset_flag:
                buffer.clear_output()

    def after_train_epoch(self, runner: BaseRunner) -> None:
        if runner.log_buffer.ready:
            self.log(runner)
            if self.reset_flag:
                runner.log_buffer.clear_output()

    def after_val_epoch(self, runner: BaseRunner) -> None:
        runner.log_buffer.average()
        self.log(runner)
        if self.reset_flag:
            runner.log_buffer.clear_output()
