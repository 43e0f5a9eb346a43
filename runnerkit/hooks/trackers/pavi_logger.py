"""``PaviLoggerHook``: log to OpenMMLab's Pavi service (mmcv 1.x name and arguments)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from types import ModuleType
from typing import TYPE_CHECKING, Any

from runnerkit import checkpoint as ckpt_io
from runnerkit.dist import unwrap_model
from runnerkit.hooks.trackers._base import TrackerHook
from runnerkit.requires import Requirement

if TYPE_CHECKING:
    from runnerkit.runners.base import BaseRunner

__all__ = ["PaviLoggerHook"]


class PaviLoggerHook(TrackerHook):
    """Write the averaged values to a ``pavi.SummaryWriter`` every ``interval`` iterations (rank 0 only).

    Needs ``pip install pavi``; the client is imported when the run starts. The writer's task is
    the work dir's name and its model the model's class name; ``meta["config_dict"]``, when the
    runner has it, is sent as the session text.

    Args:
        init_kwargs: passed to ``pavi.SummaryWriter``.
        add_graph: add the model's graph, traced on the first training batch's ``img_key`` entry.
        add_last_ckpt: at the end, upload the latest checkpoint of the work dir.
        interval, ignore_last, reset_flag, by_epoch: see :class:`~runnerkit.hooks.logger_base.LoggerHook`.
        img_key: the batch key that holds the model's input for ``add_graph``.
        add_graph_kwargs: mmcv 1.7's form of the graph options: ``active`` (``add_graph``), ``img_key``,
            ``start`` and ``interval`` (the epochs, or iterations with ``by_epoch=False``, at which the
            graph is added; default: once, at the first).
        add_ckpt_kwargs: upload checkpoints during training: ``active``, ``start`` (default 0) and
            ``interval`` (default 1) in epochs (or iterations); the file ``epoch_<n>.pth`` (or
            ``iter_<n>.pth``) of the work dir is uploaded when it exists.

    Example:
        >>> hook = PaviLoggerHook(add_last_ckpt=True)
    """

    requires = (Requirement("pavi"),)

    def __init__(
        self,
        init_kwargs: Mapping[str, Any] | None = None,
        add_graph: bool = False,
        add_last_ckpt: bool = False,
        interval: int = 10,
        ignore_last: bool = True,
        reset_flag: bool = False,
        by_epoch: bool = True,
        img_key: str = "img",
        add_graph_kwargs: Mapping[str, Any] | None = None,
        add_ckpt_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(interval, ignore_last, reset_flag, by_epoch)
        graph = dict(add_graph_kwargs or {})
        ckpt = dict(add_ckpt_kwargs or {})
        self.init_kwargs = dict(init_kwargs or {})
        self.add_graph = bool(graph.get("active", add_graph))
        self.add_graph_schedule = (int(graph["start"]), int(graph.get("interval", 1))) if "start" in graph else None
        self.add_last_ckpt = add_last_ckpt
        self.add_ckpt = bool(ckpt.get("active", False))
        self.add_ckpt_schedule = (int(ckpt.get("start", 0)), int(ckpt.get("interval", 1)))
        self.img_key = str(graph.get("img_key", img_key))
        self.writer: Any = None
        self.run_name = ""

    def start(self, runner: BaseRunner, client: ModuleType) -> None:
        self.run_name = os.path.basename((runner.work_dir or "").rstrip(os.sep))
        kwargs = dict(self.init_kwargs)
        kwargs["task"] = self.run_name
        kwargs["model"] = runner.model_name
        meta = runner.meta or {}
        if "config_dict" in meta:
            config = dict(meta["config_dict"])
            config.setdefault("max_iter", runner.max_iters)
            kwargs["session_text"] = json.dumps(config, default=repr, indent=2)
        self.writer = client.SummaryWriter(**kwargs)

    @staticmethod
    def _due(step: int, schedule: tuple[int, int]) -> bool:
        start, interval = schedule
        return step >= start and (step - start) % interval == 0

    def before_train_iter(self, runner: BaseRunner) -> None:
        super().before_train_iter(runner)
        if not self.add_graph or self.writer is None or not isinstance(runner.data_batch, Mapping):
            return
        if self.add_graph_schedule is None:
            self.add_graph = False  # once, at the first batch
        elif (self.by_epoch and runner.inner_iter != 0) or not self._due(self.get_epoch(runner) if self.by_epoch else runner.iter, self.add_graph_schedule):
            return
        inputs = runner.data_batch.get(self.img_key)
        if inputs is not None:
            self.writer.add_graph(unwrap_model(runner.model), inputs[:1])

    def _upload(self, runner: BaseRunner, name: str, step: int) -> None:
        path = os.path.join(runner.work_dir or "", name)
        if runner.rank == 0 and self.writer is not None and os.path.isfile(path):
            self.writer.add_snapshot_file(tag=self.run_name, snapshot_file_path=path, iteration=step)

    def after_train_iter(self, runner: BaseRunner) -> None:
        super().after_train_iter(runner)  # logs first; checkpoint hooks (higher priority) saved already
        step = self.get_iter(runner)
        if self.add_ckpt and not self.by_epoch and self._due(step, self.add_ckpt_schedule):
            self._upload(runner, f"iter_{step}.pth", step)

    def after_train_epoch(self, runner: BaseRunner) -> None:
        super().after_train_epoch(runner)
        step = self.get_epoch(runner)
        if self.add_ckpt and self.by_epoch and self._due(step, self.add_ckpt_schedule):
            self._upload(runner, f"epoch_{step}.pth", step)

    def write(self, runner: BaseRunner, tags: dict[str, Any]) -> None:
        plain = {name.split("/", 1)[1] if name.startswith(("train/", "val/")) else name: v for name, v in tags.items()}
        mode = self.get_mode(runner)
        step = self.get_epoch(runner) if mode == "val" and self.by_epoch else self.get_iter(runner)
        self.writer.add_scalars(mode, plain, step)

    def finish(self, runner: BaseRunner) -> None:
        if not self.add_last_ckpt or self.writer is None or runner.work_dir is None:
            return
        latest = ckpt_io.find_latest(runner.work_dir)
        if latest is not None:
            iteration = runner.epoch if self.by_epoch else runner.iter
            self.writer.add_snapshot_file(tag=self.run_name, snapshot_file_path=latest, iteration=iteration)
