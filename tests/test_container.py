"""The component container, in this process: names, plugins, loading, isolation.

Discovery from a fresh process (what a user's ``import runnerkit`` sees) is in test_discovery.py;
here the installed fake distributions are read through ``Container(path=...)`` and imported with
their folder on ``sys.path``.
"""

from __future__ import annotations

import importlib.metadata
import re
import sys
from pathlib import Path
from typing import Any

import pytest

import runnerkit
from runnerkit import Container
from runnerkit._build import using
from tests.plugin_helpers import fake_site


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return fake_site(tmp_path_factory)


@pytest.fixture
def full(site: Path, monkeypatch: pytest.MonkeyPatch) -> Container:
    """A container that sees the fake distributions and can import them."""
    monkeypatch.syspath_prepend(str(site))
    return Container(path=[str(site), *sys.path])


class RunnersPlugin:
    """A run-time plugin returning classes and strings."""

    @runnerkit.hookimpl
    def runnerkit_runners(self) -> dict[str, Any]:
        return {"LocalRunner": LocalRunner, "LazyRunner": "tests.test_container:LocalRunner"}


class LocalRunner(runnerkit.IterBasedRunner):
    pass


def plugin_providing(name: str, value: Any = "tests.test_container:LocalRunner") -> object:
    class Plugin:
        @runnerkit.hookimpl
        def runnerkit_runners(self) -> dict[str, Any]:
            return {name: value}

    return Plugin()


# -- built-ins -------------------------------------------------------------------------------


def test_built_ins_are_found_as_entry_points_of_the_runnerkit_distribution() -> None:
    declared = importlib.metadata.distribution("runnerkit").entry_points
    groups = {"runner": "runnerkit.runners", "constructor": "runnerkit.constructors", "hook": "runnerkit.hooks"}
    recs = Container(autoload=False).records()
    for kind, group in groups.items():
        found = {r.name: r.target for r in recs if r.kind == kind}
        assert found == {ep.name: ep.value for ep in declared.select(group=group)}
        assert len(found) >= 1
    assert {(r.distribution, r.version, r.source) for r in recs} == {("runnerkit", runnerkit.__version__, "entry-point")}


def test_a_built_in_record_carries_its_provenance() -> None:
    rec = Container(autoload=False).lookup("runner", "IterBasedRunner")
    assert (rec.kind, rec.name, rec.target, rec.distribution, rec.version, rec.source) == (
        "runner", "IterBasedRunner", "runnerkit.runners.iter_based:IterBasedRunner", "runnerkit",
        runnerkit.__version__, "entry-point",
    )
    assert rec.qualified_name == "runnerkit:IterBasedRunner"


def test_records_are_sorted_by_kind_and_name() -> None:
    recs = Container(autoload=False).records()
    assert [(r.kind, r.name.lower()) for r in recs] == sorted((r.kind, r.name.lower()) for r in recs)
    assert {r.kind for r in Container(autoload=False).records("hook")} == {"hook"}


def test_a_component_is_imported_once_and_then_reused() -> None:
    c = Container(autoload=False)
    rec = c.lookup("constructor", "DefaultRunnerConstructor")
    assert c.load(rec) is runnerkit.DefaultRunnerConstructor
    assert rec.obj is runnerkit.DefaultRunnerConstructor
    assert c.get("constructor", "DefaultRunnerConstructor") is c.load(rec)


def test_an_unknown_kind_and_a_name_that_is_not_a_string_are_rejected() -> None:
    c = Container(autoload=False)
    with pytest.raises(ValueError, match=r"Unknown component kind `runners`; expected one of runner, constructor, hook"):
        c.records("runners")
    with pytest.raises(TypeError, match=r"A runner name must be a string, got int `3`"):
        c.lookup("runner", 3)  # type: ignore[arg-type]


# -- names -----------------------------------------------------------------------------------


def test_an_unknown_name_is_a_key_error_listing_the_closest_names() -> None:
    with pytest.raises(KeyError) as info:
        Container(autoload=False).lookup("hook", "CheckpointHok")
    err = info.value
    assert isinstance(err, runnerkit.UnknownComponentError)
    assert (err.kind, err.name, err.suggestions[0]) == ("hook", "CheckpointHok", "CheckpointHook")
    assert str(err).startswith("Unknown hook `CheckpointHok`. Did you mean `CheckpointHook`")
    assert str(err).endswith("`runnerkit list --kind hook` shows what is installed; install the package that provides "
                             "`CheckpointHok` or correct the spelling.")


def test_a_name_in_the_wrong_case_suggests_the_right_one_first() -> None:
    with pytest.raises(runnerkit.UnknownComponentError, match=r"Did you mean `IterBasedRunner`"):
        Container(autoload=False).lookup("runner", "iterbasedrunner")


def test_a_qualified_name_of_an_unknown_distribution_says_so() -> None:
    with pytest.raises(
        runnerkit.UnknownComponentError,
        match=r"Unknown runner `nosuchdist:IterBasedRunner`\. No installed distribution or module is called `nosuchdist`\.",
    ):
        Container(autoload=False).lookup("runner", "nosuchdist:IterBasedRunner")


def test_a_qualified_name_the_distribution_does_not_provide_says_so() -> None:
    with pytest.raises(
        runnerkit.UnknownComponentError,
        match=r"Unknown runner `runnerkit:FastRunner`\. `runnerkit` provides no runner `FastRunner`\.",
    ):
        Container(autoload=False).lookup("runner", "runnerkit:FastRunner")


def test_a_module_and_attribute_name_is_imported_directly() -> None:
    c = Container(autoload=False)
    rec = c.lookup("runner", "tests.test_container:LocalRunner")
    assert (rec.source, rec.distribution) == ("import", None)
    assert c.load(rec) is LocalRunner


def test_type_may_be_a_class_object_checked_for_its_kind() -> None:
    c = Container(autoload=False)
    assert c.get("runner", LocalRunner) is LocalRunner
    with pytest.raises(
        runnerkit.ConfigError,
        match=r"^`type`: the class `tests.test_container.LocalRunner` is not a subclass of `runnerkit.Hook`. `type` must "
        r"name a hook by name or give a subclass of `runnerkit.Hook`.$",
    ):
        c.get("hook", LocalRunner)


# -- run-time plugins ------------------------------------------------------------------------


def test_a_run_time_plugin_adds_components_and_removing_it_takes_them_away() -> None:
    c = Container(autoload=False)
    plugin = RunnersPlugin()
    c.register_plugin(plugin)
    local, lazy = c.lookup("runner", "LocalRunner"), c.lookup("runner", "LazyRunner")
    assert (local.target, local.distribution, local.version, local.source, local.provider) == (
        "tests.test_container:LocalRunner", None, None, "plugin", "RunnersPlugin")
    assert local.obj is LocalRunner
    assert (lazy.target, lazy.obj) == ("tests.test_container:LocalRunner", None)
    assert c.get("runner", "LazyRunner") is LocalRunner
    c.unregister_plugin(plugin)
    with pytest.raises(runnerkit.UnknownComponentError, match=r"Unknown runner `LocalRunner`"):
        c.lookup("runner", "LocalRunner")
    c.unregister_plugin(plugin)  # removing twice is harmless


def test_a_misspelled_hook_implementation_is_rejected_naming_the_hook() -> None:
    class Typo:
        @runnerkit.hookimpl
        def runnerkit_runnerz(self) -> dict[str, Any]:
            return {}

    c = Container(autoload=False)
    with pytest.raises(
        runnerkit.PluginLoadError,
        match=r"Cannot load `typo` from a run-time plugin: invalid pluggy plugin: unknown hook 'runnerkit_runnerz' "
        r"in plugin .*; runnerkit's hooks are `runnerkit_runners`, `runnerkit_constructors`, `runnerkit_hooks`",
    ) as info:
        c.register_plugin(Typo(), name="typo")
    assert type(info.value.__cause__).__name__ == "PluginValidationError"
    # Nothing of it stays registered; the container keeps working.
    c.register_plugin(RunnersPlugin())
    assert c.get("runner", "LocalRunner") is LocalRunner


def test_a_hook_implementation_with_a_wrong_signature_is_rejected() -> None:
    class Extra:
        @runnerkit.hookimpl
        def runnerkit_hooks(self, config: Any) -> dict[str, Any]:
            return {}

    with pytest.raises(
        runnerkit.PluginLoadError,
        match=r"(?s)Cannot load `Extra` from a run-time plugin: invalid pluggy plugin: Plugin 'Extra' for hook 'runnerkit_hooks'"
        r".*Argument\(s\) \{'config'\} are declared in the hookimpl but can not be found in the hookspec",
    ):
        Container(autoload=False).register_plugin(Extra())


def test_registering_the_same_plugin_twice_is_an_error() -> None:
    c = Container(autoload=False)
    plugin = RunnersPlugin()
    c.register_plugin(plugin)
    with pytest.raises(
        runnerkit.PluginLoadError,
        match=r"Cannot load `RunnersPlugin` from a run-time plugin: .*already registered.*; register each plugin once, "
        r"and give plugins distinct names \(`register_plugin\(plugin, name=\.\.\.\)`\)",
    ):
        c.register_plugin(plugin)
    with pytest.raises(runnerkit.PluginLoadError, match=r"Cannot load `RunnersPlugin` from a run-time plugin: .*already registered"):
        c.register_plugin(RunnersPlugin())  # another plugin of the same name
    c.register_plugin(RunnersPlugin(), name="second")


def test_a_plugin_whose_hook_fails_is_reported_and_the_others_keep_working() -> None:
    class Failing:
        @runnerkit.hookimpl
        def runnerkit_runners(self) -> dict[str, Any]:
            raise RuntimeError("cannot list")

    class NotAMapping:
        @runnerkit.hookimpl
        def runnerkit_hooks(self) -> list[str]:
            return ["AHook"]

    c = Container(autoload=False, plugins=[Failing(), NotAMapping(), RunnersPlugin()])
    assert c.get("runner", "LocalRunner") is LocalRunner
    first, second = sorted(c.problems, key=str)
    assert str(first) == "Cannot load `Failing` from a run-time plugin: its hook `runnerkit_runners` failed: RuntimeError('cannot list')"
    assert isinstance(first.__cause__, RuntimeError)
    assert str(second).startswith("Cannot load `NotAMapping` from a run-time plugin: its hook `runnerkit_hooks` failed: "
                                  "TypeError(\"`runnerkit_hooks()` returned list, expected a mapping")


def test_two_plugins_with_one_name_are_ambiguous_and_a_qualified_name_picks_one() -> None:
    class Other(runnerkit.IterBasedRunner):
        pass

    c = Container(autoload=False)
    c.register_plugin(plugin_providing("Twin", LocalRunner), name="first")
    c.register_plugin(plugin_providing("Twin", Other), name="second")
    with pytest.raises(
        runnerkit.AmbiguousComponentError,
        match=r"The runner name `Twin` is ambiguous: it is provided by `first` and `second`\. "
        r"Use a qualified name to pick one: `first:Twin`, `second:Twin`\.",
    ) as info:
        c.lookup("runner", "Twin")
    assert isinstance(info.value, KeyError)
    assert info.value.distributions == ["first", "second"]
    assert c.get("runner", "first:Twin") is LocalRunner
    assert c.get("runner", "second:Twin") is Other


def test_a_third_party_name_equal_to_a_built_in_is_shadowed_and_reached_by_its_qualified_name() -> None:
    c = Container(autoload=False, plugins=[plugin_providing("IterBasedRunner")])
    assert c.get("runner", "IterBasedRunner") is runnerkit.IterBasedRunner
    shadowed = c.lookup("runner", "Plugin:IterBasedRunner")
    assert shadowed.target == "tests.test_container:LocalRunner"
    assert shadowed.shadowed is not None
    assert "reached only as `Plugin:IterBasedRunner`. Rename it." in shadowed.shadowed
    assert shadowed.to_json()["problem"] == shadowed.shadowed
    assert c.get("runner", "Plugin:IterBasedRunner") is LocalRunner
    assert c.lookup("runner", "IterBasedRunner").shadowed is None


def test_two_third_party_providers_of_one_name_stay_ambiguous() -> None:
    c = Container(autoload=False, plugins=[plugin_providing("Same")])
    c.register_plugin(plugin_providing("Same"), name="Other")
    with pytest.raises(runnerkit.AmbiguousComponentError, match=r"provided by `Other` and `Plugin`"):
        c.lookup("runner", "Same")


def test_a_plugin_component_of_the_wrong_kind_fails_when_built_only() -> None:
    c = Container(autoload=False, plugins=[plugin_providing("Wrong", "tests.test_container:RunnersPlugin")])
    assert c.lookup("runner", "Wrong").target == "tests.test_container:RunnersPlugin"
    with pytest.raises(
        runnerkit.PluginLoadError,
        match=r"^Cannot load `Wrong = tests.test_container:RunnersPlugin` from run-time plugin `Plugin`: "
        r"a runner must be a subclass of `runnerkit.BaseRunner`, got RunnersPlugin$",
    ):
        c.get("runner", "Wrong")


# -- isolation -------------------------------------------------------------------------------


def test_a_container_of_its_own_does_not_touch_the_default_one() -> None:
    default = runnerkit.default_container()
    before = [r.qualified_name for r in default.records()]
    mine = Container(autoload=False, plugins=[RunnersPlugin()])
    assert mine.get("runner", "LocalRunner") is LocalRunner
    assert [r.qualified_name for r in default.records()] == before
    with pytest.raises(runnerkit.UnknownComponentError):
        default.lookup("runner", "LocalRunner")


def test_a_plugin_registered_on_the_default_container_is_not_seen_by_others() -> None:
    plugin = plugin_providing("OnlyOnDefault")
    runnerkit.register_plugin(plugin)
    try:
        assert runnerkit.default_container().get("runner", "OnlyOnDefault") is LocalRunner
        with pytest.raises(runnerkit.UnknownComponentError):
            Container(autoload=False).lookup("runner", "OnlyOnDefault")
    finally:
        runnerkit.unregister_plugin(plugin)
    with pytest.raises(runnerkit.UnknownComponentError):
        runnerkit.default_container().lookup("runner", "OnlyOnDefault")


# -- installed distributions (read through `path`) -------------------------------------------


def test_autoload_off_reads_only_runnerkit_from_the_same_path(site: Path) -> None:
    c = Container(autoload=False, path=[str(site), *sys.path])
    assert {r.distribution for r in c.records()} == {"runnerkit"}
    assert c.problems == []


def test_disabled_distributions_are_ignored(site: Path) -> None:
    c = Container(disabled=["Beta_Runners", "gamma-plugin"], path=[str(site), *sys.path])
    dists = {r.distribution for r in c.records()}
    assert "beta-runners" not in dists
    assert "gamma-plugin" not in dists
    assert c.lookup("runner", "SharedRunner").distribution == "alpha-runners"


def test_a_third_party_constructor_from_an_entry_point_builds(full: Container) -> None:
    import torch

    class Net(torch.nn.Module):
        def train_step(self, *args: Any) -> dict[str, Any]:
            return {}

    runner = runnerkit.build(
        dict(type="alpha-runners:FastRunner", constructor="AlphaConstructor", max_iters=1),
        default_args=dict(model=Net()), container=full,
    )
    assert type(runner).__module__ == "alpha_runners.runners"
    assert runner.built_by == "AlphaConstructor"


def test_broken_components_fail_alone_and_listing_keeps_working(full: Container) -> None:
    count = len(full.records())
    with pytest.raises(
        runnerkit.PluginLoadError,
        match=r"^Cannot load `ExplodingRunner = beta_runners.exploding:ExplodingRunner \(group `runnerkit.runners`\)` "
        r"from distribution `beta-runners`: importing `beta_runners.exploding:ExplodingRunner` failed: "
        r"RuntimeError\('beta exploded on import'\)$",
    ) as info:
        full.get("runner", "ExplodingRunner")
    assert isinstance(info.value.__cause__, RuntimeError)
    assert (info.value.distribution, info.value.entry_point) == (
        "beta-runners", "ExplodingRunner = beta_runners.exploding:ExplodingRunner (group `runnerkit.runners`)")
    assert full.get("runner", "beta-runners:SharedRunner").provider == "beta"
    assert full.get("hook", "AlphaHook").__name__ == "AlphaHook"
    assert len(full.records()) == count


def test_a_failed_plugin_module_is_imported_once_and_reported_every_time(full: Container) -> None:
    first = [p for p in full.problems if p.distribution == "broken-plugin"]
    full.unregister_plugin(object())  # forces the records to be collected again
    again = [p for p in full.problems if p.distribution == "broken-plugin"]
    assert len(first) == 1
    assert again == first


def test_refresh_forgets_plugins_from_entry_points_but_keeps_run_time_ones(full: Container) -> None:
    full.register_plugin(RunnersPlugin())
    assert full.lookup("runner", "GammaRunner").source == "plugin"
    full.refresh()
    assert full.lookup("runner", "GammaRunner").distribution == "gamma-plugin"
    assert full.get("runner", "LocalRunner") is LocalRunner
    assert sorted(p.distribution or "" for p in full.problems) == ["broken-plugin", "future-runners", "typo-plugin"]


def test_the_environment_switches_are_read_when_a_container_is_made(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = [str(site), *sys.path]
    monkeypatch.setenv("RUNNERKIT_DISABLE_PLUGIN_AUTOLOAD", "true")
    assert {r.distribution for r in Container(path=path).records()} == {"runnerkit"}
    # An explicit argument wins over the environment.
    assert "alpha-runners" in {r.distribution for r in Container(path=path, autoload=True, disabled=[]).records()}
    monkeypatch.setenv("RUNNERKIT_DISABLE_PLUGIN_AUTOLOAD", "0")
    monkeypatch.setenv("RUNNERKIT_DISABLE_PLUGINS", "alpha-runners")
    dists = {r.distribution for r in Container(path=path).records()}
    assert "alpha-runners" not in dists
    assert "beta-runners" in dists


def test_the_hookimpl_marker_belongs_to_the_runnerkit_project() -> None:
    assert runnerkit.hookimpl.project_name == "runnerkit"


def test_the_args_schema_of_a_plugin_runner_shows_its_extra_field(full: Container) -> None:
    with using(full):
        schema = runnerkit.args_schema("acme-runners:SeededIterRunner")
        from_plugin = runnerkit.args_schema("SeededEpochRunner")
    assert list(schema["properties"])[-1] == "seed"
    assert schema["properties"]["seed"]["anyOf"] == [{"minimum": 0, "type": "integer"}, {"type": "null"}]
    assert sorted(n for n, p in schema["properties"].items() if p.get("x-runtime-only")) == [
        "batch_processor", "logger", "model", "optimizer"]
    assert from_plugin["properties"] == schema["properties"]


# -- one bad plugin never stops the others (run-time plugins; installed ones in test_plugin_isolation.py) --


class _Unreadable(dict):  # type: ignore[type-arg]
    def items(self) -> Any:
        raise RuntimeError("cannot be read")


@pytest.mark.parametrize(
    ("returned", "reason"),
    [
        (["Name"], r"TypeError\(\"`runnerkit_runners\(\)` returned list, expected a mapping"),
        ({"X": 42}, r"TypeError\(\"`runnerkit_runners\(\)` returned `X: int`; give a class or a 'module:attr' string"),
        ({3: "m:X"}, r"TypeError\('`runnerkit_runners\(\)` returned the key 3; component names must be non-empty strings"),
        ({"X": "no-colon"}, r"TypeError\(\"`runnerkit_runners\(\)` returned `X: 'no-colon'`; a string must be 'module:attr'"),
        (_Unreadable(), r"RuntimeError\('cannot be read'\)"),
    ],
)
def test_a_hook_implementation_returning_garbage_is_that_plugins_problem_alone(returned: Any, reason: str) -> None:
    class Garbage:
        @runnerkit.hookimpl
        def runnerkit_runners(self) -> Any:
            return returned

    c = Container(autoload=False, plugins=[RunnersPlugin()])
    c.register_plugin(Garbage(), name="garbage")
    (problem,) = c.problems
    assert isinstance(problem, runnerkit.PluginLoadError)
    assert re.search(r"^Cannot load `garbage` from a run-time plugin: its hook `runnerkit_runners` failed: " + reason, str(problem))
    assert c.get("runner", "LocalRunner") is LocalRunner
    assert c.get("runner", "IterBasedRunner") is runnerkit.IterBasedRunner


def test_system_exit_in_a_hook_implementation_is_caught_and_keyboard_interrupt_is_not() -> None:
    class Exits:
        @runnerkit.hookimpl
        def runnerkit_hooks(self) -> Any:
            raise SystemExit(2)

    class Interrupted:
        @runnerkit.hookimpl
        def runnerkit_hooks(self) -> Any:
            raise KeyboardInterrupt

    c = Container(autoload=False, plugins=[Exits()])
    (problem,) = c.problems
    assert str(problem).endswith("its hook `runnerkit_hooks` failed: it called `sys.exit(2)` (SystemExit)")
    assert isinstance(problem.__cause__, SystemExit)
    c.register_plugin(Interrupted())
    with pytest.raises(KeyboardInterrupt):
        c.records()


def test_a_component_module_calling_sys_exit_fails_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "exits_on_import.py").write_text("import sys\nsys.exit('bye')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    c = Container(autoload=False, plugins=[plugin_providing("Exiting", "exits_on_import:Runner")])
    with pytest.raises(runnerkit.PluginLoadError, match=r"importing `exits_on_import:Runner` failed: it called "
                                                        r"`sys.exit\('bye'\)` \(SystemExit\)$"):
        c.get("runner", "Exiting")
    with pytest.raises(runnerkit.PluginLoadError, match=r"\(given as `module:attr`\): importing `exits_on_import:Runner` failed"):
        c.get("runner", "exits_on_import:Runner")
    assert c.get("runner", "IterBasedRunner") is runnerkit.IterBasedRunner
