"""``runnerkit.build`` / ``build_runner`` and ``DefaultRunnerConstructor`` (CONTRACT.md section 5)."""

from __future__ import annotations

import copy
import logging
import types
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

import pytest
import torch

import runnerkit
from runnerkit._build import current_container, using


class StepNet(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(2, 1)

    def train_step(self, data_batch: Any, optimizer: Any, **kwargs: Any) -> dict[str, Any]:
        return {}


class LocalRunner(runnerkit.IterBasedRunner):
    """A runner only reachable as ``tests.test_build:LocalRunner`` or as a class."""


class LocalHook(runnerkit.Hook):
    def __init__(self, every: int = 1) -> None:
        self.every = every


class RecordingConstructor:
    """A third-party constructor: remembers what it was given, builds the runner itself."""

    calls: ClassVar[list[tuple[dict[str, Any], Any]]] = []

    def __init__(self, runner_cfg: Mapping[str, Any], default_args: Mapping[str, Any] | None = None) -> None:
        self.runner_cfg = dict(runner_cfg)
        self.default_args = default_args
        RecordingConstructor.calls.append((self.runner_cfg, default_args))

    def __call__(self) -> Any:
        cfg = dict(self.runner_cfg)
        cfg.pop("type")
        runner = LocalRunner(**{**(self.default_args or {}), **cfg})
        runner.built_by = "RecordingConstructor"
        return runner


class Provider:
    """A run-time pluggy plugin providing the classes above by name."""

    @runnerkit.hookimpl
    def runnerkit_constructors(self) -> dict[str, Any]:
        return {"RecordingConstructor": RecordingConstructor}

    @runnerkit.hookimpl
    def runnerkit_runners(self) -> dict[str, Any]:
        return {"LocalRunner": "tests.test_build:LocalRunner"}

    @runnerkit.hookimpl
    def runnerkit_hooks(self) -> dict[str, Any]:
        return {"LocalHook": LocalHook}


@pytest.fixture
def container() -> runnerkit.Container:
    RecordingConstructor.calls.clear()
    return runnerkit.Container(autoload=False, plugins=[Provider()])


@pytest.fixture
def model() -> StepNet:
    return StepNet()


def test_build_returns_the_runner_named_by_type_with_the_given_objects_passed_through(model: StepNet) -> None:
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    logger = logging.getLogger("test_build")
    runner = runnerkit.build(
        dict(type="IterBasedRunner", max_iters=4), default_args=dict(model=model, optimizer=optimizer, logger=logger)
    )
    assert type(runner) is runnerkit.IterBasedRunner
    assert runner.model is model
    assert runner.optimizer is optimizer
    assert runner.logger is logger
    assert runner.max_iters == 4


def test_optimizers_in_a_dict_are_passed_through(model: StepNet) -> None:
    opts = {"a": torch.optim.SGD(model.parameters(), lr=0.1), "b": torch.optim.Adam(model.parameters())}
    runner = runnerkit.build(dict(type="EpochBasedRunner", max_epochs=1), default_args=dict(model=model, optimizer=opts))
    assert runner.optimizer["a"] is opts["a"]
    assert runner.optimizer["b"] is opts["b"]


def test_build_runner_is_the_mmcv_named_twin_of_build(model: StepNet) -> None:
    runner = runnerkit.build_runner(dict(type="EpochBasedRunner", max_epochs=2), default_args=dict(model=model))
    assert type(runner) is runnerkit.EpochBasedRunner
    assert runner.max_epochs == 2
    assert runner.model is model


def test_neither_cfg_nor_default_args_is_mutated(container: runnerkit.Container, model: StepNet) -> None:
    meta = {"exp": "a", "tags": ["x"]}
    cfg = {"type": "LocalRunner", "constructor": "RecordingConstructor", "max_iters": 3, "meta": meta}
    default_args = {"model": model, "work_dir": None, "meta": {"exp": "b"}}
    cfg_before, args_before = copy.deepcopy(cfg), dict(default_args)
    runner = runnerkit.build(cfg, default_args, container=container)
    runner.meta["added"] = True  # the runner's meta is its own
    assert cfg == cfg_before
    assert cfg["meta"] is meta
    assert meta == {"exp": "a", "tags": ["x"]}
    assert default_args == args_before
    assert default_args["model"] is model


def test_default_runner_constructor_does_not_mutate_its_inputs_either(model: StepNet) -> None:
    cfg = {"type": "IterBasedRunner", "max_iters": 3, "meta": {"k": [1]}}
    default_args = {"model": model}
    cfg_before = copy.deepcopy(cfg)
    runnerkit.DefaultRunnerConstructor(cfg, default_args)()
    assert cfg == cfg_before
    assert default_args == {"model": model}


def test_values_in_cfg_win_over_default_args(model: StepNet, tmp_path: Any) -> None:
    runner = runnerkit.build(
        dict(type="IterBasedRunner", max_iters=3, work_dir=str(tmp_path / "from-cfg")),
        default_args=dict(model=model, max_iters=100, work_dir=str(tmp_path / "from-code")),
    )
    assert runner.max_iters == 3
    assert runner.work_dir == str(tmp_path / "from-cfg")
    assert not (tmp_path / "from-code").exists()


def test_the_constructor_key_selects_a_third_party_constructor(container: runnerkit.Container, model: StepNet) -> None:
    default_args = {"model": model}
    runner = runnerkit.build(
        dict(type="LocalRunner", constructor="RecordingConstructor", max_iters=2), default_args, container=container
    )
    assert type(runner) is LocalRunner
    assert runner.built_by == "RecordingConstructor"
    ((cfg_seen, args_seen),) = RecordingConstructor.calls
    assert cfg_seen == {"type": "LocalRunner", "max_iters": 2}  # without the `constructor` key
    assert args_seen == default_args
    assert args_seen["model"] is model


def test_a_constructor_may_be_given_as_a_class(model: StepNet) -> None:
    RecordingConstructor.calls.clear()
    runner = runnerkit.build(dict(type="IterBasedRunner", constructor=RecordingConstructor, max_iters=2), dict(model=model))
    assert runner.built_by == "RecordingConstructor"
    assert len(RecordingConstructor.calls) == 1


def test_a_constructor_that_is_not_callable_is_rejected(model: StepNet) -> None:
    with pytest.raises(TypeError, match=r"^`constructor`: it is int `3`, an instance, not a class; give the class itself"):
        runnerkit.build(dict(type="IterBasedRunner", constructor=3, max_iters=2), dict(model=model))


def test_an_unknown_constructor_suggests_the_closest_names(model: StepNet) -> None:
    with pytest.raises(
        runnerkit.UnknownComponentError, match=r"Unknown constructor `DefaultRunnerConstrutor`\. Did you mean `DefaultRunnerConstructor`\?"
    ):
        runnerkit.build(dict(type="IterBasedRunner", constructor="DefaultRunnerConstrutor"), dict(model=model))


@pytest.mark.parametrize(("cfg", "shown"), [(["IterBasedRunner"], "list"), ("IterBasedRunner", "str"), (None, "NoneType")])
def test_default_runner_constructor_raises_type_error_for_a_non_mapping(cfg: Any, shown: str) -> None:
    with pytest.raises(TypeError, match=rf"runner_cfg should be a dict, got {shown}"):
        runnerkit.DefaultRunnerConstructor(cfg)


def test_default_runner_constructor_raises_type_error_for_non_mapping_default_args() -> None:
    with pytest.raises(TypeError, match=r"default_args should be a dict or None, got list"):
        runnerkit.DefaultRunnerConstructor(dict(type="IterBasedRunner"), [("model", None)])


def test_default_runner_constructor_builds_only_when_called(model: StepNet) -> None:
    ctor = runnerkit.DefaultRunnerConstructor(dict(type="IterBasedRunner", max_iters=1), dict(model=model))
    runner = ctor()
    assert type(runner) is runnerkit.IterBasedRunner
    assert runner is not ctor()  # each call builds a new runner


def test_default_runner_constructor_accepts_any_mapping(model: StepNet) -> None:
    cfg = types.MappingProxyType({"type": "IterBasedRunner", "max_iters": 2})
    assert runnerkit.DefaultRunnerConstructor(cfg, types.MappingProxyType({"model": model}))().max_iters == 2


@pytest.mark.parametrize(("cfg", "shown"), [(["IterBasedRunner"], "list"), ("IterBasedRunner", "str")])
def test_build_raises_type_error_for_a_non_mapping(cfg: Any, shown: str) -> None:
    with pytest.raises(TypeError, match=rf"`build` expects the runner config as a mapping, got {shown}"):
        runnerkit.build(cfg)


def test_build_raises_type_error_for_non_mapping_default_args() -> None:
    with pytest.raises(TypeError, match=r"`default_args` must be a mapping or None, got tuple"):
        runnerkit.build(dict(type="IterBasedRunner"), default_args=(1, 2))


def test_a_runner_config_without_type_says_it_is_the_runner_section(model: StepNet) -> None:
    with pytest.raises(
        runnerkit.ConfigError,
        match=r"The `runner` config has no `type` key \(it has `max_iters`\); add `type=\"<Name>\"` naming the runner",
    ):
        runnerkit.build(dict(max_iters=3), default_args=dict(model=model))
    assert issubclass(runnerkit.ConfigError, ValueError)


def test_a_hook_config_without_type_says_it_is_the_hook_section(model: StepNet) -> None:
    runner = runnerkit.build(dict(type="IterBasedRunner", max_iters=3), default_args=dict(model=model))
    with pytest.raises(runnerkit.ConfigError, match=r"The `hook` config has no `type` key \(it has `interval`\)"):
        runner.register_hook_from_cfg(dict(interval=3))


def test_type_may_be_a_runner_class(model: StepNet) -> None:
    runner = runnerkit.build(dict(type=LocalRunner, max_iters=1), default_args=dict(model=model))
    assert type(runner) is LocalRunner


def test_a_type_class_that_is_not_a_runner_is_rejected(model: StepNet) -> None:
    with pytest.raises(runnerkit.ConfigError, match=r"`type`: the class `tests.test_build.LocalHook` is not a subclass of `runnerkit.BaseRunner`"):
        runnerkit.build(dict(type=LocalHook, max_iters=1), default_args=dict(model=model))


def test_type_may_be_a_module_and_attribute(model: StepNet) -> None:
    runner = runnerkit.build(dict(type="tests.test_build:LocalRunner", max_iters=1), default_args=dict(model=model))
    assert type(runner) is LocalRunner


def test_type_may_be_qualified_by_the_distribution(model: StepNet) -> None:
    assert type(runnerkit.build(dict(type="runnerkit:IterBasedRunner", max_iters=1), dict(model=model))) is runnerkit.IterBasedRunner


def test_an_unknown_type_suggests_the_closest_names(model: StepNet) -> None:
    with pytest.raises(runnerkit.UnknownComponentError, match=r"Unknown runner `EpochBaseRunner`\. Did you mean `EpochBasedRunner`\?"):
        runnerkit.build(dict(type="EpochBaseRunner", max_epochs=1), dict(model=model))


def test_the_runner_resolves_hooks_through_the_container_that_built_it(
    container: runnerkit.Container, model: StepNet
) -> None:
    runner = runnerkit.build(dict(type="LocalRunner", max_iters=2), dict(model=model), container=container)
    assert runner.container is container
    runner.register_hook_from_cfg(dict(type="LocalHook", every=5, priority="HIGH"))
    (hook,) = runner.hooks
    assert type(hook) is LocalHook
    assert hook.every == 5
    # The default container has no such hook.
    other = runnerkit.build(dict(type="IterBasedRunner", max_iters=2), dict(model=model))
    with pytest.raises(runnerkit.UnknownComponentError, match=r"Unknown hook `LocalHook`"):
        other.register_hook_from_cfg(dict(type="LocalHook"))


def test_using_restores_the_previous_container_even_after_an_error(container: runnerkit.Container) -> None:
    before = current_container()
    with pytest.raises(RuntimeError, match="inside"), using(container):
        assert current_container() is container
        raise RuntimeError("inside")
    assert current_container() is before


@pytest.fixture
def provider_on_default() -> Iterator[Provider]:
    plugin = Provider()
    runnerkit.register_plugin(plugin)
    try:
        yield plugin
    finally:
        runnerkit.unregister_plugin(plugin)


def test_build_runner_finds_a_constructor_registered_at_run_time(provider_on_default: Provider, model: StepNet) -> None:
    runner = runnerkit.build_runner(dict(type="LocalRunner", constructor="RecordingConstructor", max_iters=1), dict(model=model))
    assert runner.built_by == "RecordingConstructor"
