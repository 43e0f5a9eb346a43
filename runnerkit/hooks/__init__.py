"""Training hooks: the ``Hook`` base class and every built-in hook.

Every built-in hook is importable from here (``from runnerkit.hooks import CheckpointHook``),
each from its own module on first use, so ``import runnerkit.hooks`` stays cheap. Configs name
them by ``type`` instead (``dict(type="CheckpointHook", interval=1)``); both give the same class.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runnerkit.hooks.checkpoint import CheckpointHook
    from runnerkit.hooks.closure import ClosureHook
    from runnerkit.hooks.early_stopping import EarlyStoppingHook
    from runnerkit.hooks.ema import EMAHook
    from runnerkit.hooks.evaluation import DistEvalHook, EvalHook
    from runnerkit.hooks.hook import Hook, Priority
    from runnerkit.hooks.iter_timer import IterTimerHook
    from runnerkit.hooks.logger_base import LoggerHook
    from runnerkit.hooks.lr_updater import (
        CosineAnnealingLrUpdaterHook,
        CosineRestartLrUpdaterHook,
        CyclicLrUpdaterHook,
        ExpLrUpdaterHook,
        FixedLrUpdaterHook,
        FlatCosineAnnealingLrUpdaterHook,
        InvLrUpdaterHook,
        LinearAnnealingLrUpdaterHook,
        LrUpdaterHook,
        OneCycleLrUpdaterHook,
        PolyLrUpdaterHook,
        StepLrUpdaterHook,
    )
    from runnerkit.hooks.memory import EmptyCacheHook
    from runnerkit.hooks.momentum_updater import (
        CosineAnnealingMomentumUpdaterHook,
        CyclicMomentumUpdaterHook,
        LinearAnnealingMomentumUpdaterHook,
        MomentumUpdaterHook,
        OneCycleMomentumUpdaterHook,
        StepMomentumUpdaterHook,
    )
    from runnerkit.hooks.optimizer import (
        AmpOptimizerHook,
        Fp16OptimizerHook,
        GradientCumulativeFp16OptimizerHook,
        GradientCumulativeOptimizerHook,
        OptimizerHook,
    )
    from runnerkit.hooks.profiler import ProfilerHook
    from runnerkit.hooks.progress_bar import ProgressBarHook
    from runnerkit.hooks.sampler_seed import DistSamplerSeedHook
    from runnerkit.hooks.sync_buffer import SyncBuffersHook
    from runnerkit.hooks.tensorboard_logger import TensorboardLoggerHook
    from runnerkit.hooks.text_logger import TextLoggerHook
    from runnerkit.hooks.trackers.clearml_logger import ClearMLLoggerHook
    from runnerkit.hooks.trackers.dvclive_logger import DvcliveLoggerHook
    from runnerkit.hooks.trackers.mlflow_logger import MlflowLoggerHook
    from runnerkit.hooks.trackers.neptune_logger import NeptuneLoggerHook
    from runnerkit.hooks.trackers.pavi_logger import PaviLoggerHook
    from runnerkit.hooks.trackers.segmind_logger import SegmindLoggerHook
    from runnerkit.hooks.trackers.wandb_logger import WandbLoggerHook

#: name -> the module that defines it
_LAZY = {
    "AmpOptimizerHook": "runnerkit.hooks.optimizer",
    "CheckpointHook": "runnerkit.hooks.checkpoint",
    "ClearMLLoggerHook": "runnerkit.hooks.trackers.clearml_logger",
    "ClosureHook": "runnerkit.hooks.closure",
    "CosineAnnealingLrUpdaterHook": "runnerkit.hooks.lr_updater",
    "CosineAnnealingMomentumUpdaterHook": "runnerkit.hooks.momentum_updater",
    "CosineRestartLrUpdaterHook": "runnerkit.hooks.lr_updater",
    "CyclicLrUpdaterHook": "runnerkit.hooks.lr_updater",
    "CyclicMomentumUpdaterHook": "runnerkit.hooks.momentum_updater",
    "DistEvalHook": "runnerkit.hooks.evaluation",
    "DistSamplerSeedHook": "runnerkit.hooks.sampler_seed",
    "DvcliveLoggerHook": "runnerkit.hooks.trackers.dvclive_logger",
    "EMAHook": "runnerkit.hooks.ema",
    "EarlyStoppingHook": "runnerkit.hooks.early_stopping",
    "EmptyCacheHook": "runnerkit.hooks.memory",
    "EvalHook": "runnerkit.hooks.evaluation",
    "ExpLrUpdaterHook": "runnerkit.hooks.lr_updater",
    "FixedLrUpdaterHook": "runnerkit.hooks.lr_updater",
    "FlatCosineAnnealingLrUpdaterHook": "runnerkit.hooks.lr_updater",
    "Fp16OptimizerHook": "runnerkit.hooks.optimizer",
    "GradientCumulativeFp16OptimizerHook": "runnerkit.hooks.optimizer",
    "GradientCumulativeOptimizerHook": "runnerkit.hooks.optimizer",
    "Hook": "runnerkit.hooks.hook",
    "InvLrUpdaterHook": "runnerkit.hooks.lr_updater",
    "IterTimerHook": "runnerkit.hooks.iter_timer",
    "LinearAnnealingLrUpdaterHook": "runnerkit.hooks.lr_updater",
    "LinearAnnealingMomentumUpdaterHook": "runnerkit.hooks.momentum_updater",
    "LoggerHook": "runnerkit.hooks.logger_base",
    "LrUpdaterHook": "runnerkit.hooks.lr_updater",
    "MlflowLoggerHook": "runnerkit.hooks.trackers.mlflow_logger",
    "MomentumUpdaterHook": "runnerkit.hooks.momentum_updater",
    "NeptuneLoggerHook": "runnerkit.hooks.trackers.neptune_logger",
    "OneCycleLrUpdaterHook": "runnerkit.hooks.lr_updater",
    "OneCycleMomentumUpdaterHook": "runnerkit.hooks.momentum_updater",
    "OptimizerHook": "runnerkit.hooks.optimizer",
    "PaviLoggerHook": "runnerkit.hooks.trackers.pavi_logger",
    "PolyLrUpdaterHook": "runnerkit.hooks.lr_updater",
    "Priority": "runnerkit.hooks.hook",
    "ProfilerHook": "runnerkit.hooks.profiler",
    "ProgressBarHook": "runnerkit.hooks.progress_bar",
    "SegmindLoggerHook": "runnerkit.hooks.trackers.segmind_logger",
    "StepLrUpdaterHook": "runnerkit.hooks.lr_updater",
    "StepMomentumUpdaterHook": "runnerkit.hooks.momentum_updater",
    "SyncBuffersHook": "runnerkit.hooks.sync_buffer",
    "TensorboardLoggerHook": "runnerkit.hooks.tensorboard_logger",
    "TextLoggerHook": "runnerkit.hooks.text_logger",
    "WandbLoggerHook": "runnerkit.hooks.trackers.wandb_logger",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'runnerkit.hooks' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "AmpOptimizerHook",
    "CheckpointHook",
    "ClearMLLoggerHook",
    "ClosureHook",
    "CosineAnnealingLrUpdaterHook",
    "CosineAnnealingMomentumUpdaterHook",
    "CosineRestartLrUpdaterHook",
    "CyclicLrUpdaterHook",
    "CyclicMomentumUpdaterHook",
    "DistEvalHook",
    "DistSamplerSeedHook",
    "DvcliveLoggerHook",
    "EMAHook",
    "EarlyStoppingHook",
    "EmptyCacheHook",
    "EvalHook",
    "ExpLrUpdaterHook",
    "FixedLrUpdaterHook",
    "FlatCosineAnnealingLrUpdaterHook",
    "Fp16OptimizerHook",
    "GradientCumulativeFp16OptimizerHook",
    "GradientCumulativeOptimizerHook",
    "Hook",
    "InvLrUpdaterHook",
    "IterTimerHook",
    "LinearAnnealingLrUpdaterHook",
    "LinearAnnealingMomentumUpdaterHook",
    "LoggerHook",
    "LrUpdaterHook",
    "MlflowLoggerHook",
    "MomentumUpdaterHook",
    "NeptuneLoggerHook",
    "OneCycleLrUpdaterHook",
    "OneCycleMomentumUpdaterHook",
    "OptimizerHook",
    "PaviLoggerHook",
    "PolyLrUpdaterHook",
    "Priority",
    "ProfilerHook",
    "ProgressBarHook",
    "SegmindLoggerHook",
    "StepLrUpdaterHook",
    "StepMomentumUpdaterHook",
    "SyncBuffersHook",
    "TensorboardLoggerHook",
    "TextLoggerHook",
    "WandbLoggerHook",
]
