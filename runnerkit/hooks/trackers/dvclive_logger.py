"""``DvcliveLoggerHook``: log with DVCLive (mmcv 1.x name and arguments)."""

from __future__ import annotations

import os
from types import ModuleType
from typing import TYPE_CHECKING, Any, ClassVar

from runnerkit._args import Forwards
from runnerkit.hooks.trackers._base import TrackerHook
from runnerkit.requires import Requirement

if TYPE_CHECKING:
    from runnerkit.runners.base import BaseRunner

__all__ = ["DvcliveLoggerHook"]


class DvcliveLoggerHook(TrackerHook):
    """Log the averaged values with ``dvclive.Live`` every ``interval`` iterations (rank 0 only).

    Needs ``pip install dvclive``; the client is imported when the run starts.

    Args:
        model_file: if given, the model is saved there (a checkpoint) after every training epoch.
        interval, ignore_last, reset_flag, by_epoch: see :class:`~runnerkit.hooks.logger_base.LoggerHook`.
        dvclive: a ``dvclive.Live`` to log to (then ``kwargs`` are not used); by default one is made.
        **kwargs: passed to ``dvclive.Live``.

    Example:
        >>> hook = DvcliveLoggerHook(model_file="work_dirs/model.pth", dir="dvclive")
    """

    requires = (Requirement("dvclive"),)
    #: ``**kwargs`` go to ``dvclive.Live`` (any keyword is accepted when dvclive is not installed).
    forwards_kwargs: ClassVar[Forwards] = Forwards("dvclive:Live")

    def __init__(
        self,
        model_file: str | os.PathLike[str] | None = None,
        interval: int = 10,
        ignore_last: bool = True,
        reset_flag: bool = False,
        by_epoch: bool = True,
        dvclive: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(interval, ignore_last, reset_flag, by_epoch)
        self.model_file = os.fspath(model_file) if model_file is not None else None
        self.live_kwargs = kwargs
        #: a ``dvclive.Live`` given by the caller is used as is (mmcv's ``dvclive=``); else one is made at the start.
        self.dvclive: Any = dvclive
        self._given_live = dvclive is not None

    def start(self, runner: BaseRunner, client: ModuleType) -> None:
        if not self._given_live:
            self.dvclive = client.Live(**self.live_kwargs)

    def write(self, runner: BaseRunner, tags: dict[str, Any]) -> None:
        self.dvclive.set_step(self.get_iter(runner))
        log = getattr(self.dvclive, "log_metric", None) or self.dvclive.log  # dvclive >= 2.0 / older
        for name, value in tags.items():
            log(name, value)

    def after_train_epoch(self, runner: BaseRunner) -> None:
        super().after_train_epoch(runner)
        if self.model_file is not None and runner.rank == 0:
            folder, name = os.path.split(os.path.abspath(self.model_file))
            runner.save_checkpoint(folder, filename_tmpl=name.replace("{", "{{").replace("}", "}}"), create_symlink=False)

    def finish(self, runner: BaseRunner) -> None:
        end = getattr(self.dvclive, "end", None)
        if callable(end):
            end()
