"""One bad plugin never stops the others (issue 8 section 4), tried with real installed distributions.

Each distribution below is built into a wheel and pip-installed; ``runnerkit list``,
``check-plugin``, ``validate`` and Python lookups then run in fresh processes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.cli_helpers import runnerkit
from tests.plugin_helpers import FakeDist, install, run_python

pytestmark = pytest.mark.slow

_RUNNER = "import runnerkit\n\n\nclass {name}(runnerkit.IterBasedRunner):\n    provider = {provider!r}\n"

DISTS = (
    # A plugin module that calls sys.exit at import.
    FakeDist(
        "exit-plugin", "0.1",
        entry_points={"runnerkit.plugins": {"exiting": "exit_plugin.plugin"}},
        files={"exit_plugin/plugin.py": """
            import sys

            import runnerkit

            @runnerkit.hookimpl
            def runnerkit_runners():
                return {"ExitRunner": "exit_plugin.plugin:ExitRunner"}

            sys.exit(3)
        """},
    ),
    # Hook implementations returning garbage, or a mapping that fails when read.
    FakeDist(
        "garbage-plugin", "0.1",
        entry_points={"runnerkit.plugins": {"garbage": "garbage_plugin.plugin"}},
        files={"garbage_plugin/plugin.py": """
            import collections.abc

            import runnerkit


            class Exploding(collections.abc.Mapping):
                def __getitem__(self, key):
                    raise KeyError(key)

                def __iter__(self):
                    raise RuntimeError("this mapping cannot be read")

                def __len__(self):
                    return 1


            @runnerkit.hookimpl
            def runnerkit_runners():
                return ["GarbageRunner"]


            @runnerkit.hookimpl
            def runnerkit_hooks():
                return Exploding()


            @runnerkit.hookimpl
            def runnerkit_constructors():
                return {"GarbageConstructor": 42}


            @runnerkit.hookimpl
            def runnerkit_models():
                raise SystemExit("models hook exits")
        """},
    ),
    # A component module that calls sys.exit at import; its sibling works.
    FakeDist(
        "exit-component", "0.1",
        entry_points={"runnerkit.runners": {"ExitingRunner": "exit_component.exiting:ExitingRunner",
                                            "SiblingRunner": "exit_component.runners:SiblingRunner"}},
        files={
            "exit_component/exiting.py": "import sys\nsys.exit('component exits')\n",
            "exit_component/runners.py": _RUNNER.format(name="SiblingRunner", provider="exit-component"),
        },
    ),
    # Reuses runnerkit's names.
    FakeDist(
        "shadow-runners", "0.2",
        entry_points={
            "runnerkit.runners": {"IterBasedRunner": "shadow_runners.runners:IterBasedRunner",
                                  "ShadowOnlyRunner": "shadow_runners.runners:ShadowOnlyRunner"},
            "runnerkit.hooks": {"CheckpointHook": "shadow_runners.hooks:CheckpointHook"},
        },
        files={
            "shadow_runners/runners.py": _RUNNER.format(name="IterBasedRunner", provider="shadow")
            + "\n\n" + _RUNNER.format(name="ShadowOnlyRunner", provider="shadow").split("\n", 1)[1],
            "shadow_runners/hooks.py": "import runnerkit\n\n\nclass CheckpointHook(runnerkit.Hook):\n    pass\n",
        },
    ),
    FakeDist(
        "good-runners", "1.0",
        entry_points={"runnerkit.runners": {"GoodRunner": "good_runners.runners:GoodRunner"}},
        files={"good_runners/runners.py": _RUNNER.format(name="GoodRunner", provider="good")},
    ),
)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    scratch = tmp_path_factory.mktemp("isolation")
    return install(DISTS, scratch / "site", scratch)


def cli(site: Path, tmp_path: Path, *args: str) -> Any:
    return runnerkit(*args, cwd=tmp_path, path=[site], env={"RUNNERKIT_CACHE_DIR": str(tmp_path / "cache")})


def test_runnerkit_list_lists_everything_else_and_shows_each_problem(site: Path, tmp_path: Path) -> None:
    proc = cli(site, tmp_path, "list", "--kind", "all")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for name in ("GoodRunner", "SiblingRunner", "ExitingRunner", "ShadowOnlyRunner", "IterBasedRunner", "DemoModel"):
        assert name in out
    assert "IterBasedRunner (shadowed)" in out
    assert "CheckpointHook (shadowed)" in out
    assert ("Cannot load `exiting = exit_plugin.plugin (group `runnerkit.plugins`)` from distribution `exit-plugin`: "
            "importing `exit_plugin.plugin` failed: it called `sys.exit(3)` (SystemExit)") in out
    assert "its hook `runnerkit_runners` failed: TypeError(\"`runnerkit_runners()` returned list, expected a mapping" in out
    assert "its hook `runnerkit_hooks` failed: RuntimeError('this mapping cannot be read')" in out
    assert "its hook `runnerkit_constructors` failed: TypeError(\"`runnerkit_constructors()` returned `GarbageConstructor: int`" in out
    assert "its hook `runnerkit_models` failed: it called `sys.exit('models hook exits')` (SystemExit)" in out
    assert ("(shadowed) runner `IterBasedRunner` from `shadow-runners`: shadowed: runnerkit provides a runner named "
            "`IterBasedRunner` and its names are reserved") in out
    assert proc.stderr == ""


def test_runnerkit_list_json_carries_the_shadowing_and_reports_broken_plugins_on_stderr(site: Path, tmp_path: Path) -> None:
    proc = cli(site, tmp_path, "list", "--json")
    assert proc.returncode == 0, proc.stderr
    records = json.loads(proc.stdout)
    shadow = [r for r in records if r["name"] == "IterBasedRunner" and r["distribution"] == "shadow-runners"]
    assert shadow[0]["problem"].startswith("shadowed: runnerkit provides a runner named `IterBasedRunner`")
    own = [r for r in records if r["name"] == "IterBasedRunner" and r["distribution"] == "runnerkit"]
    assert own[0]["problem"] is None
    assert "broken plugin: Cannot load `exiting = exit_plugin.plugin" in proc.stderr


def test_built_ins_and_healthy_components_still_build_and_bad_ones_fail_alone(site: Path, tmp_path: Path) -> None:
    out = run_python("""
        import torch
        import runnerkit

        class Net(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.w = torch.nn.Parameter(torch.zeros(1))
            def train_step(self, *a, **k):
                return {}

        def build(name):
            return type(runnerkit.build(dict(type=name, max_iters=1), dict(model=Net()))).__module__

        def error(call):
            try:
                call()
            except BaseException as err:
                return [type(err).__name__, str(err)]
            return None

        c = runnerkit.default_container()
        emit({
            "bare": build("IterBasedRunner"),
            "qualified": build("shadow-runners:IterBasedRunner"),
            "hook": c.get("hook", "CheckpointHook").__module__,
            "good": build("GoodRunner"),
            "sibling": build("SiblingRunner"),
            "exiting": error(lambda: c.get("runner", "ExitingRunner")),
            "from_failed_plugin": error(lambda: c.get("runner", "ExitRunner")),
            "qualified_failed_plugin": error(lambda: c.get("runner", "exit-plugin:ExitRunner")),
        })
    """, path=[site], cache_dir=tmp_path / "cache", cwd=tmp_path)
    assert out["bare"] == "runnerkit.runners.iter_based"
    assert out["qualified"] == "shadow_runners.runners"
    assert out["hook"] == "runnerkit.hooks.checkpoint"
    assert out["good"] == "good_runners.runners"
    assert out["sibling"] == "exit_component.runners"
    assert out["exiting"] == ["PluginLoadError", (
        "Cannot load `ExitingRunner = exit_component.exiting:ExitingRunner (group `runnerkit.runners`)` from "
        "distribution `exit-component`: importing `exit_component.exiting:ExitingRunner` failed: it called "
        "`sys.exit('component exits')` (SystemExit)")]
    kind, message = out["from_failed_plugin"]
    assert kind == "UnknownComponentError"
    assert "It may be provided by a plugin that failed to load: Cannot load `exiting = exit_plugin.plugin" in message
    assert "`runnerkit check-plugin exit-plugin`" in message
    assert "install the package" not in message
    assert out["qualified_failed_plugin"][0] == "PluginLoadError"
    assert "it called `sys.exit(3)` (SystemExit)" in out["qualified_failed_plugin"][1]


def test_check_plugin_fails_on_a_reserved_name_telling_the_author_to_rename(site: Path, tmp_path: Path) -> None:
    proc = cli(site, tmp_path, "check-plugin", "shadow-runners")
    assert proc.returncode == 1, proc.stderr
    assert "FAIL  runner      IterBasedRunner (shadowed by runnerkit's)" in proc.stdout
    assert "ok    runner      ShadowOnlyRunner" in proc.stdout
    assert ("runner `IterBasedRunner` (shadow_runners.runners:IterBasedRunner): runnerkit provides a runner of that "
            "name and its names are reserved, so configs naming `IterBasedRunner` build runnerkit's, never this one "
            "(it is reached only as `shadow-runners:IterBasedRunner`); rename it, e.g. `ShadowIterBasedRunner`.") in proc.stdout
    assert "hook `CheckpointHook` (shadow_runners.hooks:CheckpointHook): runnerkit provides a hook" in proc.stdout


def test_check_plugin_reports_import_problems_that_list_cannot_see(site: Path, tmp_path: Path) -> None:
    proc = cli(site, tmp_path, "check-plugin", "exit-component")
    assert proc.returncode == 1
    assert "FAIL  runner      ExitingRunner" in proc.stdout
    assert "ok    runner      SiblingRunner" in proc.stdout
    assert "it called `sys.exit('component exits')` (SystemExit)" in proc.stdout
    proc = cli(site, tmp_path, "check-plugin", "exit-plugin")
    assert proc.returncode == 1
    assert "it called `sys.exit(3)` (SystemExit)" in proc.stdout
    assert cli(site, tmp_path, "check-plugin", "good-runners").returncode == 0


def test_validate_and_run_work_next_to_broken_plugins(site: Path, tmp_path: Path) -> None:
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({
        "model": {"type": "DemoModel", "hidden": 4},
        "data": {"samples_per_gpu": 8, "train": {"type": "DemoDataset", "num_samples": 16}},
        "optimizer": {"type": "SGD", "lr": 0.1}, "optimizer_config": {},
        "checkpoint_config": {"interval": 2},
        "runner": {"type": "IterBasedRunner", "max_iters": 2},
    }))
    proc = cli(site, tmp_path, "validate", str(cfg))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = cli(site, tmp_path, "run", str(cfg), "--work-dir", str(tmp_path / "work"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (tmp_path / "work" / "iter_2.pth").exists()
