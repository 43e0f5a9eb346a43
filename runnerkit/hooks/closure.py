"""``ClosureHook``: run a function at one stage (mmcv 1.x)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from runnerkit.hooks.hook import STAGES, Hook

if TYPE_CHECKING:
    from runnerkit.runners.base import BaseRunner

__all__ = ["ClosureHook"]


_GENERIC = {"before_epoch", "after_epoch", "before_iter", "after_iter"}


class ClosureHook(Hook):
    """Call ``fn(runner)`` at stage ``fn_name`` (e.g. ``"after_train_iter"``).

    Args:
        fn_name: a stage name: one of the runner's stages or the generic ``before_epoch``,
            ``after_epoch``, ``before_iter``, ``after_iter`` (train and val).
        fn: a callable taking the runner.

    Example:
        >>> seen = []
        >>> hook = ClosureHook("after_train_iter", lambda runner: seen.append(runner.iter))
    """

    def __init__(self, fn_name: str, fn: Callable[[BaseRunner], Any]) -> None:
        if fn_name not in STAGES and fn_name not in _GENERIC:
            stages = ", ".join(sorted(set(STAGES) | _GENERIC))
            raise ValueError(f"`fn_name` must be a hook stage, got `{fn_name!r}`; one of {stages}.")
        if not callable(fn):
            raise TypeError(f"`fn` must be callable as `fn(runner)`, got {type(fn).__name__} `{fn!r:.60}`.")
        self.fn_name = fn_name
        self.fn = fn
        setattr(self, fn_name, fn)  # the runner dispatches to instance attributes too
