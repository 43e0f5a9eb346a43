"""``MlflowLoggerHook``: log to MLflow (mmcv 1.x name and arguments)."""

from __future__ import annotations

import contextlib
import importlib
import inspect
from collections.abc import Mapping
from types import ModuleType
from typing import TYPE_CHECKING, Any

import torch

from runnerkit._errors import ConfigError
from runnerkit.dist import unwrap_model
from runnerkit.hooks.trackers._base import TrackerHook
from runnerkit.requires import Requirement

if TYPE_CHECKING:
    from runnerkit.runners.base import BaseRunner

__all__ = ["MlflowLoggerHook"]


class MlflowLoggerHook(TrackerHook):
    """Log the averaged values as MLflow metrics every ``interval`` iterations (rank 0 only).

    Needs ``pip install mlflow`` (``mlflow-skinny`` is enough without ``log_model``, which needs
    ``mlflow.pytorch`` and so pandas); the client is imported when the run starts. The tracking
    store is MLflow's own setting: ``MLFLOW_TRACKING_URI`` (or ``mlflow.set_tracking_uri``), else
    MLflow's default, which depends on its version (a SQLite file ``./mlflow.db`` in current
    MLflow, which needs the full ``mlflow`` package; ``./mlruns`` in MLflow 2). Current MLflow
    refuses a ``file:`` store unless ``MLFLOW_ALLOW_FILE_STORE=true``. A store that cannot be
    opened, or ``log_model`` without ``mlflow.pytorch``, is refused before training, with the fix.
    When no MLflow run is active the hook starts one and ends it at the end of training. The model
    is logged in the ``pickle`` format (any model; current MLflow's default ``pt2`` needs an input
    example); if logging it fails, a warning says why and the run still ends normally.

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
        name = type(self).__name__
        if self.log_model:
            try:
                self.mlflow_pytorch = importlib.import_module("mlflow.pytorch")
            except ImportError as err:
                raise ConfigError(
                    f"{name}(log_model=True) logs the model with `mlflow.pytorch`, which could not be imported "
                    f"({err}); install the full client (`pip install mlflow`), or set `log_model=False`."
                ) from err
        else:  # mmcv sets it in any case; an mlflow whose pytorch flavour cannot load is fine without log_model
            with contextlib.suppress(ImportError):
                self.mlflow_pytorch = importlib.import_module("mlflow.pytorch")
        try:
            if self.exp_name is not None:
                client.set_experiment(self.exp_name)
            if client.active_run() is None:
                client.start_run()
                self._own_run = True
        except Exception as err:  # the store: a missing backend, a refused file store, a server that is down
            uri = client.get_tracking_uri()
            raise ConfigError(
                f"{name} cannot open the MLflow tracking store `{uri}`: {type(err).__name__}: {str(err).strip()} "
                "Set `MLFLOW_TRACKING_URI` to a store the installed MLflow can use (a tracking server `http://HOST:PORT`, "
                "or `file:./mlruns` with `MLFLOW_ALLOW_FILE_STORE=true`), or install the full `mlflow` package for "
                "its default SQLite store."
            ) from err
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
            try:
                where, how = self._model_location()
                self.mlflow_pytorch.log_model(unwrap_model(runner.model), *where, **how,
                                              pip_requirements=[f"torch=={torch.__version__}"])
            except Exception as err:  # training is over and its checkpoints are saved: say so, and end the run
                runner.logger.warning(
                    "%s could not log the model to MLflow (%s: %s); the metrics are logged and the checkpoints are in "
                    "the work dir. Set `log_model=False` to skip it.", type(self).__name__, type(err).__name__,
                    str(err).strip())
        if self._own_run:
            self.mlflow.end_run()
            self._own_run = False

    def _model_location(self) -> tuple[tuple[str, ...], dict[str, Any]]:
        """``log_model``'s arguments after the model that name and format it, as the installed MLflow spells them.

        MLflow 3 names it ``name`` (``artifact_path`` is deprecated) and defaults to the ``pt2`` format,
        which needs an input example; ``pickle`` logs any model, as MLflow 2 did. MLflow 2 takes the
        name as its second positional argument (``artifact_path``), as mmcv passes it.
        """
        params = inspect.signature(self.mlflow_pytorch.log_model).parameters
        if "name" in params:
            where: tuple[str, ...] = ()
            how: dict[str, Any] = {"name": "models"}
        else:
            where, how = ("models",), {}
        if "serialization_format" in params:
            how["serialization_format"] = "pickle"
        return where, how
