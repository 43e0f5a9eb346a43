"""mmcv 1.x's logger hooks, one module per service (as mmcv lays them out)."""

from __future__ import annotations

from runnerkit.compat.mmcv.runner.hooks.logger.base import LoggerHook
from runnerkit.compat.mmcv.runner.hooks.logger.clearml import ClearMLLoggerHook
from runnerkit.compat.mmcv.runner.hooks.logger.dvclive import DvcliveLoggerHook
from runnerkit.compat.mmcv.runner.hooks.logger.mlflow import MlflowLoggerHook
from runnerkit.compat.mmcv.runner.hooks.logger.neptune import NeptuneLoggerHook
from runnerkit.compat.mmcv.runner.hooks.logger.pavi import PaviLoggerHook
from runnerkit.compat.mmcv.runner.hooks.logger.segmind import SegmindLoggerHook
from runnerkit.compat.mmcv.runner.hooks.logger.tensorboard import TensorboardLoggerHook
from runnerkit.compat.mmcv.runner.hooks.logger.text import TextLoggerHook
from runnerkit.compat.mmcv.runner.hooks.logger.wandb import WandbLoggerHook

__all__ = [
    "ClearMLLoggerHook",
    "DvcliveLoggerHook",
    "LoggerHook",
    "MlflowLoggerHook",
    "NeptuneLoggerHook",
    "PaviLoggerHook",
    "SegmindLoggerHook",
    "TensorboardLoggerHook",
    "TextLoggerHook",
    "WandbLoggerHook",
]
