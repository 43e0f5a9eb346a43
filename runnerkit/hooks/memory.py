"""``EmptyCacheHook``: release PyTorch's cached CUDA memory at chosen stages (mmcv 1.x)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from runnerkit.hooks.hook import Hook

if TYPE_CHECKING:
    from runnerkit.runners.base import BaseRunner

__all__ = ["EmptyCacheHook"]


def _empty_cache(runner: BaseRunner) -> None:
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


class EmptyCacheHook(Hook):
    """Call ``torch.cuda.empty_cache()`` before/after every epoch and/or after every iteration.

    Only the chosen stages are registered with the runner, so a disabled stage costs nothing.
    Without CUDA the hook does nothing.

    Args:
        before_epoch: before each (train and val) epoch.
        after_epoch: after each epoch (default).
        after_iter: after each iteration.

    Example:
        >>> hook = EmptyCacheHook(after_iter=True)
    """

    def __init__(self, before_epoch: bool = False, after_epoch: bool = True, after_iter: bool = False) -> None:
        self._before_epoch = before_epoch
        self._after_epoch = after_epoch
        self._after_iter = after_iter
        for stage, wanted in (("before_epoch", before_epoch), ("after_epoch", after_epoch), ("after_iter", after_iter)):
            if wanted:
                setattr(self, stage, _empty_cache)
