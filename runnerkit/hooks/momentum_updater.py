"""Momentum schedule hooks with mmcv 1.x's semantics, arguments and ``momentum_config`` shapes.

The scheduled value is a param group's ``momentum`` (SGD, RMSprop) or the first of its ``betas``
(Adam-style optimizers). ``momentum_config=dict(policy="cyclic")`` becomes a
:class:`CyclicMomentumUpdaterHook` through :func:`runnerkit.runners.defaults.momentum_hook_cfg`.
The hooks run at priority ``HIGH``, after the lr hooks (``VERY_HIGH``).

Example:
    >>> runner.register_hook(CyclicMomentumUpdaterHook(by_epoch=False))  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import torch
from pydantic import NonNegativeInt

from runnerkit.hooks._schedule import (
    CyclicPhase,
    ParamScheduleHook,
    Values,
    Warmup,
    WarmupRatio,
    anneal_function,
    annealing_cos,
    annealing_linear,
    cyclic_phases,
    cyclic_value,
    next_step_change,
    piecewise_value,
    read_value,
    step_exponent,
    write_value,
)
from runnerkit.hooks._schedule_checks import (
    check_iteration_based,
    check_min_pair,
    check_number,
    check_positive_int,
    check_range,
    check_step,
    check_target_ratio,
    format_param,
)

if TYPE_CHECKING:
    from runnerkit.runners.base import BaseRunner

__all__ = [
    "CosineAnnealingMomentumUpdaterHook", "CyclicMomentumUpdaterHook", "LinearAnnealingMomentumUpdaterHook",
    "MomentumUpdaterHook", "OneCycleMomentumUpdaterHook", "StepMomentumUpdaterHook",
]


class MomentumUpdaterHook(ParamScheduleHook):
    """Base of the momentum schedules (mmcv 1.x ``MomentumUpdaterHook``); subclasses define :meth:`get_momentum`.

    The timing is :class:`~runnerkit.hooks.lr_updater.LrUpdaterHook`'s; ``initial_momentum`` is
    recorded in each param group. Warm-up *divides* the regular momentum by mmcv's factor, so the
    momentum starts at ``regular / warmup_ratio`` and decreases to the regular value.

    Args:
        by_epoch: set the momentum per epoch (True) or per iteration (False).
        warmup: None, ``"constant"``, ``"linear"`` or ``"exp"``.
        warmup_iters: iterations of warm-up (epochs when ``warmup_by_epoch``); positive with a warm-up.
        warmup_ratio: the warm-up starts at ``regular / warmup_ratio``; in (0, 1].
        warmup_by_epoch: count ``warmup_iters`` in epochs (beyond mmcv, whose momentum hooks lack it).
    """

    priority: ClassVar[int | str] = "HIGH"
    value_name: ClassVar[str] = "momentum"
    initial_key: ClassVar[str] = "initial_momentum"

    def __init__(self, by_epoch: bool = True, warmup: Warmup | None = None, warmup_iters: NonNegativeInt = 0,
                 warmup_ratio: WarmupRatio = 0.9, warmup_by_epoch: bool = False) -> None:
        super().__init__(by_epoch, warmup, warmup_iters, warmup_ratio, warmup_by_epoch)

    def get_momentum(self, runner: BaseRunner, base_momentum: float) -> float:
        """The momentum of a param group whose initial momentum is ``base_momentum``."""
        raise NotImplementedError(f"`{type(self).__name__}` must define `get_momentum(runner, base_momentum)`.")

    def scheduled_value(self, runner: BaseRunner, base: float) -> float:
        return self.get_momentum(runner, base)

    def _warmup(self, regular: float, factor: float) -> float:
        return regular / factor

    def _read(self, group: dict[str, Any]) -> float:
        if "momentum" in group:
            return read_value(group["momentum"])
        if "betas" in group:
            return read_value(group["betas"][0])
        raise ValueError(
            f"`{type(self).__name__}` schedules momentum, but a param group has neither `momentum` (SGD, "
            f"RMSprop) nor `betas` (Adam-style optimizers); use such an optimizer or remove `momentum_config`."
        )

    def _write(self, group: dict[str, Any], value: float) -> None:
        if "momentum" in group:
            write_value(group, "momentum", value)
        elif "betas" in group:
            beta1, beta2 = group["betas"]
            if isinstance(beta1, torch.Tensor):
                beta1.fill_(value)
            else:
                group["betas"] = (value, beta2)

    # mmcv's names, for hooks ported from mmcv that subclass this one.
    @property
    def base_momentum(self) -> Values:
        """The initial momentum of every param group (mmcv's name for :attr:`base_values`)."""
        return self.base_values

    @base_momentum.setter
    def base_momentum(self, values: Values) -> None:
        self.base_values = values

    @property
    def regular_momentum(self) -> Values:
        """The momentum without warm-up, as last computed (mmcv's name for :attr:`regular_values`)."""
        return self.regular_values

    @regular_momentum.setter
    def regular_momentum(self, values: Values) -> None:
        self.regular_values = values

    def get_regular_momentum(self, runner: BaseRunner) -> Values:
        """The momentum of every param group without warm-up."""
        return self.get_regular_values(runner)

    def get_warmup_momentum(self, cur_iters: int) -> Values:
        """The warmed-up :attr:`regular_momentum` at iteration ``cur_iters``."""
        return self.get_warmup_values(cur_iters)


class StepMomentumUpdaterHook(MomentumUpdaterHook):
    """``momentum = base * gamma ** k`` after ``k`` steps, floored at ``min_momentum`` (``policy="step"``).

    Args:
        step: decay every ``step`` epochs (iterations when ``by_epoch=False``), or at each of an
            increasing list of epochs (iterations).
        gamma: the decay factor.
        min_momentum: the momentum never goes below it (None: no floor).
        **kwargs: the arguments of :class:`MomentumUpdaterHook`.
    """

    def __init__(self, step: int | list[int], gamma: float = 0.5, min_momentum: float | None = None,
                 **kwargs: Any) -> None:
        owner = type(self).__name__
        self.step = check_step(step, owner, "momentum")
        self.gamma = check_number(gamma, "gamma", owner)
        self.min_momentum = None if min_momentum is None else check_number(min_momentum, "min_momentum", owner)
        super().__init__(**kwargs)

    def get_momentum(self, runner: BaseRunner, base_momentum: float) -> float:
        momentum = base_momentum * self.gamma ** step_exponent(self.progress(runner), self.step)
        return momentum if self.min_momentum is None else max(momentum, self.min_momentum)

    def next_change(self, it: int) -> int:
        return next_step_change(it, self.step) if type(self).get_momentum is StepMomentumUpdaterHook.get_momentum else it + 1


class _TargetMomentumMixin:
    """The final momentum given as ``min_momentum`` or as ``min_momentum_ratio`` of the base (exactly one)."""

    min_momentum: float | None
    min_momentum_ratio: float | None

    def _set_target(self, min_momentum: float | None, min_momentum_ratio: float | None) -> None:
        check_min_pair(min_momentum, min_momentum_ratio, ("min_momentum", "min_momentum_ratio"), type(self).__name__)
        self.min_momentum = min_momentum
        self.min_momentum_ratio = min_momentum_ratio

    def target_momentum(self, base_momentum: float) -> float:
        """The momentum at the end of the annealing."""
        if self.min_momentum_ratio is not None:
            return base_momentum * self.min_momentum_ratio
        assert self.min_momentum is not None
        return self.min_momentum


class _AnnealingMomentumUpdaterHook(_TargetMomentumMixin, MomentumUpdaterHook):
    """Anneals the momentum from its base value to a target over training (shared by the two below)."""

    def __init__(self, min_momentum: float | None = None, min_momentum_ratio: float | None = None,
                 **kwargs: Any) -> None:
        self._set_target(min_momentum, min_momentum_ratio)
        super().__init__(**kwargs)

    @staticmethod
    def anneal(start: float, end: float, factor: float) -> float:
        raise NotImplementedError

    def get_momentum(self, runner: BaseRunner, base_momentum: float) -> float:
        progress, total = self.progress_and_total(runner)
        return self.anneal(base_momentum, self.target_momentum(base_momentum), progress / total)


class CosineAnnealingMomentumUpdaterHook(_AnnealingMomentumUpdaterHook):
    """Cosine annealing of the momentum over training (``policy="CosineAnnealing"``).

    Args:
        min_momentum: the final momentum.
        min_momentum_ratio: the final momentum as a fraction of the base (give this or ``min_momentum``).
        **kwargs: the arguments of :class:`MomentumUpdaterHook`.
    """

    anneal = staticmethod(annealing_cos)


class LinearAnnealingMomentumUpdaterHook(_AnnealingMomentumUpdaterHook):
    """Linear annealing of the momentum over training (``policy="LinearAnnealing"``).

    Args:
        min_momentum: the final momentum.
        min_momentum_ratio: the final momentum as a fraction of the base (give this or ``min_momentum``).
        **kwargs: the arguments of :class:`MomentumUpdaterHook`.
    """

    anneal = staticmethod(annealing_linear)


class CyclicMomentumUpdaterHook(MomentumUpdaterHook):
    """Cyclic momentum (https://arxiv.org/abs/1708.07120), the twin of the cyclic lr (``policy="cyclic"``).

    Each cycle anneals from the base momentum to ``target_ratio[0] * base`` during its first
    ``step_ratio_up``, then to ``target_ratio[1] * base``. Iteration-based only.

    Args:
        by_epoch: must be False.
        target_ratio: (first, final) ratios of the base momentum, or a number r for (r, r / 1e5).
        cyclic_times: the number of cycles over ``runner.max_iters``.
        step_ratio_up: the first phase's fraction of each cycle, in [0, 1).
        anneal_strategy: ``"cos"`` or ``"linear"``.
        gamma: the amplitude's decay per cycle, in (0, 1].
        **kwargs: the warm-up arguments of :class:`MomentumUpdaterHook`.
    """

    def __init__(self, by_epoch: bool = False, target_ratio: float | tuple[float, ...] = (0.85 / 0.95, 1.0),
                 cyclic_times: int = 1, step_ratio_up: float = 0.4, anneal_strategy: str = "cos",
                 gamma: float = 1.0, **kwargs: Any) -> None:
        owner = type(self).__name__
        check_iteration_based(by_epoch, owner)
        self.target_ratio = check_target_ratio(target_ratio, owner)
        self.cyclic_times = check_positive_int(cyclic_times, "cyclic_times", owner)
        self.step_ratio_up = check_range(step_ratio_up, "step_ratio_up", owner, 0, 1, high_open=True)
        self.gamma = check_range(gamma, "gamma", owner, 0, 1, low_open=True)
        self.anneal_func = anneal_function(anneal_strategy, owner)
        self.max_iter_per_phase = 0
        self.momentum_phases: list[CyclicPhase] = []
        super().__init__(by_epoch, **kwargs)

    def before_run(self, runner: BaseRunner) -> None:
        super().before_run(runner)
        _, max_iters = self.progress_and_total(runner)
        self.max_iter_per_phase, self.momentum_phases = cyclic_phases(
            max_iters, self.cyclic_times, self.step_ratio_up, self.target_ratio, type(self).__name__
        )

    def get_momentum(self, runner: BaseRunner, base_momentum: float) -> float:
        return cyclic_value(base_momentum, runner.iter, self.max_iter_per_phase, self.momentum_phases, self.gamma,
                            self.anneal_func)


class OneCycleMomentumUpdaterHook(MomentumUpdaterHook):
    """The momentum of the one-cycle policy, cycled inversely to the lr (``policy="OneCycle"``).

    ``before_run`` sets every param group's momentum to ``max_momentum`` and stores
    ``base_momentum``/``max_momentum`` in the group; the momentum then falls to ``base_momentum`` over
    the first ``pct_start`` of ``runner.max_iters`` and rises back (with ``three_phase``: falls,
    rises over as many steps, then stays). Iteration-based only.

    Args:
        base_momentum: the lowest momentum: a number, one per param group, or a dict by optimizer name.
        max_momentum: the highest momentum, in the same forms.
        pct_start: the falling fraction, in [0, 1].
        anneal_strategy: ``"cos"`` or ``"linear"``.
        three_phase: use the three-phase variant.
        **kwargs: the warm-up arguments of :class:`MomentumUpdaterHook` (``by_epoch`` must be False).
    """

    def __init__(self, base_momentum: float | list[float] | dict[str, Any] = 0.85,
                 max_momentum: float | list[float] | dict[str, Any] = 0.95, pct_start: float = 0.3,
                 anneal_strategy: str = "cos", three_phase: bool = False, **kwargs: Any) -> None:
        owner = type(self).__name__
        kwargs.setdefault("by_epoch", False)
        check_iteration_based(kwargs["by_epoch"], owner)
        for name, value in (("base_momentum", base_momentum), ("max_momentum", max_momentum)):
            if not isinstance(value, (int, float, list, tuple, dict)) or isinstance(value, bool):
                raise TypeError(
                    f"`{owner}` got {name}={value!r} ({type(value).__name__}); expected a number, a list with one "
                    f"value per param group, or a dict keyed by optimizer name."
                )
        self._base_momentum = base_momentum
        self._max_momentum = max_momentum
        self.pct_start = check_range(pct_start, "pct_start", owner, 0, 1)
        self.anneal_func = anneal_function(anneal_strategy, owner)
        self.three_phase = bool(three_phase)
        #: (end iteration, param-group key of the start value, key of the end value) of each phase.
        self.momentum_phases: list[tuple[float, str, str]] = []
        super().__init__(**kwargs)

    def before_run(self, runner: BaseRunner) -> None:
        owner = type(self).__name__
        _, max_iters = self.progress_and_total(runner)

        def setup(name: str | None, optimizer: torch.optim.Optimizer) -> list[float]:
            key = name if name is not None else type(optimizer).__name__
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError(
                    f"`{owner}` schedules momentum, but optimizer `{key}` ({type(optimizer).__name__}) has neither "
                    f"`momentum` nor `betas`; use an optimizer with momentum or remove `momentum_config`."
                )
            lows = format_param(key, optimizer, self._base_momentum, "base_momentum", owner)
            highs = format_param(key, optimizer, self._max_momentum, "max_momentum", owner)
            for group, low, high in zip(optimizer.param_groups, lows, highs):
                self._write(group, high)
                group["base_momentum"] = low
                group["max_momentum"] = high
            return highs

        self.base_values = self._map(runner, setup)
        self.regular_values = []
        down_end = float(self.pct_start * max_iters) - 1
        if self.three_phase:
            self.momentum_phases = [
                (down_end, "max_momentum", "base_momentum"),
                (float(2 * self.pct_start * max_iters) - 2, "base_momentum", "max_momentum"),
                (max_iters - 1, "max_momentum", "max_momentum"),
            ]
        else:
            self.momentum_phases = [(down_end, "max_momentum", "base_momentum"),
                                    (max_iters - 1, "base_momentum", "max_momentum")]

    def get_momentum(self, runner: BaseRunner, param_group: Any) -> float:
        """The momentum of ``param_group`` (mmcv passes the group, not a base value, here)."""
        phases = [(end, param_group[start], param_group[stop]) for end, start, stop in self.momentum_phases]
        return piecewise_value(runner.iter, phases, self.anneal_func)

    def get_regular_values(self, runner: BaseRunner) -> Values:
        def per_group(_name: str | None, optimizer: torch.optim.Optimizer) -> list[float]:
            return [self.get_momentum(runner, group) for group in optimizer.param_groups]

        return self._map(runner, per_group)
