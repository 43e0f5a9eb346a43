"""``MlflowLoggerHook``: log to MLflow (mmcv 1.x name and arguments)."""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Mapping
from types import ModuleType
from typing import TYPE_CHECKING, Any

import torch

from runnerkit.dist import unwrap_model
from runnerkit.hooks.trackers._base import TrackerHook, import_client
from runnerkit.requires import Requirement

if TYPE_CHECKING:
    from runnerkit.runners.base import BaseRunner

__all__ = ["MlflowLoggerHook"]


class MlflowLoggerHook(TrackerHook):
    """Log the averaged values as MLflow metrics every ``interval`` iterations (rank 0 only).

    Needs ``pip install mlflow`` (``mlflow-skinny`` is enough); the client is imported when the
    run starts. The tracking store is MLflow's own setting (``MLFLOW_TRACKING_URI``, a local
    ``./mlruns`` by default). When no MLflow run is active the hook starts one and ends it at
    the end of training.

    Args:
        exp_name: the experiment (``mlflow.set_experiment``).
        tags: run tags (``mlflow.set_tags``).
        params: run parameters (``mlflow.log_params``).
        log_model: at the end, log the model with ``mlflow.pytorch.log_model``.
        interval, ignore_last, reset_flag, by_epoch: see :class:`~runnerkit.hooks.logger_base.LoggerHook`.

    Example:
        >>> hook = MlflowLoggerHook(exp_name="demo", params=dict(lr=0.1), log_model=False)
    """

    requires = (Requirement("mlflow"),)

    def __init__(
        self,
        exp_name: str | None = None,
        tags: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        log_model: bool = True,
        interval: int = 10,
        ignore_last: bool = True,
        reset_flag: bool = False,
        by_epoch: bool = True,
    ) -> None:
        super().__init__(interval, ignore_last, reset_flag, by_epoch)
        self.exp_name = exp_name
        self.tags = dict(tags) if tags is not None else None
        self.params = dict(params) if params is not None else None
        self.log_model = log_model
        self.mlflow: Any = None
        self.mlflow_pytorch: Any = None
        self._own_run = False

    def start(self, runner: BaseRunner, client: ModuleType) -> None:
        self.mlflow = client
        if self.log_model:
            self.mlflow_pytorch = import_client("mlflow.pytorch", "mlflow", type(self).__name__)
        else:  # mmcv sets it in any case; an mlflow whose pytorch flavour cannot load is fine without log_model
            with contextlib.suppress(ImportError):
                self.mlflow_pytorch = importlib.import_module("mlflow.pytorch")
        if self.exp_name is not None:
            client.set_experiment(self.exp_name)
        if client.active_run() is None:
            client.start_run()
            self._own_run = True
        if self.tags is not None:
            client.set_tags(self.tags)
        if self.params is not None:
            client.log_params(self.params)

    def write(self, runner: BaseRunner, tags: dict[str, Any]) -> None:
        self.mlflow.log_metrics(tags, step=self.get_iter(runner))

    def finish(self, runner: BaseRunner) -> None:
        if self.mlflow is None:
            return
        if self.log_model:
            self.mlflow_pytorch.log_model(
                unwrap_model(runner.model), "models", pip_requirements=[f"torch=={torch.__version__}"]
            )
        if self._own_run:
            self.mlflow.end_run()
            self._own_run = False
