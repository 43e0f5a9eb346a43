"""``NeptuneLoggerHook``: log to neptune.ai (mmcv 1.x name and arguments)."""

from __future__ import annotations

from collections.abc import Mapping
from types import ModuleType
from typing import TYPE_CHECKING, Any

from runnerkit.hooks.trackers._base import TrackerHook
from runnerkit.requires import Requirement

if TYPE_CHECKING:
    from runnerkit.runners.base import BaseRunner

__all__ = ["NeptuneLoggerHook"]


class NeptuneLoggerHook(TrackerHook):
    """Log the averaged values to a Neptune run every ``interval`` iterations (rank 0 only).

    Needs ``pip install neptune``; the client is imported when the run starts.

    Args:
        init_kwargs: passed to ``neptune.init_run`` (``project``, ``api_token``, ``name``, ...;
            prefer the ``NEPTUNE_API_TOKEN`` environment variable to a token in a config).
        interval, ignore_last, reset_flag, by_epoch: see :class:`~runnerkit.hooks.logger_base.LoggerHook`.
        with_step: log each value with ``step=<iteration>``; otherwise the iteration is logged
            alongside as ``global_step``.

    Example:
        >>> hook = NeptuneLoggerHook(init_kwargs=dict(project="me/demo"))
    """

    requires = (Requirement("neptune"),)

    def __init__(
        self,
        init_kwargs: Mapping[str, Any] | None = None,
        interval: int = 10,
        ignore_last: bool = True,
        reset_flag: bool = True,
        with_step: bool = True,
        by_epoch: bool = True,
    ) -> None:
        super().__init__(interval, ignore_last, reset_flag, by_epoch)
        self.init_kwargs = dict(init_kwargs or {})
        self.with_step = with_step
        self.neptune: Any = None
        self.run: Any = None

    def start(self, runner: BaseRunner, client: ModuleType) -> None:
        self.neptune = client
        init = getattr(client, "init_run", None) or client.init  # neptune 1.x / neptune-client 0.x
        self.run = init(**self.init_kwargs)

    def write(self, runner: BaseRunner, tags: dict[str, Any]) -> None:
        step = self.get_iter(runner)
        for name, value in tags.items():
            if self.with_step:
                self.run[name].log(value, step=step)
            else:
                self.run[name].log(value)
        if not self.with_step:
            self.run["global_step"].log(step)

    def finish(self, runner: BaseRunner) -> None:
        if self.run is not None:
            self.run.stop()
