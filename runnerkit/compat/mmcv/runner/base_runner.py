"""mmcv 1.x's ``BaseRunner`` (runnerkit's), with mmcv's private counter names.

mmcv code (hooks, tests, scripts that resume by hand) reads and sets ``runner._epoch``,
``runner._iter``, ``runner._inner_iter``, ``runner._max_epochs`` and ``runner._max_iters``. Importing
this layer gives runnerkit's runners these names as read/write views of the runner's loop state
(``runner.loop``), so ``runner._iter = 3`` is the same as ``runner.loop.iter = 3``.
"""

from __future__ import annotations

from typing import Any

from runnerkit.runners.base import BaseRunner

__all__ = ["BaseRunner"]

_MMCV_PRIVATE = {"_epoch": "epoch", "_iter": "iter", "_inner_iter": "inner_iter", "_max_epochs": "max_epochs",
                 "_max_iters": "max_iters"}


def _loop_view(field: str) -> property:
    def get(runner: BaseRunner) -> Any:
        return getattr(runner.loop, field)

    def put(runner: BaseRunner, value: Any) -> None:
        setattr(runner.loop, field, value)

    return property(get, put, doc=f"mmcv's private name for ``runner.loop.{field}``.")


for _name, _field in _MMCV_PRIVATE.items():
    if _name not in vars(BaseRunner):
        setattr(BaseRunner, _name, _loop_view(_field))
