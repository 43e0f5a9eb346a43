"""The training hook base class and priorities (mmcv 1.x stage names and priority values).

The runners call hooks at these points::

    before_run
    for each epoch (EpochBasedRunner) / once per run (IterBasedRunner, whose loader wraps silently):
        before_train_epoch                  (falls back to before_epoch)
        for each batch:
            data_batch = next(loader)       # fetched before before_train_iter, as mmcv
            before_train_iter               (falls back to before_iter)
            outputs = model.train_step(data_batch, optimizer)
            after_train_iter                (falls back to after_iter)
        after_train_epoch                   (falls back to after_epoch)
    (the same with val_* for "val" phases of the workflow)
    after_run

A hook overrides only the stages it needs; the runner works out once, at registration, which
hooks override which stage and calls only those. A hook that acts only at some training
iterations (an interval, a schedule's change points) says so in :meth:`Hook.due_iter`, and the
loop calls its ``before_train_iter``/``after_train_iter`` only from that iteration on: between two
events the loop is as tight as a hand-written one.
"""

from __future__ import annotations

import enum
import inspect
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from runnerkit.requires import Requirement

if TYPE_CHECKING:
    from runnerkit.runners.base import BaseRunner

__all__ = ["NEVER", "STAGES", "Hook", "Priority", "get_priority", "keeps_train_mode", "next_multiple", "on_instance",
           "overrides"]

_MISSING = object()

#: :meth:`Hook.due_iter`'s answer for "not again in this run" (until the loop asks again).
NEVER = sys.maxsize


class Priority(enum.IntEnum):
    """Hook priorities (lower runs first); mmcv's names and values."""

    HIGHEST = 0
    VERY_HIGH = 10
    HIGH = 30
    ABOVE_NORMAL = 40
    NORMAL = 50
    BELOW_NORMAL = 60
    LOW = 70
    VERY_LOW = 90
    LOWEST = 100


def get_priority(priority: int | str | Priority) -> int:
    """An int priority from an int (0-100), a :class:`Priority` or its name (any case).

    Raises:
        ValueError: the int is outside 0-100 or the name is not a priority.
        TypeError: anything else.
    """
    if isinstance(priority, bool):
        raise TypeError(f"A priority must be an int, a str or a Priority, got bool `{priority}`.")
    if isinstance(priority, int):
        if not 0 <= priority <= 100:
            raise ValueError(f"An int priority must be between 0 and 100, got {priority}.")
        return int(priority)
    if isinstance(priority, str):
        try:
            return Priority[priority.upper()].value
        except KeyError:
            names = ", ".join(p.name for p in Priority)
            raise ValueError(f"Unknown priority `{priority}`; expected an int 0-100 or one of {names}.") from None
    raise TypeError(f"A priority must be an int, a str or a Priority, got {type(priority).__name__} `{priority!r}`.")


#: Every stage the runners call, and the generic stage it falls back to.
STAGES: dict[str, str | None] = {
    "before_run": None,
    "after_run": None,
    "before_train_epoch": "before_epoch",
    "before_val_epoch": "before_epoch",
    "after_train_epoch": "after_epoch",
    "after_val_epoch": "after_epoch",
    "before_train_iter": "before_iter",
    "before_val_iter": "before_iter",
    "after_train_iter": "after_iter",
    "after_val_iter": "after_iter",
}


class Hook:
    """Base class of training hooks: every stage is a no-op unless overridden.

    Subclass it, override the stages you need, and register the hook with
    ``runner.register_hook(MyHook(), priority="NORMAL")`` or publish it under the
    ``runnerkit.hooks`` entry-point group so that configs can name it by ``type``.

    Example:
        >>> class CountHook(Hook):
        ...     def __init__(self):
        ...         self.n = 0
        ...     def after_train_iter(self, runner):
        ...         self.n += 1
    """

    #: the default priority when a config or ``register_hook`` does not give one.
    priority: ClassVar[int | str] = "NORMAL"
    #: optional packages this hook needs (import names or :class:`runnerkit.requires.Requirement`),
    #: checked by ``runnerkit validate``, before a run starts and by ``register_hook``.
    requires: ClassVar[tuple[Requirement | str, ...]] = ()

    def before_run(self, runner: BaseRunner) -> None: ...
    def after_run(self, runner: BaseRunner) -> None: ...
    def before_epoch(self, runner: BaseRunner) -> None: ...
    def after_epoch(self, runner: BaseRunner) -> None: ...
    def before_iter(self, runner: BaseRunner) -> None: ...
    def after_iter(self, runner: BaseRunner) -> None: ...

    def before_train_epoch(self, runner: BaseRunner) -> None:
        self.before_epoch(runner)

    def before_val_epoch(self, runner: BaseRunner) -> None:
        self.before_epoch(runner)

    def after_train_epoch(self, runner: BaseRunner) -> None:
        self.after_epoch(runner)

    def after_val_epoch(self, runner: BaseRunner) -> None:
        self.after_epoch(runner)

    def before_train_iter(self, runner: BaseRunner) -> None:
        self.before_iter(runner)

    def before_val_iter(self, runner: BaseRunner) -> None:
        self.before_iter(runner)

    def after_train_iter(self, runner: BaseRunner) -> None:
        self.after_iter(runner)

    def after_val_iter(self, runner: BaseRunner) -> None:
        self.after_iter(runner)

    # -- when the per-iteration stages have work ------------------------------------------------

    def due_iter(self, runner: BaseRunner, stage: str) -> int:
        """The first training iteration (a value of ``runner.iter``), from the current one on, at which
        this hook's ``stage`` (``"before_train_iter"`` or ``"after_train_iter"``) has work to do.

        The training loops call those two stages of a hook only from the iteration this returns
        on (:data:`NEVER`: not at all), and ask again right after the hook ran, after every epoch
        boundary, at the start of every workflow phase and whenever ``runner.log_buffer.ready``
        is set. Between those moments the answer may assume that ``runner.iter`` (and, in an
        ``EpochBasedRunner``, ``runner.inner_iter``) advance by one per iteration and nothing
        else changes. The default, ``runner.iter``, means every iteration, as in mmcv: a hook
        that does not override this method is called at every iteration.

        Example:
            >>> class EveryHundred(Hook):
            ...     def after_train_iter(self, runner):
            ...         if self.every_n_iters(runner, 100):
            ...             print(runner.iter)
            ...     def due_iter(self, runner, stage):
            ...         return next_multiple(runner.iter, 100)
        """
        return runner.iter

    # -- checkpointed state -------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """State to save in checkpoints so that a resumed run continues exactly (default: none)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""

    # -- helpers (mmcv) -----------------------------------------------------------------------

    @staticmethod
    def every_n_epochs(runner: BaseRunner, n: int) -> bool:
        return (runner.epoch + 1) % n == 0 if n > 0 else False

    @staticmethod
    def every_n_inner_iters(runner: BaseRunner, n: int) -> bool:
        return (runner.inner_iter + 1) % n == 0 if n > 0 else False

    @staticmethod
    def every_n_iters(runner: BaseRunner, n: int) -> bool:
        return (runner.iter + 1) % n == 0 if n > 0 else False

    @staticmethod
    def end_of_epoch(runner: BaseRunner) -> bool:
        return runner.inner_iter + 1 == runner.epoch_length

    @staticmethod
    def is_last_epoch(runner: BaseRunner) -> bool:
        return runner.epoch + 1 == runner.max_epochs

    @staticmethod
    def is_last_iter(runner: BaseRunner) -> bool:
        return runner.iter + 1 == runner.max_iters

    def get_triggered_stages(self) -> list[str]:
        """The stages this hook overrides (directly or through a generic stage)."""
        return [stage for stage in STAGES if overrides(self, stage)]


_F = TypeVar("_F", bound=Callable[..., Any])


def keeps_train_mode(stage: _F) -> _F:
    """Mark a hook stage method that never switches the model between train and eval mode.

    mmcv's ``IterBasedRunner`` calls ``model.train()`` at every iteration, so a hook that ran
    ``model.eval()`` (an evaluation) cannot leave training in eval mode. runnerkit's loop calls
    ``model.train()`` again only after a stage that is not marked has run: the mark is for the
    per-iteration stages of hooks that only step optimizers, time, log or save. A subclass that
    overrides a marked method is not marked unless it marks its own.

    Example:
        >>> class Count(Hook):
        ...     @keeps_train_mode
        ...     def after_train_iter(self, runner):
        ...         pass
    """
    stage.keeps_train_mode = True  # type: ignore[attr-defined]
    return stage


def next_multiple(it: int, n: int) -> int:
    """The first iteration ``k >= it`` with ``(k + 1) % n == 0`` (where ``every_n_iters`` holds); NEVER for n <= 0."""
    return it + (n - 1 - it % n) if n > 0 else NEVER


def on_instance(hook: Hook, name: str) -> bool:
    """Whether ``name`` is assigned on ``hook`` itself rather than found on its class.

    Found without ``vars(hook)``: that would give the instance a dict of its own for good, and
    CPython 3.11 then no longer specializes reads of its attributes (``self.interval`` in a
    stage method, on every iteration).
    """
    try:
        found = getattr(hook, name)
    except AttributeError:
        return False
    declared = inspect.getattr_static(type(hook), name, _MISSING)  # looked up on the class only
    if declared is _MISSING:
        return True
    getter = getattr(type(declared), "__get__", None)
    expected = getter(declared, hook, type(hook)) if getter is not None else declared
    return not (found is expected or found == expected)


def overrides(hook: Hook, stage: str) -> bool:
    """Whether ``hook`` does something at ``stage`` (overrides it or the generic it falls back to)."""
    cls = type(hook)
    if on_instance(hook, stage) or on_instance(hook, STAGES[stage] or stage):
        return True  # assigned on the instance
    if getattr(cls, stage) is not getattr(Hook, stage):
        return True
    generic = STAGES[stage]
    return generic is not None and getattr(cls, generic) is not getattr(Hook, generic)
