"""mmcv 1.x's ``mmcv.runner.hooks``: every hook mmcv registers, as runnerkit components."""

from __future__ import annotations

from runnerkit.compat.mmcv.runner.hooks.checkpoint import CheckpointHook
from runnerkit.compat.mmcv.runner.hooks.closure import ClosureHook
from runnerkit.compat.mmcv.runner.hooks.ema import EMAHook
from runnerkit.compat.mmcv.runner.hooks.evaluation import DistEvalHook, EvalHook
from runnerkit.compat.mmcv.runner.hooks.hook import HOOKS, Hook
from runnerkit.compat.mmcv.runner.hooks.iter_timer import IterTimerHook
from runnerkit.compat.mmcv.runner.hooks.logger import (
    ClearMLLoggerHook,
    DvcliveLoggerHook,
    LoggerHook,
    MlflowLoggerHook,
    NeptuneLoggerHook,
    PaviLoggerHook,
    SegmindLoggerHook,
    TensorboardLoggerHook,
    TextLoggerHook,
    WandbLoggerHook,
)
from runnerkit.compat.mmcv.runner.hooks.lr_updater import (
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
from runnerkit.compat.mmcv.runner.hooks.memory import EmptyCacheHook
from runnerkit.compat.mmcv.runner.hooks.momentum_updater import (
    CosineAnnealingMomentumUpdaterHook,
    CyclicMomentumUpdaterHook,
    LinearAnnealingMomentumUpdaterHook,
    MomentumUpdaterHook,
    OneCycleMomentumUpdaterHook,
    StepMomentumUpdaterHook,
)
from runnerkit.compat.mmcv.runner.hooks.optimizer import (
    Fp16OptimizerHook,
    GradientCumulativeFp16OptimizerHook,
    GradientCumulativeOptimizerHook,
    OptimizerHook,
)
from runnerkit.compat.mmcv.runner.hooks.profiler import ProfilerHook
from runnerkit.compat.mmcv.runner.hooks.sampler_seed import DistSamplerSeedHook
from runnerkit.compat.mmcv.runner.hooks.sync_buffer import SyncBuffersHook

__all__ = [
    "HOOKS",
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
    "ProfilerHook",
    "SegmindLoggerHook",
    "StepLrUpdaterHook",
    "StepMomentumUpdaterHook",
    "SyncBuffersHook",
    "TensorboardLoggerHook",
    "TextLoggerHook",
    "WandbLoggerHook",
]
