"""``WandbLoggerHook``: log to Weights & Biases (mmcv 1.x name and arguments)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any

from runnerkit.hooks.trackers._base import TrackerHook
from runnerkit.requires import Requirement

if TYPE_CHECKING:
    from runnerkit.runners.base import BaseRunner

__all__ = ["WandbLoggerHook"]


class WandbLoggerHook(TrackerHook):
    """Log the averaged values to W&B every ``interval`` iterations (rank 0 only).

    Needs ``pip install wandb``; the client is imported when the run starts. Set
    ``WANDB_MODE=offline`` (or ``init_kwargs=dict(mode="offline")``) to log without an account.

    Args:
        init_kwargs: passed to ``wandb.init``.
        interval, ignore_last, reset_flag, by_epoch: see :class:`~runnerkit.hooks.logger_base.LoggerHook`.
        commit: passed to ``wandb.log``.
        with_step: log with ``step=<iteration>``; otherwise the iteration is logged as ``global_step``.
        log_artifact: at the end, upload the work dir's files ending in ``out_suffix`` as an artifact.
        out_suffix: file endings uploaded by ``log_artifact``.
        define_metric_cfg: ``{metric: summary}`` passed to ``wandb.define_metric`` (e.g. ``{"val/acc": "max"}``).

    Example:
        >>> hook = WandbLoggerHook(init_kwargs=dict(project="demo", mode="offline"), interval=50)
    """

    requires = (Requirement("wandb"),)

    def __init__(
        self,
        init_kwargs: Mapping[str, Any] | None = None,
        interval: int = 10,
        ignore_last: bool = True,
        reset_flag: bool = False,
        commit: bool = True,
        by_epoch: bool = True,
        with_step: bool = True,
        log_artifact: bool = True,
        out_suffix: str | Sequence[str] = (".log.json", ".log", ".py"),
        define_metric_cfg: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(interval, ignore_last, reset_flag, by_epoch)
        self.init_kwargs = dict(init_kwargs or {})
        self.commit = commit
        self.with_step = with_step
        self.log_artifact = log_artifact
        self.out_suffix = (out_suffix,) if isinstance(out_suffix, str) else tuple(out_suffix)
        self.define_metric_cfg = dict(define_metric_cfg or {})
        self.wandb: Any = None

    def start(self, runner: BaseRunner, client: ModuleType) -> None:
        self.wandb = client
        client.init(**self.init_kwargs)
        for metric, summary in self.define_metric_cfg.items():
            client.define_metric(metric, summary=summary)

    def write(self, runner: BaseRunner, tags: dict[str, Any]) -> None:
        if self.with_step:
            self.wandb.log(tags, step=self.get_iter(runner), commit=self.commit)
        else:
            self.wandb.log({**tags, "global_step": self.get_iter(runner)}, commit=self.commit)

    def finish(self, runner: BaseRunner) -> None:
        if self.wandb is None:
            return
        if self.log_artifact and runner.work_dir is not None:
            artifact = self.wandb.Artifact(name="artifacts", type="model")
            for root, _, files in os.walk(runner.work_dir):
                for name in sorted(files):
                    if name.endswith(self.out_suffix):
                        artifact.add_file(os.path.join(root, name))
            self.wandb.log_artifact(artifact)  # the active run's, as mmcv
        self.wandb.finish()
