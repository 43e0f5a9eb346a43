"""Experiment-tracker logger hooks (mmcv 1.x names); each imports its client when the run starts."""

from __future__ import annotations

from runnerkit.hooks.trackers._base import TrackerHook, import_client
from runnerkit.hooks.trackers.clearml_logger import ClearMLLoggerHook
from runnerkit.hooks.trackers.dvclive_logger import DvcliveLoggerHook
from runnerkit.hooks.trackers.mlflow_logger import MlflowLoggerHook
from runnerkit.hooks.trackers.neptune_logger import NeptuneLoggerHook
from runnerkit.hooks.trackers.pavi_logger import PaviLoggerHook
from runnerkit.hooks.trackers.segmind_logger import SegmindLoggerHook
from runnerkit.hooks.trackers.wandb_logger import WandbLoggerHook

__all__ = [
    "ClearMLLoggerHook",
    "DvcliveLoggerHook",
    "MlflowLoggerHook",
    "NeptuneLoggerHook",
    "PaviLoggerHook",
    "SegmindLoggerHook",
    "TrackerHook",
    "WandbLoggerHook",
    "import_client",
]
