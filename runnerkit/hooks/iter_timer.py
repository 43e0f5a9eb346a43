"""``IterTimerHook``: log data-loading and iteration time (mmcv)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from runnerkit.hooks.hook import Hook

if TYPE_CHECKING:
    from runnerkit.runners.base import BaseRunner

__all__ = ["IterTimerHook"]


class IterTimerHook(Hook):
    """Records ``data_time`` (before the step) and ``time`` (whole iteration) in the log buffer.

    Uses the host clock only; on a GPU the times are of the host loop (no synchronisation).
    """

    priority = "LOW"

    def __init__(self) -> None:
        self.t = time.perf_counter()
        self.data_time = 0.0

    def before_epoch(self, runner: BaseRunner) -> None:
        self.t = time.perf_counter()

    def before_iter(self, runner: BaseRunner) -> None:
        self.data_time = time.perf_counter() - self.t

    def after_iter(self, runner: BaseRunner) -> None:
        # both values in one update: the same log as mmcv's two, at half the bookkeeping
        runner.log_buffer.update({"data_time": self.data_time, "time": time.perf_counter() - self.t})
        self.t = time.perf_counter()
