"""A hook that makes one rank of a distributed job fail, for tests/test_distributed.py."""

from __future__ import annotations

import os
import signal
import time
from typing import Any

import runnerkit


class FailRankHook(runnerkit.Hook):
    """After training iteration ``after_iter``, rank ``rank`` dies (SIGKILL), hangs, or raises.

    Runs last (LOWEST), so that the iteration's checkpoint is written first. With ``marker`` (a
    file path) it fails once: the first time it creates the file, later runs find it and go on.
    """

    priority = "LOWEST"

    def __init__(self, how: str = "kill", rank: int = 1, after_iter: int = 8, marker: str | None = None) -> None:
        if how not in ("kill", "hang", "raise"):
            raise ValueError(f"`how` must be 'kill', 'hang' or 'raise', got {how!r}")
        self.how, self.rank, self.after_iter, self.marker = how, rank, after_iter, marker

    def after_train_iter(self, runner: Any) -> None:
        if runner.rank != self.rank or runner.iter + 1 != self.after_iter:
            return
        if self.marker is not None:
            if os.path.exists(self.marker):
                return
            with open(self.marker, "w") as fh:
                fh.write(f"rank {self.rank} failed ({self.how}) after iteration {self.after_iter}\n")
        if self.how == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        elif self.how == "hang":
            time.sleep(600)
        else:
            raise RuntimeError(f"FailRankHook: rank {self.rank} raised on purpose")
