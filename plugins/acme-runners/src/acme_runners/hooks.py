"""A hook that counts training iterations and epochs."""

from __future__ import annotations

from typing import Any

import runnerkit


class IterCounterHook(runnerkit.Hook):
    """Counts the training iterations and epochs it has seen; the counts are checkpointed.

    Args:
        start: the count to start from.

    Example:
        >>> runner.register_hook_from_cfg(dict(type="IterCounterHook"))
    """

    priority = "LOW"

    def __init__(self, start: int = 0) -> None:
        if isinstance(start, bool) or not isinstance(start, int) or start < 0:
            raise ValueError(f"`start` must be a non-negative int, got {start!r}.")
        self.iters = start
        self.epochs = 0

    def after_train_iter(self, runner: Any) -> None:
        self.iters += 1

    def after_train_epoch(self, runner: Any) -> None:
        self.epochs += 1

    def state_dict(self) -> dict[str, Any]:
        return {"iters": self.iters, "epochs": self.epochs}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.iters = int(state["iters"])
        self.epochs = int(state["epochs"])
