"""ClosureHook, EmptyCacheHook, ProfilerHook and GradientCumulativeFp16OptimizerHook."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import torch

import runnerkit
from runnerkit.hooks import (
    ClosureHook,
    EmptyCacheHook,
    GradientCumulativeFp16OptimizerHook,
    GradientCumulativeOptimizerHook,
    ProfilerHook,
)
from tests.helpers import TinyNet, make_loader


def iter_runner(max_iters: int = 4, work_dir: Path | None = None, seed: int = 0) -> runnerkit.IterBasedRunner:
    torch.manual_seed(seed)
    model = TinyNet()
    return runnerkit.IterBasedRunner(model=model, optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
                                     work_dir=work_dir, max_iters=max_iters)


def test_closure_hook_calls_its_function_at_its_stage_only() -> None:
    seen: list[int] = []
    runner = iter_runner()
    hook = ClosureHook("after_train_iter", lambda r: seen.append(r.iter))
    runner.register_hook(hook)
    runner.run([make_loader()], [("train", 1)])
    assert seen == [0, 1, 2, 3]
    assert hook.get_triggered_stages() == ["after_train_iter"]


def test_closure_hook_rejects_unknown_stages_and_non_callables() -> None:
    with pytest.raises(ValueError, match="`fn_name` must be a hook stage, got `'after_trian_iter'`"):
        ClosureHook("after_trian_iter", print)
    with pytest.raises(TypeError, match="`fn` must be callable"):
        ClosureHook("after_run", 3)  # type: ignore[arg-type]


def test_empty_cache_hook_registers_only_the_chosen_stages() -> None:
    assert EmptyCacheHook().get_triggered_stages() == ["after_train_epoch", "after_val_epoch"]
    hook = EmptyCacheHook(before_epoch=True, after_epoch=False, after_iter=True)
    assert hook.get_triggered_stages() == ["before_train_epoch", "before_val_epoch", "after_train_iter", "after_val_iter"]
    runner = iter_runner()
    runner.register_hook(hook)
    with mock.patch("torch.cuda.is_available", return_value=True), mock.patch("torch.cuda.empty_cache") as empty:
        runner.run([make_loader()], [("train", 1)])
    assert empty.call_count == 4 + 1  # after each iteration, before the one epoch


def test_profiler_hook_profiles_the_first_iterations_and_writes_a_chrome_trace(tmp_path: Path) -> None:
    tables: list[str] = []
    runner = iter_runner(work_dir=tmp_path)
    trace = tmp_path / "trace.json"
    hook = ProfilerHook(by_epoch=False, profile_iters=2, activities=["cpu"], json_trace_path=trace,
                        on_trace_ready=lambda prof: tables.append(prof.key_averages().table(row_limit=3)))
    runner.register_hook(hook)
    runner.run([make_loader()], [("train", 1)])
    assert hook.profiler is None  # stopped after 2 of the 4 iterations
    assert len(tables) == 1 and "Name" in tables[0]
    assert "traceEvents" in json.loads(trace.read_text())


def test_profiler_hook_checks_its_arguments_against_the_run() -> None:
    with pytest.raises(ValueError, match="`on_trace_ready` must be a callable, dict"):
        ProfilerHook(on_trace_ready={"type": "print"})
    with pytest.raises(ValueError, match="`activities` must be a list of 'cpu' and/or 'cuda'"):
        ProfilerHook(activities=["tpu"])
    runner = iter_runner(max_iters=2)
    runner.register_hook(ProfilerHook(by_epoch=False, profile_iters=3))
    with pytest.raises(ValueError, match=r"`profile_iters` \(3\) is more than the run's 2 iterations"):
        runner.run([make_loader()], [("train", 1)])


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=pytest.mark.cuda)])
def test_cumulative_fp16_steps_once_per_window_like_the_fp32_hook(device: str) -> None:
    """The windows and loss division match the fp32 hook's (on a CPU mmcv's fp16 hook neither autocasts nor scales)."""
    steps: dict[str, list[int]] = {}
    for name, hook in (("fp32", GradientCumulativeOptimizerHook(cumulative_iters=3)),
                       ("amp", GradientCumulativeFp16OptimizerHook(cumulative_iters=3, loss_scale="dynamic"))):
        runner = iter_runner(max_iters=7)
        runner.model.to(device)
        seen: list[int] = []
        original = runner.optimizer.step

        def counting_step(*args: Any, _seen: list[int] = seen, _r: Any = runner, _o: Any = original, **kw: Any) -> Any:
            _seen.append(_r.iter)
            return _o(*args, **kw)

        runner.optimizer.step = counting_step  # type: ignore[method-assign]
        runner.register_hook(hook)
        loader = [(x.to(device), y.to(device)) for x, y in make_loader(n=14)]
        runner.run([loader], [("train", 1)])
        steps[name] = seen
    assert steps["fp32"] == steps["amp"] == [2, 5, 6]  # the last window (iteration 6) has one iteration


def test_cumulative_fp16_is_a_component() -> None:
    hook = runnerkit.default_container().get("hook", "GradientCumulativeFp16OptimizerHook")(cumulative_iters=2)
    assert hook.cumulative_iters == 2 and hook.dtype == torch.float16


def test_every_built_in_hook_component_is_importable_from_runnerkit_hooks() -> None:
    import importlib.metadata as md

    import runnerkit.hooks

    names = {ep.name for ep in md.distribution("runnerkit").entry_points if ep.group == "runnerkit.hooks"}
    assert {"ClosureHook", "EmptyCacheHook", "ProfilerHook", "WandbLoggerHook", "PaviLoggerHook"} <= names
    for name in names:
        assert getattr(runnerkit.hooks, name).__name__ == name
    assert runnerkit.hooks.__all__ == sorted(runnerkit.hooks.__all__) and names <= set(runnerkit.hooks.__all__)
