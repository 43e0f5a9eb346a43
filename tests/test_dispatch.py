"""``HookDispatch``: priority order, per-stage tables, stage calls and the hook table."""

from __future__ import annotations

from typing import Any

import pytest

import runnerkit
from runnerkit.runners.dispatch import HookDispatch


def test_dispatch_calls_only_hooks_that_override_a_stage() -> None:
    class OnlyAfterIter(runnerkit.Hook):
        def after_iter(self, runner: Any) -> None:
            pass

    dispatch = HookDispatch()
    hook = OnlyAfterIter()
    dispatch.add(hook)
    assert dispatch.stages["after_train_iter"] == [hook]
    assert dispatch.stages["after_val_iter"] == [hook]
    assert dispatch.stages["before_train_iter"] == []


def test_hooks_of_equal_priority_keep_registration_order() -> None:
    dispatch = HookDispatch()
    a, b, c, d = (runnerkit.Hook() for _ in range(4))
    dispatch.add(a, "LOW")
    dispatch.add(b, 30)
    dispatch.add(c, "low")
    dispatch.add(d, runnerkit.Priority.HIGHEST)
    assert dispatch.hooks == [d, b, a, c]


@pytest.mark.parametrize(("priority", "error", "match"), [(101, ValueError, "between 0 and 100"), ("SOON", ValueError, "Unknown priority `SOON`"), (1.5, TypeError, "must be an int")])
def test_bad_priorities_are_refused(priority: Any, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        HookDispatch().add(runnerkit.Hook(), priority)


def test_a_stage_calls_its_hooks_in_order_and_an_unknown_stage_is_named() -> None:
    calls: list[str] = []

    class Named(runnerkit.Hook):
        def __init__(self, name: str) -> None:
            self.name = name

        def before_run(self, runner: Any) -> None:
            calls.append(self.name)

    dispatch = HookDispatch()
    dispatch.add(Named("late"), "LOW")
    dispatch.add(Named("early"), "HIGH")
    dispatch.call(None, "before_run")  # type: ignore[arg-type]
    assert calls == ["early", "late"]
    with pytest.raises(ValueError, match=r"Unknown hook stage `before_lunch`; expected one of before_run, "):
        dispatch.call(None, "before_lunch")  # type: ignore[arg-type]


def test_a_non_hook_is_refused_with_its_type() -> None:
    with pytest.raises(TypeError, match=r"`register_hook` expects a `runnerkit.Hook` instance, got dict"):
        HookDispatch().add({"type": "CheckpointHook"})  # type: ignore[arg-type]


def test_the_info_table_names_each_stage_with_its_hooks_and_priorities() -> None:
    class Both(runnerkit.Hook):
        def before_run(self, runner: Any) -> None: ...
        def after_train_iter(self, runner: Any) -> None: ...

    dispatch = HookDispatch()
    dispatch.add(Both(), 42)
    dispatch.add(runnerkit.Hook(), "LOW")  # acts nowhere: not listed
    lines = dispatch.info().splitlines()
    assert lines[0] == "before_run:" and lines[2] == "(42          ) Both"
    assert "after_train_iter:" in lines and "before_train_iter:" not in lines
