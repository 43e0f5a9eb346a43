"""``IterTimerHook``: log data-loading and iteration time (mmcv)."""

from __future__ import annotations

from time import perf_counter  # a module global: one specialized read per call
from typing import TYPE_CHECKING, Any

from runnerkit.hooks.hook import Hook, keeps_train_mode

if TYPE_CHECKING:
    from runnerkit.runners.base import BaseRunner

__all__ = ["IterTimerHook"]


class IterTimerHook(Hook):
    """Records ``data_time`` (before the step) and ``time`` (whole iteration) in the log buffer.

    Uses the host clock only; on a GPU the times are of the host loop (no synchronisation).
    """

    priority = "LOW"

    def __init__(self) -> None:
        self.t = perf_counter()
        self.data_time = 0.0
        self._buffer: Any = None
        self._series: tuple[Any, Any, Any, Any] = ((), (), (), ())

    def before_epoch(self, runner: BaseRunner) -> None:
        self.t = perf_counter()

    @keeps_train_mode
    def before_iter(self, runner: BaseRunner) -> None:
        self.data_time = perf_counter() - self.t

    @keeps_train_mode
    def after_iter(self, runner: BaseRunner) -> None:
        # both values straight into the buffer's histories: one clock read, no dict, no call
        now = perf_counter()
        buffer = runner.log_buffer
        if buffer is not self._buffer:
            self._buffer = buffer
            self._series = (*buffer.series("data_time"), *buffer.series("time"))
        data_values, data_counts, time_values, time_counts = self._series
        data_values.append(self.data_time)
        data_counts.append(1)
        time_values.append(now - self.t)
        time_counts.append(1)
        self.t = now
