"""``HookDispatch``: priority order, per-stage tables, stage calls and the hook table."""

from __future__ import annotations

from typing import Any

import pytest
import torch

import runnerkit
from runnerkit.hooks.hook import next_multiple, on_instance
from runnerkit.hooks.logger_base import LoggerHook
from runnerkit.hooks.lr_updater import StepLrUpdaterHook
from runnerkit.runners.dispatch import HookDispatch
from tests.helpers import TinyNet, make_loader


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


# -- per-iteration stages skip hooks that are not due ------------------------------------------------


class Every3(runnerkit.Hook):
    """Says it has work every third iteration; records when it is called and what it sees."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    def after_train_iter(self, runner: Any) -> None:
        self.calls.append(runner.iter)

    def due_iter(self, runner: Any, stage: str) -> int:
        return next_multiple(runner.iter, 3)


class Always(runnerkit.Hook):
    def __init__(self) -> None:
        self.calls: list[int] = []

    def after_iter(self, runner: Any) -> None:  # the generic stage: called for after_train_iter
        self.calls.append(runner.iter)


def _train(hooks: list[runnerkit.Hook], iters: int = 10) -> runnerkit.IterBasedRunner:
    net = TinyNet()
    runner = runnerkit.IterBasedRunner(model=net, optimizer=torch.optim.SGD(net.parameters(), lr=0.1), max_iters=iters)
    for hook in hooks:
        runner.register_hook(hook)
    runner.run([make_loader(8)], [("train", 1)])
    return runner


def test_a_hook_is_called_only_at_the_iterations_it_says_it_is_due_and_others_every_iteration() -> None:
    every3, always = Every3(), Always()
    _train([every3, always])
    assert every3.calls == [2, 5, 8]
    assert always.calls == list(range(10))


def test_a_log_output_made_ready_by_an_earlier_hook_reaches_a_logger_that_is_not_due() -> None:
    logged: list[int] = []

    class Publisher(runnerkit.Hook):
        def after_train_iter(self, runner: Any) -> None:
            if runner.iter == 4:  # e.g. an evaluation's results, between two log intervals
                runner.log_buffer.output["acc"] = 1.0
                runner.log_buffer.ready = True

    class Logger(LoggerHook):
        def log(self, runner: Any) -> None:
            logged.append(runner.iter)

    _train([Publisher(), Logger(interval=5, by_epoch=False)])
    assert logged == [4, 9]  # the published output at once, then the interval


def test_the_step_schedule_writes_the_lr_only_at_its_change_points_with_mmcvs_values() -> None:
    writes: list[int] = []

    class Recording(StepLrUpdaterHook):
        def before_train_iter(self, runner: Any) -> None:
            writes.append(runner.iter)
            super().before_train_iter(runner)

    seen: list[float] = []

    class Spy(runnerkit.Hook):
        def before_train_iter(self, runner: Any) -> None:
            seen.append(runner.optimizer.param_groups[0]["lr"])

    hook = StepLrUpdaterHook(step=[4, 7], by_epoch=False)
    _train([hook, Spy()])
    assert seen == pytest.approx([0.1] * 4 + [0.01] * 3 + [0.001] * 3)
    # a subclass that overrides before_train_iter is called every iteration, as in mmcv
    _train([Recording(step=[4, 7], by_epoch=False)])
    assert writes == list(range(10))


def test_stages_assigned_on_an_instance_are_called_and_class_stages_are_not_mistaken_for_them() -> None:
    calls: list[str] = []

    class Recorder:
        def note(self, runner: Any) -> None:
            calls.append("bound elsewhere")

    class WithStatic(runnerkit.Hook):
        @staticmethod
        def before_run(runner: Any) -> None:
            calls.append("static")

    plain, borrowed, static = runnerkit.Hook(), runnerkit.Hook(), WithStatic()
    plain.after_iter = lambda runner: calls.append("lambda")  # type: ignore[method-assign]
    borrowed.before_run = Recorder().note  # type: ignore[method-assign]
    assert on_instance(plain, "after_iter") and on_instance(borrowed, "before_run")
    assert not on_instance(static, "before_run") and not on_instance(plain, "before_run")
    dispatch = HookDispatch()
    for hook in (plain, borrowed, static):
        dispatch.add(hook)
    assert dispatch.stages["after_train_iter"] == [plain]  # after_iter is the generic of after_train_iter
    dispatch.call(None, "before_run")  # type: ignore[arg-type]
    dispatch.call(None, "after_train_iter")  # type: ignore[arg-type]
    assert calls == ["bound elsewhere", "static", "lambda"]
