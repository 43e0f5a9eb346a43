"""``RUNNERS``, ``RUNNER_BUILDERS`` and ``HOOKS``: mmcv's registry API, stored as run-time plugin components."""

from __future__ import annotations

from typing import Any

import pytest
import torch

import runnerkit
from tests.helpers import TinyNet


def test_a_hook_registered_with_the_decorator_is_a_component_configs_can_name() -> None:
    from mmcv.runner import HOOKS, Hook, build_runner

    @HOOKS.register_module()
    class ParityCountHook(Hook):
        def __init__(self, start: int = 0) -> None:
            self.count = start

        def after_train_iter(self, runner: Any) -> None:
            self.count += 1

    try:
        record = runnerkit.default_container().lookup("hook", "ParityCountHook")
        assert record.source == "plugin" and record.provider == "runnerkit-compat-mmcv-hooks"
        assert HOOKS.get("ParityCountHook") is ParityCountHook and "ParityCountHook" in HOOKS
        model = TinyNet()
        runner = build_runner(dict(type="IterBasedRunner", max_iters=3),
                              default_args=dict(model=model, optimizer=torch.optim.SGD(model.parameters(), lr=0.1)))
        runner.register_training_hooks(lr_config=None, custom_hooks_config=[dict(type="ParityCountHook", start=10)])
        runner.run([[(torch.randn(2, 4), torch.randn(2))] * 3], [("train", 1)])
        (hook,) = [h for h in runner.hooks if isinstance(h, ParityCountHook)]
        assert hook.count == 13
        assert isinstance(HOOKS.build(dict(type="ParityCountHook"), default_args=dict(start=5)), ParityCountHook)
    finally:
        HOOKS._remove("ParityCountHook")
    assert HOOKS.get("ParityCountHook") is None


def test_registering_a_taken_name_is_a_key_error_unless_forced() -> None:
    from mmcv.runner import HOOKS, Hook

    class First(Hook):
        pass

    class Second(Hook):
        pass

    HOOKS.register_module(name="ParityTaken", module=First)
    try:
        with pytest.raises(KeyError, match="ParityTaken is already registered in hook"):
            HOOKS.register_module(name="ParityTaken", module=Second)
        HOOKS.register_module(name="ParityTaken", force=True, module=Second)
        assert HOOKS.get("ParityTaken") is Second
        assert runnerkit.default_container().get("hook", "ParityTaken") is Second
    finally:
        HOOKS._remove("ParityTaken")


def test_runnerkit_names_are_reserved() -> None:
    from mmcv.runner import HOOKS, Hook

    with pytest.raises(KeyError, match="CheckpointHook is already registered in hook: runnerkit provides a hook"):
        HOOKS.register_module(name="CheckpointHook", module=type("Mine", (Hook,), {}))


def test_register_module_checks_its_arguments_as_mmcv() -> None:
    from mmcv.runner import HOOKS

    with pytest.raises(TypeError, match="force must be a boolean"):
        HOOKS.register_module(force=1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="name must be either of None, an instance of str or a sequence of str"):
        HOOKS.register_module(name=3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="module must be a class"):
        HOOKS.register_module(module=lambda: None)  # type: ignore[arg-type]


def test_runners_and_runner_builders_build_as_mmcv() -> None:
    from mmcv.runner import RUNNER_BUILDERS, RUNNERS, DefaultRunnerConstructor, EpochBasedRunner, IterBasedRunner

    assert RUNNERS.get("EpochBasedRunner") is EpochBasedRunner and "IterBasedRunner" in RUNNERS.module_dict
    constructor = RUNNER_BUILDERS.build(dict(type="DefaultRunnerConstructor", runner_cfg=dict(type="IterBasedRunner", max_iters=2),
                                             default_args=dict(model=TinyNet())))
    assert isinstance(constructor, DefaultRunnerConstructor) and isinstance(constructor(), IterBasedRunner)

    @RUNNERS.register_module()
    class ParityRunner(EpochBasedRunner):
        pass

    try:
        runner = RUNNERS.build(dict(type="ParityRunner", max_epochs=1), default_args=dict(model=TinyNet()))
        assert type(runner) is ParityRunner
    finally:
        RUNNERS._remove("ParityRunner")


def test_a_hook_that_drops_its_kwargs_takes_any_keyword_but_one_that_forwards_them_is_checked() -> None:
    from mmcv.runner import HOOKS, Hook, build_runner

    @HOOKS.register_module()
    class ParityDropsKwargsHook(Hook):
        def __init__(self, info: str, *args: Any, **kwargs: Any) -> None:
            super().__init__()  # mmcv's test hooks take **kwargs and ignore them
            self.info = info

    @HOOKS.register_module()
    class ParityForwardsKwargsHook(Hook):
        def __init__(self, info: str, **kwargs: Any) -> None:
            super().__init__(**kwargs)  # goes to Hook.__init__, which takes nothing: a typo must still be caught
            self.info = info

    try:
        model = TinyNet()
        runner = build_runner(dict(type="EpochBasedRunner", max_epochs=1),
                              default_args=dict(model=model, optimizer=torch.optim.SGD(model.parameters(), lr=0.1)))
        # log_config gives every logger hook `interval`, as mmcv's register_logger_hooks does
        runner.register_training_hooks(lr_config=None, log_config=dict(
            interval=3, hooks=[dict(type="ParityDropsKwargsHook", info="log")]))
        assert [h.info for h in runner.hooks if isinstance(h, ParityDropsKwargsHook)] == ["log"]
        with pytest.raises(ValueError, match=r"unknown argument `intervall` for `ParityForwardsKwargsHook`"):
            runner.register_hook_from_cfg(dict(type="ParityForwardsKwargsHook", info="x", intervall=1))
    finally:
        HOOKS._remove("ParityDropsKwargsHook")
        HOOKS._remove("ParityForwardsKwargsHook")
