"""``HookDispatch``: the registered hooks in priority order, and per stage the hooks that act there.

Hooks are sorted once, at registration, into a table holding for each stage only the hooks that
override it (directly or through its generic stage, see :func:`runnerkit.hooks.hook.overrides`),
so calling a stage costs nothing for the hooks that ignore it. The two per-iteration training
stages are :class:`IterStage` objects on top of that table: they also skip the hooks that are not
due (:meth:`runnerkit.hooks.hook.Hook.due_iter`), so between two events an iteration calls only
the hooks that work at every iteration.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from runnerkit.hooks.hook import NEVER, STAGES, Hook, Priority, get_priority, on_instance, overrides

if TYPE_CHECKING:
    from runnerkit.runners.base import BaseRunner

__all__ = ["HookDispatch", "IterStage"]


class HookDispatch:
    """Hooks by priority (lowest value first; equal priorities in registration order) and by stage.

    Attributes:
        hooks: every registered hook, in the order they run.
        stages: stage name -> the hooks (in order) that act at that stage.
    """

    def __init__(self) -> None:
        self.hooks: list[Hook] = []
        self._priorities: list[int] = []
        self.stages: dict[str, list[Hook]] = {stage: [] for stage in STAGES}
        #: ``before_train_iter`` and ``after_train_iter``, with the hooks each is next due.
        self.before_train_iter = IterStage("before_train_iter", self.stages["before_train_iter"])
        self.after_train_iter = IterStage("after_train_iter", self.stages["after_train_iter"])

    def reset_due(self) -> None:
        """Ask every hook again when it is next due (the loops call it at phase starts and epoch boundaries)."""
        self.before_train_iter.reset()
        self.after_train_iter.reset()

    def add(self, hook: Hook, priority: int | str | None = None) -> None:
        """Insert ``hook`` at ``priority`` (int 0-100 or a name; default: the hook's own ``priority``)."""
        if not isinstance(hook, Hook):
            raise TypeError(f"`register_hook` expects a `runnerkit.Hook` instance, got {type(hook).__name__}.")
        value = get_priority(priority if priority is not None else hook.priority)
        hook.priority = value  # type: ignore[misc]  # mmcv stores the resolved value on the hook
        index = bisect.bisect_right(self._priorities, value)  # after every hook of the same or higher priority
        self.hooks.insert(index, hook)
        self._priorities.insert(index, value)
        for stage, hooks in self.stages.items():
            hooks[:] = [h for h in self.hooks if overrides(h, stage)]
        self.reset_due()

    def call(self, runner: BaseRunner, stage: str) -> None:
        """Call ``stage`` of every hook that acts there, in order."""
        try:
            hooks = self.stages[stage]
        except KeyError:
            raise ValueError(f"Unknown hook stage `{stage}`; expected one of {', '.join(STAGES)}.") from None
        for hook in hooks:
            getattr(hook, stage)(runner)

    def info(self) -> str:
        """A table of which hooks run at which stage, in order (as mmcv's ``get_hook_info``)."""
        lines = []
        for stage, hooks in self.stages.items():
            if not hooks:
                continue
            lines.append(f"{stage}:")
            lines.append("-" * 62)
            for hook in hooks:
                lines.append(f"({_priority_name(int(hook.priority)):<12}) {type(hook).__name__}")
            lines.append("-" * 62)
        return "\n".join(lines)


class IterStage:
    """A per-iteration training stage that calls each hook only from the iteration it is due.

    The loop calls ``stage.calls`` (the bound stage methods of the hooks due at every iteration)
    while ``runner.iter < stage.until`` and no log output is waiting, and :meth:`run` otherwise.
    :meth:`run` calls, in priority order, every hook due now, asks each hook that ran when it is
    next due (at the next iteration, once the counters have moved), asks again every later hook
    when a hook made ``runner.log_buffer.ready``, and works out ``calls`` and ``until`` anew.

    Whether a stage may have switched the model out of train mode (it is not marked with
    :func:`~runnerkit.hooks.hook.keeps_train_mode`) is returned by :meth:`run` and, for ``calls``,
    kept in ``calls_switch``: ``IterBasedRunner`` calls ``model.train()`` again after such a stage.

    Args:
        name: the stage, ``"before_train_iter"`` or ``"after_train_iter"``.
        hooks: the dispatch table's (live) list of the hooks acting at that stage.
    """

    __slots__ = ("_always", "_due", "_fns", "_hooks", "_keeps", "_live", "calls", "calls_switch", "name", "until")

    def __init__(self, name: str, hooks: list[Hook]) -> None:
        self.name = name
        self._live = hooks
        self._hooks: list[Hook] = []
        self._fns: list[Callable[[Any], None]] = []
        self._always: list[bool] = []
        self._keeps: list[bool] = []
        self._due: list[int | None] = []
        #: the stage methods to call at every iteration before ``until``.
        self.calls: list[Callable[[Any], None]] = []
        #: some of ``calls`` may switch the model's train/eval mode (not marked ``keeps_train_mode``).
        self.calls_switch = False
        #: the first iteration at which :meth:`run` must look at the due hooks again.
        self.until = -1

    def reset(self) -> None:
        """Forget what is known about when the hooks are due; the next iteration asks them all."""
        self._hooks = list(self._live)
        self._fns = [_stage_method(h, self.name) for h in self._hooks]
        self._always = [type(h).due_iter is Hook.due_iter for h in self._hooks]
        self._keeps = [getattr(fn, "keeps_train_mode", False) is True for fn in self._fns]
        self._due = [None] * len(self._hooks)
        self.until = -1

    def run(self, runner: BaseRunner, it: int) -> bool:
        """Call the hooks due at iteration ``it`` and work out the next ``calls``/``until``.

        Returns:
            whether a stage that ran may have switched the model's train/eval mode.
        """
        name, hooks, fns, due, always, keeps = self.name, self._hooks, self._fns, self._due, self._always, self._keeps
        buffer = runner.log_buffer
        ask_all = buffer.ready
        calls: list[Callable[[Any], None]] = []
        until = NEVER
        switch = calls_switch = False
        for k, hook in enumerate(hooks):
            stage = fns[k]
            if always[k]:
                stage(runner)
                calls.append(stage)
                if not keeps[k]:
                    switch = calls_switch = True
            else:
                when = due[k]
                if when is None or (ask_all and when > it):
                    when = hook.due_iter(runner, name)
                if when <= it:
                    stage(runner)
                    switch = switch or not keeps[k]
                    due[k] = None  # asked again at the next iteration, with the counters moved on
                    until = it + 1
                else:
                    due[k] = when
                    until = min(until, when)
            if not ask_all and buffer.ready:  # e.g. an evaluation's results: the loggers want them now
                ask_all = True
        self.calls = calls
        self.calls_switch = calls_switch
        self.until = until
        return switch


def _stage_method(hook: Hook, stage: str) -> Callable[[Any], None]:
    """The method that does ``stage``'s work: the generic stage (``after_iter``) when only that is overridden."""
    generic = STAGES[stage]
    if generic and not on_instance(hook, stage) and getattr(type(hook), stage) is getattr(Hook, stage):
        return getattr(hook, generic)  # type: ignore[no-any-return]
    return getattr(hook, stage)  # type: ignore[no-any-return]


def _priority_name(value: int) -> str:
    try:
        return Priority(value).name
    except ValueError:
        return str(value)
