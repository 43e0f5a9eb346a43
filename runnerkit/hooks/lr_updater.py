"""Learning-rate schedule hooks with mmcv 1.x's semantics, arguments and ``lr_config`` shapes.

``lr_config=dict(policy="step", step=[8, 11], warmup="linear", warmup_iters=500)`` becomes a
:class:`StepLrUpdaterHook` through :func:`runnerkit.runners.defaults.lr_hook_cfg`; every hook here is also a component of the
``runnerkit.hooks`` entry-point group, so configs can name it by ``type``. The hooks run at priority
``VERY_HIGH`` (before the momentum hooks, at ``HIGH``).

Example:
    >>> runner.register_hook(StepLrUpdaterHook(step=[2, 3]))  # doctest: +SKIP
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
    position_from_periods,
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
from runnerkit.hooks.hook import NEVER

if TYPE_CHECKING:
    from runnerkit.runners.base import BaseRunner

__all__ = [
    "CosineAnnealingLrUpdaterHook", "CosineRestartLrUpdaterHook", "CyclicLrUpdaterHook", "ExpLrUpdaterHook",
    "FixedLrUpdaterHook", "FlatCosineAnnealingLrUpdaterHook", "InvLrUpdaterHook", "LinearAnnealingLrUpdaterHook",
    "LrUpdaterHook", "OneCycleLrUpdaterHook", "PolyLrUpdaterHook", "StepLrUpdaterHook",
]


class LrUpdaterHook(ParamScheduleHook):
    """Base of the lr schedules (mmcv 1.x ``LrUpdaterHook``); subclasses define :meth:`get_lr`.

    ``before_run`` records each param group's ``initial_lr`` (kept when the group already has one,
    as after a resume) as the base lr. With ``by_epoch=True`` the lr is set before each epoch and the
    warm-up, if any, before each of the first ``warmup_iters`` iterations; with ``by_epoch=False``
    the lr is set before every iteration.

    Warm-up at iteration ``i`` of ``n`` with ratio ``r`` scales the regular lr by ``r``
    (``constant``), ``1 - (1 - i / n) * (1 - r)`` (``linear``) or ``r ** (1 - i / n)`` (``exp``).

    Args:
        by_epoch: set the lr per epoch (True) or per iteration (False).
        warmup: None, ``"constant"``, ``"linear"`` or ``"exp"``.
        warmup_iters: iterations of warm-up (epochs when ``warmup_by_epoch``); positive with a warm-up.
        warmup_ratio: the lr at the start of warm-up is ``warmup_ratio`` times the regular lr; in (0, 1].
        warmup_by_epoch: count ``warmup_iters`` in epochs.
    """

    priority: ClassVar[int | str] = "VERY_HIGH"
    value_name: ClassVar[str] = "lr"
    initial_key: ClassVar[str] = "initial_lr"

    def __init__(self, by_epoch: bool = True, warmup: Warmup | None = None, warmup_iters: NonNegativeInt = 0,
                 warmup_ratio: WarmupRatio = 0.1, warmup_by_epoch: bool = False) -> None:
        super().__init__(by_epoch, warmup, warmup_iters, warmup_ratio, warmup_by_epoch)

    def get_lr(self, runner: BaseRunner, base_lr: float) -> float:
        """The lr of a param group whose initial lr is ``base_lr`` at the runner's progress."""
        raise NotImplementedError(f"`{type(self).__name__}` must define `get_lr(runner, base_lr)`.")

    def scheduled_value(self, runner: BaseRunner, base: float) -> float:
        return self.get_lr(runner, base)

    def _warmup(self, regular: float, factor: float) -> float:
        return regular * factor

    def _read(self, group: dict[str, Any]) -> float:
        return read_value(group["lr"])

    def _write(self, group: dict[str, Any], value: float) -> None:
        write_value(group, "lr", value)

    # mmcv's names, for hooks ported from mmcv that subclass this one.
    @property
    def base_lr(self) -> Values:
        """The initial lr of every param group (mmcv's name for :attr:`base_values`)."""
        return self.base_values

    @base_lr.setter
    def base_lr(self, values: Values) -> None:
        self.base_values = values

    @property
    def regular_lr(self) -> Values:
        """The lr without warm-up, as last computed (mmcv's name for :attr:`regular_values`)."""
        return self.regular_values

    @regular_lr.setter
    def regular_lr(self, values: Values) -> None:
        self.regular_values = values

    def get_regular_lr(self, runner: BaseRunner) -> Values:
        """The lr of every param group without warm-up."""
        return self.get_regular_values(runner)

    def get_warmup_lr(self, cur_iters: int) -> Values:
        """The warmed-up :attr:`regular_lr` at iteration ``cur_iters``."""
        return self.get_warmup_values(cur_iters)


class FixedLrUpdaterHook(LrUpdaterHook):
    """A constant lr (``policy="fixed"``), useful with a warm-up.

    Example:
        >>> hook = FixedLrUpdaterHook(by_epoch=False, warmup="linear", warmup_iters=100)
    """

    def get_lr(self, runner: BaseRunner, base_lr: float) -> float:
        return base_lr

    def next_change(self, it: int) -> int:
        return NEVER if type(self).get_lr is FixedLrUpdaterHook.get_lr else it + 1


class StepLrUpdaterHook(LrUpdaterHook):
    """``lr = base_lr * gamma ** k`` after ``k`` steps, floored at ``min_lr`` (``policy="step"``).

    Args:
        step: decay every ``step`` epochs (iterations when ``by_epoch=False``), or at each of an
            increasing list of epochs (iterations).
        gamma: the decay factor.
        min_lr: the lr never goes below it (None: no floor).
        **kwargs: the arguments of :class:`LrUpdaterHook` (``by_epoch``, warm-up).

    Example:
        >>> hook = StepLrUpdaterHook(step=[8, 11], warmup="linear", warmup_iters=500)
    """

    def __init__(self, step: int | list[int], gamma: float = 0.1, min_lr: float | None = None, **kwargs: Any) -> None:
        owner = type(self).__name__
        self.step = check_step(step, owner, "lr")
        self.gamma = check_number(gamma, "gamma", owner)
        self.min_lr = None if min_lr is None else check_number(min_lr, "min_lr", owner)
        super().__init__(**kwargs)

    def get_lr(self, runner: BaseRunner, base_lr: float) -> float:
        lr = base_lr * self.gamma ** step_exponent(self.progress(runner), self.step)
        return lr if self.min_lr is None else max(lr, self.min_lr)

    def next_change(self, it: int) -> int:
        return next_step_change(it, self.step) if type(self).get_lr is StepLrUpdaterHook.get_lr else it + 1


class ExpLrUpdaterHook(LrUpdaterHook):
    """``lr = base_lr * gamma ** progress`` (``policy="exp"``).

    Args:
        gamma: the factor per epoch (per iteration when ``by_epoch=False``).
        **kwargs: the arguments of :class:`LrUpdaterHook`.
    """

    def __init__(self, gamma: float, **kwargs: Any) -> None:
        self.gamma = check_number(gamma, "gamma", type(self).__name__)
        super().__init__(**kwargs)

    def get_lr(self, runner: BaseRunner, base_lr: float) -> float:
        return base_lr * self.gamma ** self.progress(runner)


class PolyLrUpdaterHook(LrUpdaterHook):
    """``lr = (base_lr - min_lr) * (1 - progress / max_progress) ** power + min_lr`` (``policy="poly"``).

    Args:
        power: the polynomial's power.
        min_lr: the lr at the end of training.
        **kwargs: the arguments of :class:`LrUpdaterHook`.
    """

    def __init__(self, power: float = 1.0, min_lr: float = 0.0, **kwargs: Any) -> None:
        owner = type(self).__name__
        self.power = check_number(power, "power", owner)
        self.min_lr = check_number(min_lr, "min_lr", owner)
        super().__init__(**kwargs)

    def get_lr(self, runner: BaseRunner, base_lr: float) -> float:
        progress, total = self.progress_and_total(runner)
        coeff: float = (1 - progress / total) ** self.power
        return (base_lr - self.min_lr) * coeff + self.min_lr


class InvLrUpdaterHook(LrUpdaterHook):
    """``lr = base_lr * (1 + gamma * progress) ** -power`` (``policy="inv"``).

    Args:
        gamma: the rate of decay.
        power: the power of decay.
        **kwargs: the arguments of :class:`LrUpdaterHook`.
    """

    def __init__(self, gamma: float, power: float = 1.0, **kwargs: Any) -> None:
        owner = type(self).__name__
        self.gamma = check_number(gamma, "gamma", owner)
        self.power = check_number(power, "power", owner)
        super().__init__(**kwargs)

    def get_lr(self, runner: BaseRunner, base_lr: float) -> float:
        decay: float = (1 + self.gamma * self.progress(runner)) ** (-self.power)
        return base_lr * decay


class _TargetLrMixin:
    """The final lr given as ``min_lr`` or as ``min_lr_ratio`` of the base lr (exactly one)."""

    min_lr: float | None
    min_lr_ratio: float | None

    def _set_target(self, min_lr: float | None, min_lr_ratio: float | None) -> None:
        check_min_pair(min_lr, min_lr_ratio, ("min_lr", "min_lr_ratio"), type(self).__name__)
        self.min_lr = min_lr
        self.min_lr_ratio = min_lr_ratio

    def target_lr(self, base_lr: float) -> float:
        """The lr at the end of the annealing."""
        if self.min_lr_ratio is not None:
            return base_lr * self.min_lr_ratio
        assert self.min_lr is not None
        return self.min_lr


class CosineAnnealingLrUpdaterHook(_TargetLrMixin, LrUpdaterHook):
    """Cosine annealing from the base lr to the target over training (``policy="CosineAnnealing"``).

    Args:
        min_lr: the final lr.
        min_lr_ratio: the final lr as a fraction of the base lr (give this or ``min_lr``).
        **kwargs: the arguments of :class:`LrUpdaterHook`.

    Example:
        >>> hook = CosineAnnealingLrUpdaterHook(min_lr_ratio=1e-3, by_epoch=False)
    """

    def __init__(self, min_lr: float | None = None, min_lr_ratio: float | None = None, **kwargs: Any) -> None:
        self._set_target(min_lr, min_lr_ratio)
        super().__init__(**kwargs)

    def get_lr(self, runner: BaseRunner, base_lr: float) -> float:
        progress, total = self.progress_and_total(runner)
        return annealing_cos(base_lr, self.target_lr(base_lr), progress / total)


class FlatCosineAnnealingLrUpdaterHook(_TargetLrMixin, LrUpdaterHook):
    """The base lr until ``start_percent`` of training, then cosine annealing (``policy="FlatCosineAnnealing"``).

    Args:
        start_percent: where the annealing starts, as a fraction of training, in [0, 1].
        min_lr: the final lr.
        min_lr_ratio: the final lr as a fraction of the base lr (give this or ``min_lr``).
        **kwargs: the arguments of :class:`LrUpdaterHook`.
    """

    def __init__(self, start_percent: float = 0.75, min_lr: float | None = None,
                 min_lr_ratio: float | None = None, **kwargs: Any) -> None:
        self.start_percent = check_range(start_percent, "start_percent", type(self).__name__, 0, 1)
        self._set_target(min_lr, min_lr_ratio)
        super().__init__(**kwargs)

    def get_lr(self, runner: BaseRunner, base_lr: float) -> float:
        progress, total = self.progress_and_total(runner)
        start = round(total * self.start_percent)
        if progress - start < 0:
            return base_lr
        return annealing_cos(base_lr, self.target_lr(base_lr), (progress - start) / (total - start))


class CosineRestartLrUpdaterHook(_TargetLrMixin, LrUpdaterHook):
    """Cosine annealing restarted at the end of each period (``policy="CosineRestart"``).

    Each period starts from ``weight * base_lr + (1 - weight) * target`` and anneals to the target.

    Args:
        periods: the length of each period in epochs (iterations when ``by_epoch=False``); their sum
            must cover training.
        restart_weights: the weight of each period's start, one per period (None: all 1; mmcv's
            default ``[1]`` fits a single period only).
        min_lr: the final lr.
        min_lr_ratio: the final lr as a fraction of the base lr (give this or ``min_lr``).
        **kwargs: the arguments of :class:`LrUpdaterHook`.
    """

    def __init__(self, periods: list[int], restart_weights: list[float] | None = None,
                 min_lr: float | None = None, min_lr_ratio: float | None = None, **kwargs: Any) -> None:
        owner = type(self).__name__
        if not isinstance(periods, (list, tuple)) or not periods:
            raise TypeError(f"`{owner}` got periods={periods!r}; expected a list of positive ints.")
        self.periods = [check_positive_int(p, "periods[]", owner) for p in periods]
        weights = [1.0] * len(self.periods) if restart_weights is None else restart_weights
        if not isinstance(weights, (list, tuple)) or len(weights) != len(self.periods):
            raise ValueError(
                f"`{owner}` got {len(self.periods)} periods but restart_weights={weights!r}; give one weight "
                f"per period."
            )
        self.restart_weights = [check_number(w, "restart_weights[]", owner) for w in weights]
        self._set_target(min_lr, min_lr_ratio)
        super().__init__(**kwargs)
        self.cumulative_periods = [sum(self.periods[: i + 1]) for i in range(len(self.periods))]

    def get_lr(self, runner: BaseRunner, base_lr: float) -> float:
        progress = self.progress(runner)
        idx = position_from_periods(progress, self.cumulative_periods, type(self).__name__)
        nearest_restart = 0 if idx == 0 else self.cumulative_periods[idx - 1]
        alpha = min((progress - nearest_restart) / self.periods[idx], 1)
        return annealing_cos(base_lr, self.target_lr(base_lr), alpha, self.restart_weights[idx])


class CyclicLrUpdaterHook(LrUpdaterHook):
    """Cyclic lr (https://arxiv.org/abs/1506.01186) with cosine or linear phases (``policy="cyclic"``).

    Each of ``cyclic_times`` cycles anneals from the base lr up to ``target_ratio[0] * base_lr``
    during its first ``step_ratio_up`` and then down to ``target_ratio[1] * base_lr``; with
    ``gamma < 1`` the amplitude shrinks by ``gamma`` each cycle. Iteration-based only.

    Args:
        by_epoch: must be False.
        target_ratio: (peak, final) ratios of the base lr, or a number r for (r, r / 1e5).
        cyclic_times: the number of cycles over ``runner.max_iters``.
        step_ratio_up: the rising fraction of each cycle, in [0, 1).
        anneal_strategy: ``"cos"`` or ``"linear"``.
        gamma: the amplitude's decay per cycle, in (0, 1].
        **kwargs: the warm-up arguments of :class:`LrUpdaterHook`.
    """

    def __init__(self, by_epoch: bool = False, target_ratio: float | tuple[float, ...] = (10, 1e-4),
                 cyclic_times: int = 1, step_ratio_up: float = 0.4, anneal_strategy: str = "cos",
                 gamma: float = 1, **kwargs: Any) -> None:
        owner = type(self).__name__
        check_iteration_based(by_epoch, owner)
        self.target_ratio = check_target_ratio(target_ratio, owner)
        self.cyclic_times = check_positive_int(cyclic_times, "cyclic_times", owner)
        self.step_ratio_up = check_range(step_ratio_up, "step_ratio_up", owner, 0, 1, high_open=True)
        self.gamma = check_range(gamma, "gamma", owner, 0, 1, low_open=True)
        self.anneal_func = anneal_function(anneal_strategy, owner)
        self.max_iter_per_phase = 0
        self.lr_phases: list[CyclicPhase] = []
        super().__init__(by_epoch, **kwargs)

    def before_run(self, runner: BaseRunner) -> None:
        super().before_run(runner)
        _, max_iters = self.progress_and_total(runner)
        self.max_iter_per_phase, self.lr_phases = cyclic_phases(
            max_iters, self.cyclic_times, self.step_ratio_up, self.target_ratio, type(self).__name__
        )

    def get_lr(self, runner: BaseRunner, base_lr: float) -> float:
        return cyclic_value(base_lr, runner.iter, self.max_iter_per_phase, self.lr_phases, self.gamma,
                            self.anneal_func)


class OneCycleLrUpdaterHook(LrUpdaterHook):
    """The one-cycle policy (https://arxiv.org/abs/1708.07120) (``policy="OneCycle"``).

    The lr rises from ``max_lr / div_factor`` to ``max_lr`` over the first ``pct_start`` of
    ``total_steps``, then falls to ``max_lr / div_factor / final_div_factor`` (with ``three_phase``:
    falls back to the start over as many steps, then to the minimum). Iteration-based only.

    Args:
        max_lr: the peak lr: a number, one per param group, or a dict keyed by optimizer name.
        total_steps: the cycle's length (None: ``runner.max_iters``); at least ``max_iters``.
        pct_start: the rising fraction, in [0, 1].
        anneal_strategy: ``"cos"`` or ``"linear"``.
        div_factor: the initial lr is ``max_lr / div_factor``.
        final_div_factor: the final lr is the initial lr divided by this.
        three_phase: use the three-phase variant.
        **kwargs: the warm-up arguments of :class:`LrUpdaterHook` (``by_epoch`` must be False).

    Example:
        >>> hook = OneCycleLrUpdaterHook(max_lr=0.1, pct_start=0.25)
    """

    def __init__(self, max_lr: float | list[float] | dict[str, Any], total_steps: int | None = None,
                 pct_start: float = 0.3, anneal_strategy: str = "cos", div_factor: float = 25,
                 final_div_factor: float = 1e4, three_phase: bool = False, **kwargs: Any) -> None:
        owner = type(self).__name__
        kwargs.setdefault("by_epoch", False)
        check_iteration_based(kwargs["by_epoch"], owner)
        if not isinstance(max_lr, (int, float, list, tuple, dict)) or isinstance(max_lr, bool):
            raise TypeError(
                f"`{owner}` got max_lr={max_lr!r} ({type(max_lr).__name__}); expected a number, a list with one "
                f"value per param group, or a dict keyed by optimizer name."
            )
        self.max_lr = max_lr
        self.total_steps = None if total_steps is None else check_positive_int(total_steps, "total_steps", owner)
        self.pct_start = check_range(pct_start, "pct_start", owner, 0, 1)
        self.anneal_func = anneal_function(anneal_strategy, owner)
        self.div_factor = check_number(div_factor, "div_factor", owner)
        self.final_div_factor = check_number(final_div_factor, "final_div_factor", owner)
        self.three_phase = bool(three_phase)
        #: (end iteration, start factor, end factor) of each phase, factors of the initial lr.
        self.lr_phases: list[tuple[float, float, float]] = []
        super().__init__(**kwargs)

    def before_run(self, runner: BaseRunner) -> None:
        owner = type(self).__name__
        _, max_iters = self.progress_and_total(runner)
        total = self.total_steps if self.total_steps is not None else max_iters
        if total < max_iters:
            raise ValueError(
                f"`{owner}` got total_steps={total}, fewer than the runner's max_iters={max_iters}; give "
                f"total_steps >= {max_iters} or leave it None to use max_iters."
            )

        def record(name: str | None, optimizer: torch.optim.Optimizer) -> list[float]:
            key = name if name is not None else type(optimizer).__name__
            bases = [lr / self.div_factor for lr in format_param(key, optimizer, self.max_lr, "max_lr", owner)]
            for group, lr in zip(optimizer.param_groups, bases):
                group.setdefault("initial_lr", lr)
            return bases

        self.base_values = self._map(runner, record)
        self.regular_values = []
        up_end = float(self.pct_start * total) - 1
        if self.three_phase:
            self.lr_phases = [
                (up_end, 1, self.div_factor),
                (float(2 * self.pct_start * total) - 2, self.div_factor, 1),
                (total - 1, 1, 1 / self.final_div_factor),
            ]
        else:
            self.lr_phases = [(up_end, 1, self.div_factor), (total - 1, self.div_factor, 1 / self.final_div_factor)]

    def get_lr(self, runner: BaseRunner, base_lr: float) -> float:
        phases = [(end, base_lr * start, base_lr * stop) for end, start, stop in self.lr_phases]
        return piecewise_value(runner.iter, phases, self.anneal_func)


class LinearAnnealingLrUpdaterHook(_TargetLrMixin, LrUpdaterHook):
    """Linear annealing from the base lr to the target over training (``policy="LinearAnnealing"``).

    Args:
        min_lr: the final lr.
        min_lr_ratio: the final lr as a fraction of the base lr (give this or ``min_lr``).
        **kwargs: the arguments of :class:`LrUpdaterHook`.
    """

    def __init__(self, min_lr: float | None = None, min_lr_ratio: float | None = None, **kwargs: Any) -> None:
        self._set_target(min_lr, min_lr_ratio)
        super().__init__(**kwargs)

    def get_lr(self, runner: BaseRunner, base_lr: float) -> float:
        progress, total = self.progress_and_total(runner)
        return annealing_linear(base_lr, self.target_lr(base_lr), progress / total)
