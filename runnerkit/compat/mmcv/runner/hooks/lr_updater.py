"""mmcv 1.x's learning-rate schedule hooks (runnerkit's) and annealing functions."""

from __future__ import annotations

from runnerkit.hooks._schedule import (
    annealing_cos,
    annealing_linear,
    position_from_periods,
)
from runnerkit.hooks._schedule_checks import (
    format_param,
)
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

__all__ = [
    "CosineAnnealingLrUpdaterHook",
    "CosineRestartLrUpdaterHook",
    "CyclicLrUpdaterHook",
    "ExpLrUpdaterHook",
    "FixedLrUpdaterHook",
    "FlatCosineAnnealingLrUpdaterHook",
    "InvLrUpdaterHook",
    "LinearAnnealingLrUpdaterHook",
    "LrUpdaterHook",
    "OneCycleLrUpdaterHook",
    "PolyLrUpdaterHook",
    "StepLrUpdaterHook",
    "annealing_cos",
    "annealing_linear",
    "format_param",
    "get_position_from_periods",
]


def get_position_from_periods(iteration: int, cumulative_periods: list[int]) -> int:
    """The index of the first of ``cumulative_periods`` that ``iteration`` has not reached (mmcv).

    Raises:
        ValueError: ``iteration`` is past the last period.
    """
    return position_from_periods(iteration, cumulative_periods, "get_position_from_periods")
