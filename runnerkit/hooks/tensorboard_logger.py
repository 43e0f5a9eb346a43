"""``TensorboardLoggerHook``: scalars (and text) from the log buffer to TensorBoard (mmcv 1.x).

Needs the optional ``tensorboard`` package: ``pip install "runnerkit[tensorboard]"``.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from runnerkit.hooks.logger_base import LoggerHook
from runnerkit.requires import Requirement

if TYPE_CHECKING:
    from runnerkit.runners.base import BaseRunner

__all__ = ["INSTALL_HINT", "summary_writer_class", "TensorboardLoggerHook"]


INSTALL_HINT = 'pip install "runnerkit[tensorboard]"'


def summary_writer_class() -> Any:
    """``torch.utils.tensorboard.SummaryWriter``, or an ImportError that names the install command."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as err:
        raise ImportError(
            f"TensorboardLoggerHook needs the `tensorboard` package, which could not be imported ({err}). "
            f"Install it with `{INSTALL_HINT}` (or `pip install tensorboard`), or remove "
            "`TensorboardLoggerHook` from `log_config`."
        ) from err
    return SummaryWriter


class TensorboardLoggerHook(LoggerHook):
    """Write the averaged log values to TensorBoard every ``interval`` iterations (rank 0 only).

    Tags are ``<mode>/<name>`` (``train/loss``, ``val/accuracy`` for evaluation results) plus
    ``learning_rate`` and ``momentum``; the step is the 1-based global iteration. Strings are
    written as text.

    Args:
        log_dir: the event file folder (default: ``<work_dir>/tf_logs``).
        interval, ignore_last, reset_flag, by_epoch: see :class:`~runnerkit.hooks.logger_base.LoggerHook`.

    Example:
        >>> runner.register_training_hooks(  # doctest: +SKIP
        ...     lr_config=dict(policy="fixed"),
        ...     log_config=dict(interval=10, hooks=[dict(type="TextLoggerHook"), dict(type="TensorboardLoggerHook")]))
    """

    requires = (Requirement("tensorboard", pip="runnerkit[tensorboard]"),)

    def __init__(
        self,
        log_dir: str | os.PathLike[str] | None = None,
        interval: int = 10,
        ignore_last: bool = True,
        reset_flag: bool = False,
        by_epoch: bool = True,
    ) -> None:
        super().__init__(interval, ignore_last, reset_flag, by_epoch)
        self.log_dir: str | None = os.fspath(log_dir) if log_dir is not None else None
        self.writer: Any = None

    def before_run(self, runner: BaseRunner) -> None:
        super().before_run(runner)
        if runner.rank != 0:
            return
        writer_cls = summary_writer_class()
        if self.log_dir is None:
            if runner.work_dir is None:
                raise ValueError(
                    "TensorboardLoggerHook needs a folder for its event files: give the runner a "
                    "`work_dir` or the hook a `log_dir`."
                )
            self.log_dir = os.path.join(runner.work_dir, "tf_logs")
        self.writer = writer_cls(self.log_dir)

    def tags(self, runner: BaseRunner) -> dict[str, Any]:
        """What :meth:`log` writes: ``<mode>/<name>`` for numbers and strings, lr and momentum."""
        mode = self.get_mode(runner)
        tags: dict[str, Any] = {}
        for name, value in runner.log_buffer.output.items():
            if name in ("time", "data_time"):
                continue
            if isinstance(value, str) or self.is_scalar(value):
                tags[f"{mode}/{name}"] = value
        if runner.optimizer is not None:
            for key, values in (("learning_rate", runner.current_lr()), ("momentum", runner.current_momentum())):
                if isinstance(values, dict):
                    tags.update({f"{key}/{name}": v[0] for name, v in values.items() if v})
                elif values:
                    tags[key] = values[0]
        return tags

    def log(self, runner: BaseRunner) -> None:
        if self.writer is None:
            return
        step = self.get_iter(runner)
        for tag, value in self.tags(runner).items():
            if isinstance(value, str):
                self.writer.add_text(tag, value, step)
            else:
                self.writer.add_scalar(tag, value, step)

    def after_run(self, runner: BaseRunner) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
