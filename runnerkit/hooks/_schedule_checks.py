"""Argument checks the lr and momentum schedule hooks share (what their argument models cannot say).

Each check names the hook (``owner``) and the argument, says what was given and what is expected.
"""

from __future__ import annotations

import itertools
import numbers
from collections.abc import Mapping

import torch

__all__ = ["check_iteration_based", "check_min_pair", "check_number", "check_positive_int", "check_range", "check_step", "check_target_ratio", "format_param", "is_number"]


def is_number(value: object) -> bool:
    """A real number that is not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_number(value: object, name: str, owner: str) -> float:
    """``value`` as a float, or a TypeError (YAML reads ``1e-4`` as a string, for instance)."""
    if not is_number(value):
        raise TypeError(
            f"`{owner}` got {name}={value!r} ({type(value).__name__}); expected a number"
            f"{' (write 1e-4 as 1.0e-4 in YAML)' if isinstance(value, str) else ''}."
        )
    return float(value)  # type: ignore[arg-type]


def check_range(value: object, name: str, owner: str, low: float, high: float, *,
                low_open: bool = False, high_open: bool = False, hint: str = "") -> float:
    """``value`` as a float if it lies in the interval, else a ValueError naming the interval."""
    number = check_number(value, name, owner)
    above = number > low if low_open else number >= low
    below = number < high if high_open else number <= high
    if not (above and below):
        interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        raise ValueError(f"`{owner}` got {name}={value!r}; expected a number in {interval}.{hint}")
    return number


def check_positive_int(value: object, name: str, owner: str, hint: str = "") -> int:
    """``value`` if it is a positive int, else a TypeError/ValueError saying so."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"`{owner}` got {name}={value!r} ({type(value).__name__}); expected a positive int.{hint}")
    if value <= 0:
        raise ValueError(f"`{owner}` got {name}={value}; expected a positive int.{hint}")
    return value


def check_step(step: object, owner: str, what: str) -> int | list[int]:
    """A decay interval (positive int) or a non-decreasing list of positive milestones."""
    hint = (f" Give a positive int to decay the {what} every `step` epochs (or iterations), or a list of "
            f"increasing positive ints to decay it at those epochs (or iterations).")
    if isinstance(step, int) and not isinstance(step, bool):
        if step <= 0:
            raise ValueError(f"`{owner}` got step={step}; the step must be positive.{hint}")
        return step
    if isinstance(step, (list, tuple)):
        if not step or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in step):
            raise ValueError(f"`{owner}` got step={step!r}; every milestone must be a positive int.{hint}")
        if any(a > b for a, b in itertools.pairwise(step)):
            raise ValueError(f"`{owner}` got step={step!r}; the milestones must be in increasing order.{hint}")
        return list(step)
    raise TypeError(f"`{owner}` got step={step!r} ({type(step).__name__}).{hint}")


def check_min_pair(min_value: object, min_ratio: object, names: tuple[str, str], owner: str) -> None:
    """Exactly one of an absolute floor (``min_lr``) and a ratio of the base value (``min_lr_ratio``)."""
    value_name, ratio_name = names
    if (min_value is None) == (min_ratio is None):
        given = f"{value_name}={min_value!r} and {ratio_name}={min_ratio!r}"
        fix = "keep only one of them" if min_value is not None else "give one of them"
        raise ValueError(
            f"`{owner}` needs exactly one of `{value_name}` (the final value) and `{ratio_name}` (the final "
            f"value as a fraction of the initial one), got {given}; {fix}."
        )
    for name, value in ((value_name, min_value), (ratio_name, min_ratio)):
        if value is not None:
            check_number(value, name, owner)


def check_iteration_based(by_epoch: object, owner: str) -> None:
    """mmcv's cyclic and one-cycle schedules change every iteration; they refuse ``by_epoch=True``."""
    if by_epoch:
        raise ValueError(
            f"`{owner}` changes its value every iteration and supports only by_epoch=False, got "
            f"by_epoch={by_epoch!r}; remove `by_epoch` from its config."
        )


def check_target_ratio(target_ratio: object, owner: str) -> tuple[float, float]:
    """mmcv's cyclic ``target_ratio``: a number r (meaning ``(r, r / 1e5)``) or a pair (high, low)."""
    if is_number(target_ratio):
        ratio = float(target_ratio)  # type: ignore[arg-type]
        return ratio, ratio / 1e5
    if isinstance(target_ratio, (tuple, list)) and len(target_ratio) in (1, 2) and all(map(is_number, target_ratio)):
        if len(target_ratio) == 1:
            return float(target_ratio[0]), target_ratio[0] / 1e5
        return float(target_ratio[0]), float(target_ratio[1])
    raise ValueError(
        f"`{owner}` got target_ratio={target_ratio!r}; expected a number r (for (r, r / 1e5)) or a pair "
        f"(peak ratio, final ratio) of the initial value."
    )


def format_param(name: str, optimizer: torch.optim.Optimizer, param: object, what: str, owner: str) -> list[float]:
    """One value per param group of ``optimizer`` from a number, a list, or a dict keyed by optimizer name.

    ``name`` is the optimizer's key in a dict of optimizers, else its class name (as mmcv).
    """
    groups = len(optimizer.param_groups)
    if is_number(param):
        return [float(param)] * groups  # type: ignore[arg-type]
    if isinstance(param, (list, tuple)):
        if len(param) != groups:
            raise ValueError(
                f"`{owner}` got {len(param)} values for `{what}` but optimizer `{name}` has {groups} param "
                f"groups; give one value per param group or a single number."
            )
        return [check_number(v, what, owner) for v in param]
    if isinstance(param, Mapping):
        if name not in param:
            raise ValueError(
                f"`{owner}` got `{what}` for optimizers {sorted(param)} but none for `{name}`; add a `{name}` key."
            )
        inner = param[name]
        if isinstance(inner, Mapping):
            raise TypeError(f"`{owner}` got a nested dict for `{what}[{name!r}]`; expected a number or a list.")
        return format_param(name, optimizer, inner, what, owner)
    raise TypeError(
        f"`{owner}` got {what}={param!r} ({type(param).__name__}); expected a number, a list with one value "
        f"per param group, or a dict keyed by optimizer name."
    )
