"""What the lr and momentum schedule hooks share: annealing math and the timing base class (argument checks: ``_schedule_checks``).

The timing is mmcv 1.x's, for both values:

* ``before_run`` records each param group's initial value under ``initial_key`` (``initial_lr``,
  ``initial_momentum``), keeping one that is already there: the optimizer's param groups travel in
  checkpoints, so a resumed run continues the same schedule from the same base values;
* ``by_epoch=True``: the value is set before each training epoch from ``runner.epoch``; during the
  first ``warmup_iters`` iterations (``runner.iter``) ``before_train_iter`` applies the warm-up;
* ``by_epoch=False``: the value is set before each training iteration from ``runner.iter``.

Everything the hooks compute follows from the runner's counters and the param groups, so they hold
no state that a checkpoint would have to carry. Values are Python floats; a tensor lr (or beta) is
read once, in ``before_run``, and updated in place with ``fill_`` afterwards, so nothing is read back
to the host between log intervals.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, TypeAlias

import torch
from pydantic import Field, NonNegativeInt

from runnerkit._args import checked
from runnerkit.hooks._schedule_checks import check_positive_int
from runnerkit.hooks.hook import NEVER, Hook, keeps_train_mode

if TYPE_CHECKING:
    from runnerkit.runners.base import BaseRunner

#: One value per param group, or per optimizer name for a dict of optimizers.
Values: TypeAlias = list[float] | dict[str, list[float]]
AnnealFunc: TypeAlias = Callable[[float, float, float], float]
#: Cyclic phases: (start iteration, end iteration, start ratio, end ratio).
CyclicPhase: TypeAlias = tuple[int, int, float, float]

WARMUP_TYPES = ("constant", "linear", "exp")
#: a warm-up kind (None: no warm-up).
Warmup: TypeAlias = Literal["constant", "linear", "exp"]
#: the warm-up's starting ratio of the regular value, in (0, 1].
WarmupRatio: TypeAlias = Annotated[float, Field(gt=0, le=1)]


# -- annealing ------------------------------------------------------------------------------------


def annealing_cos(start: float, end: float, factor: float, weight: float = 1.0) -> float:
    """Cosine annealing from ``weight * start + (1 - weight) * end`` (factor 0) to ``end`` (factor 1).

    Example:
        >>> annealing_cos(1.0, 0.0, 0.5)
        0.5
    """
    cos_out = math.cos(math.pi * factor) + 1
    return end + 0.5 * weight * (start - end) * cos_out


def annealing_linear(start: float, end: float, factor: float) -> float:
    """Linear annealing from ``start`` (factor 0) to ``end`` (factor 1).

    Example:
        >>> annealing_linear(1.0, 0.0, 0.25)
        0.75
    """
    return start + (end - start) * factor


ANNEALING: dict[str, AnnealFunc] = {"cos": annealing_cos, "linear": annealing_linear}


def anneal_function(strategy: object, owner: str) -> AnnealFunc:
    """The annealing function named by ``strategy`` (``"cos"`` or ``"linear"``)."""
    if not isinstance(strategy, str) or strategy not in ANNEALING:
        raise ValueError(f"`{owner}` got anneal_strategy={strategy!r}; expected 'cos' or 'linear'.")
    return ANNEALING[strategy]


def step_exponent(progress: int, step: int | list[int]) -> int:
    """How many decays have happened at ``progress``: every ``step``, or at each milestone passed."""
    if isinstance(step, int):
        return progress // step
    for i, milestone in enumerate(step):
        if progress < milestone:
            return i
    return len(step)


def next_step_change(progress: int, step: int | list[int]) -> int:
    """The first progress after ``progress`` at which :func:`step_exponent` changes (NEVER: none)."""
    if isinstance(step, int):
        return (progress // step + 1) * step
    return next((milestone for milestone in step if milestone > progress), NEVER)


def position_from_periods(progress: int, cumulative_periods: list[int], owner: str) -> int:
    """The index of the first cumulative period that ``progress`` has not reached."""
    for i, period in enumerate(cumulative_periods):
        if progress < period:
            return i
    raise ValueError(
        f"`{owner}` reached progress {progress}, past the end of its periods (cumulative {cumulative_periods}); "
        f"make the periods add up to at least the training length."
    )


def cyclic_phases(max_iters: int, cyclic_times: int, step_ratio_up: float,
                  target_ratio: tuple[float, float], owner: str) -> tuple[int, list[CyclicPhase]]:
    """The iterations per cycle and the up and down phases of a cyclic schedule (mmcv)."""
    per_cycle = max_iters // cyclic_times
    if per_cycle < 1:
        raise ValueError(
            f"`{owner}` got cyclic_times={cyclic_times} but the runner trains only {max_iters} iterations; "
            f"use at most {max_iters} cycles."
        )
    up = int(step_ratio_up * per_cycle)
    return per_cycle, [(0, up, 1.0, target_ratio[0]), (up, per_cycle, target_ratio[0], target_ratio[1])]


def cyclic_value(base: float, iteration: int, per_cycle: int, phases: list[CyclicPhase],
                 gamma: float, anneal: AnnealFunc) -> float:
    """The value of a cyclic schedule at ``iteration``; ``gamma`` shrinks the amplitude each cycle."""
    current = iteration % per_cycle
    scale = gamma ** (iteration // per_cycle)
    for start, end, start_ratio, end_ratio in phases:
        if start <= current < end:
            if start == 0:
                end_ratio = 1 - scale + end_ratio * scale
            else:
                start_ratio = 1 - scale + start_ratio * scale
            return anneal(base * start_ratio, base * end_ratio, (current - start) / (end - start))
    raise AssertionError(f"iteration {iteration} is outside the cyclic phases {phases}")  # phases cover a cycle


def piecewise_value(iteration: int, phases: Sequence[tuple[float, float, float]], anneal: AnnealFunc) -> float:
    """One-cycle schedules: ``phases`` are (end iteration, start value, end value); the last runs on."""
    start = 0.0
    for i, (end, start_value, end_value) in enumerate(phases):
        if iteration <= end or i == len(phases) - 1:
            # A phase of zero length (pct_start * total_steps == 1) has reached its end; mmcv divides by zero.
            pct = (iteration - start) / (end - start) if end != start else 1.0
            return anneal(start_value, end_value, pct)
        start = end
    raise AssertionError("no phases")  # the caller always builds at least two


# -- mmcv's ``policy=`` configs -------------------------------------------------------------------


def read_value(value: Any) -> float:
    """A float from a param-group value; a tensor is read here, which only ``before_run`` does."""
    return float(value)


def write_value(group: dict[str, Any], key: str, value: float) -> None:
    """Set ``group[key] = value``, or fill a tensor in place (keeps compiled/fused optimizers valid)."""
    current = group[key]
    if isinstance(current, torch.Tensor):
        current.fill_(value)
    else:
        group[key] = value


# -- the timing base class ------------------------------------------------------------------------


class ParamScheduleHook(Hook):
    """Base of :class:`~runnerkit.hooks.lr_updater.LrUpdaterHook` and the momentum twin.

    Subclasses name the param-group value (``value_name``, ``initial_key``, :meth:`_read`,
    :meth:`_write`), how warm-up scales it (:meth:`_warmup`) and the schedule
    (:meth:`scheduled_value`). See the module docstring for the timing.

    Args:
        by_epoch: set the value per epoch (True) or per iteration (False).
        warmup: None, ``"constant"``, ``"linear"`` or ``"exp"``.
        warmup_iters: iterations of warm-up (epochs when ``warmup_by_epoch``).
        warmup_ratio: the warm-up's starting ratio, in (0, 1].
        warmup_by_epoch: count ``warmup_iters`` in epochs (of the current loader's length).
    """

    value_name: ClassVar[str] = "value"
    initial_key: ClassVar[str] = "initial_value"

    @checked
    def __init__(self, by_epoch: bool = True, warmup: Warmup | None = None, warmup_iters: NonNegativeInt = 0,
                 warmup_ratio: WarmupRatio = 0.1, warmup_by_epoch: bool = False) -> None:
        owner = type(self).__name__
        if warmup is not None:
            unit = "epochs" if warmup_by_epoch else "iterations"
            check_positive_int(warmup_iters, "warmup_iters", owner, f" It is the number of warm-up {unit}.")
        self.by_epoch = by_epoch
        self.warmup = warmup
        self.warmup_ratio = warmup_ratio
        self.warmup_by_epoch = warmup_by_epoch
        # mmcv: with warmup_by_epoch, warmup_iters is worked out from the epoch length later.
        self.warmup_epochs: int | None = warmup_iters if warmup_by_epoch else None
        self.warmup_iters: int | None = None if warmup_by_epoch else warmup_iters
        #: the initial value of every param group (per optimizer name for a dict of optimizers).
        self.base_values: Values = []
        #: the scheduled value without warm-up, as last computed.
        self.regular_values: Values = []
        #: (by_epoch=False) the iterations ``[first, end)`` over which the values set last hold.
        self._valid: tuple[int, int] | None = None

    # -- what subclasses define ------------------------------------------------------------------

    def scheduled_value(self, runner: BaseRunner, base: float) -> float:
        """The value the schedule gives a param group whose initial value is ``base``."""
        raise NotImplementedError

    def _warmup(self, regular: float, factor: float) -> float:
        """The warmed-up value from the regular one and mmcv's warm-up factor (in (0, 1])."""
        raise NotImplementedError

    def _read(self, group: dict[str, Any]) -> float:
        raise NotImplementedError

    def _write(self, group: dict[str, Any], value: float) -> None:
        raise NotImplementedError

    # -- helpers ---------------------------------------------------------------------------------

    def _map(self, runner: BaseRunner, fn: Callable[[str | None, torch.optim.Optimizer], list[float]]) -> Values:
        """``fn(name, optimizer)`` for the runner's optimizer (name None) or each of a dict of them."""
        optimizer = runner.optimizer
        if isinstance(optimizer, dict):
            return {name: fn(name, opt) for name, opt in optimizer.items()}
        if optimizer is None:
            raise RuntimeError(
                f"`{type(self).__name__}` schedules the {self.value_name} of the runner's optimizer, but the "
                f"runner has none; pass `optimizer=` to the runner or remove this hook."
            )
        return fn(None, optimizer)

    def progress(self, runner: BaseRunner) -> int:
        """``runner.epoch`` when ``by_epoch``, else ``runner.iter``."""
        return runner.epoch if self.by_epoch else runner.iter

    def progress_and_total(self, runner: BaseRunner) -> tuple[int, int]:
        """(progress, its maximum): epochs when ``by_epoch``, else iterations."""
        if self.by_epoch:
            progress, total, unit, other = runner.epoch, runner.max_epochs, "max_epochs", "by_epoch=False"
        else:
            progress, total, unit, other = runner.iter, runner.max_iters, "max_iters", "by_epoch=True"
        if not total:
            raise RuntimeError(
                f"`{type(self).__name__}` (by_epoch={self.by_epoch}) anneals over `runner.{unit}`, but the "
                f"runner has {unit}={total!r}; give the runner `{unit}` or set {other} on the hook."
            )
        return progress, total

    def _epoch_length(self, runner: BaseRunner) -> int:
        length = runner.epoch_length
        if runner.data_loader is not None:
            with contextlib.suppress(TypeError):  # an iterable-style loader keeps the runner's count
                length = len(runner.data_loader)  # mmcv's source of the epoch length
        if not length:
            raise RuntimeError(
                f"`{type(self).__name__}` has warmup_by_epoch=True and needs the length of an epoch, but the "
                f"runner's data loader has no length; give warmup_iters in iterations instead."
            )
        return int(length)

    def _resolve_warmup_iters(self, runner: BaseRunner) -> int:
        if self.warmup_iters is None:
            self.warmup_iters = (self.warmup_epochs or 0) * self._epoch_length(runner)
        return self.warmup_iters

    def next_change(self, it: int) -> int:
        """The first iteration after ``it`` whose scheduled value may differ (by_epoch=False).

        The default, ``it + 1``, recomputes the value every iteration; schedules that hold a
        value for a while (step, fixed) say how long, so the loop can skip the iterations between.
        """
        return it + 1

    def due_iter(self, runner: BaseRunner, stage: str) -> int:
        """``before_train_iter`` is due at warm-up iterations and where the schedule changes."""
        cur = runner.iter
        if stage != "before_train_iter" or type(self).before_train_iter is not ParamScheduleHook.before_train_iter:
            return cur
        warmup_iters = self.warmup_iters
        if self.by_epoch:  # the epoch's value is set in before_train_epoch; per iteration only the warm-up
            if self.warmup is None:
                return NEVER
            return cur if warmup_iters is None or cur <= warmup_iters else NEVER
        if self.warmup is not None and (warmup_iters is None or cur < warmup_iters):
            return cur
        valid = self._valid
        return valid[1] if valid is not None and valid[0] <= cur < valid[1] else cur

    # -- values ----------------------------------------------------------------------------------

    def get_regular_values(self, runner: BaseRunner) -> Values:
        """The scheduled value of every param group, without warm-up."""
        base = self.base_values
        if isinstance(base, dict):
            return {name: [self.scheduled_value(runner, b) for b in values] for name, values in base.items()}
        return [self.scheduled_value(runner, b) for b in base]

    def get_warmup_values(self, cur_iters: int) -> Values:
        """The warmed-up :attr:`regular_values` at iteration ``cur_iters`` (mmcv's formulas)."""
        warmup_iters = self.warmup_iters or 0
        if self.warmup == "constant":
            factor = self.warmup_ratio
        elif self.warmup == "linear":
            factor = 1 - (1 - cur_iters / warmup_iters) * (1 - self.warmup_ratio)
        else:
            factor = self.warmup_ratio ** (1 - cur_iters / warmup_iters)
        regular = self.regular_values
        if isinstance(regular, dict):
            return {name: [self._warmup(v, factor) for v in values] for name, values in regular.items()}
        return [self._warmup(v, factor) for v in regular]

    def set_values(self, runner: BaseRunner, values: Values) -> None:
        """Write ``values`` into the param groups of the runner's optimizer(s)."""
        optimizer = runner.optimizer
        if isinstance(optimizer, dict):
            assert isinstance(values, dict)
            for name, opt in optimizer.items():
                for group, value in zip(opt.param_groups, values[name]):
                    self._write(group, value)
        else:
            assert isinstance(values, list)
            for group, value in zip(optimizer.param_groups, values):
                self._write(group, value)

    # -- stages ----------------------------------------------------------------------------------

    def before_run(self, runner: BaseRunner) -> None:
        """Record (or keep, after a resume) each param group's initial value."""
        key = self.initial_key

        def record(_name: str | None, optimizer: torch.optim.Optimizer) -> list[float]:
            for group in optimizer.param_groups:
                if key not in group:
                    group[key] = self._read(group)
            return [group[key] for group in optimizer.param_groups]

        self.base_values = self._map(runner, record)
        self.regular_values = []
        self._valid = None

    def before_train_epoch(self, runner: BaseRunner) -> None:
        """by_epoch: set the epoch's value (warm-up, if any, is applied per iteration)."""
        if self.warmup is not None:
            self._resolve_warmup_iters(runner)
        if not self.by_epoch:
            return
        self.regular_values = self.get_regular_values(runner)
        self.set_values(runner, self.regular_values)

    @keeps_train_mode
    def before_train_iter(self, runner: BaseRunner) -> None:
        """Per iteration: the scheduled value (by_epoch=False) or the warm-up (both)."""
        cur_iter = runner.iter
        if not self.by_epoch:
            self.regular_values = self.get_regular_values(runner)
            if self.warmup is None or cur_iter >= self._resolve_warmup_iters(runner):
                self.set_values(runner, self.regular_values)
                self._valid = (cur_iter, self.next_change(cur_iter))
            else:
                self.set_values(runner, self.get_warmup_values(cur_iter))
                self._valid = None
            return
        if self.warmup is None:
            return
        warmup_iters = self._resolve_warmup_iters(runner)
        if cur_iter > warmup_iters:
            return
        if not self.regular_values:
            # Resumed in the middle of an epoch: the epoch's value follows from runner.epoch.
            self.regular_values = self.get_regular_values(runner)
        if cur_iter == warmup_iters:
            self.set_values(runner, self.regular_values)
        else:
            self.set_values(runner, self.get_warmup_values(cur_iter))
