"""``SegmindLoggerHook``: log to Segmind (mmcv 1.x name and arguments)."""

from __future__ import annotations

from types import ModuleType
from typing import TYPE_CHECKING, Any

from runnerkit.hooks.trackers._base import TrackerHook, import_client
from runnerkit.requires import Requirement

if TYPE_CHECKING:
    from runnerkit.runners.base import BaseRunner

__all__ = ["SegmindLoggerHook"]


class SegmindLoggerHook(TrackerHook):
    """Log the averaged values to Segmind every ``interval`` iterations (rank 0 only).

    Needs ``pip install segmind``; the client is imported when the run starts. As in mmcv, the
    values are logged with the runner's epoch as the step.

    Args:
        interval, ignore_last, reset_flag, by_epoch: see :class:`~runnerkit.hooks.logger_base.LoggerHook`.

    Example:
        >>> hook = SegmindLoggerHook(interval=20)
    """

    requires = (Requirement("segmind"),)

    def __init__(self, interval: int = 10, ignore_last: bool = True, reset_flag: bool = False, by_epoch: bool = True) -> None:
        super().__init__(interval, ignore_last, reset_flag, by_epoch)
        self.segmind: Any = None
        self.log_metrics: Any = None  # mmcv's attribute names
        self.mlflow_log: Any = None

    def start(self, runner: BaseRunner, client: ModuleType) -> None:
        name = type(self).__name__
        self.segmind = client
        try:  # attributes of the package, as mmcv reads them (its submodules are imported by `import segmind`)
            self.log_metrics = client.tracking.fluent.log_metrics
            self.mlflow_log = client.utils.logging_utils.try_mlflow_log
        except AttributeError:
            self.log_metrics = import_client("segmind.tracking.fluent", "segmind", name).log_metrics
            self.mlflow_log = import_client("segmind.utils.logging_utils", "segmind", name).try_mlflow_log

    def write(self, runner: BaseRunner, tags: dict[str, Any]) -> None:
        self.mlflow_log(self.log_metrics, tags, step=runner.epoch, epoch=runner.epoch)
