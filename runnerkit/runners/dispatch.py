"""``HookDispatch``: the registered hooks in priority order, and per stage the hooks that act there.

Hooks are sorted once, at registration, into a table holding for each stage only the hooks that
override it (directly or through its generic stage, see :func:`runnerkit.hooks.hook.overrides`),
so calling a stage costs nothing for the hooks that ignore it.
"""

from __future__ import annotations

import bisect
from typing import TYPE_CHECKING

from runnerkit.hooks.hook import STAGES, Hook, Priority, get_priority, overrides

if TYPE_CHECKING:
    from runnerkit.runners.base import BaseRunner

__all__ = ["HookDispatch"]


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


def _priority_name(value: int) -> str:
    try:
        return Priority(value).name
    except ValueError:
        return str(value)
