"""Plugin modules that hang or end the process at import (real installed distributions, fresh processes).

Building and validating runnerkit's own components imports no third-party plugin module (their names are
reserved, known from runnerkit's metadata alone); ``runnerkit list`` asks plugin modules in child processes
first and names the ones that do not answer, instead of hanging or dying with them.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.cli_helpers import runnerkit
from tests.plugin_helpers import FakeDist, install, run_python

pytestmark = pytest.mark.slow

_PLUGIN = """
import runnerkit

@runnerkit.hookimpl
def runnerkit_runners():
    return {{"{name}": "runnerkit.runners.iter_based:IterBasedRunner"}}

{body}
"""

DISTS = (
    FakeDist("hanging-plugin", "0.1", entry_points={"runnerkit.plugins": {"hangs": "hanging_plugin.plugin"}},
             files={"hanging_plugin/plugin.py": _PLUGIN.format(name="HangRunner", body="import time\ntime.sleep(3600)")}),
    FakeDist("exiting-plugin", "0.1", entry_points={"runnerkit.plugins": {"exits": "exiting_plugin.plugin"}},
             files={"exiting_plugin/plugin.py": _PLUGIN.format(name="ExitRunner", body="import os\nos._exit(7)")}),
    FakeDist("healthy-plugin", "0.1", entry_points={"runnerkit.plugins": {"fine": "healthy_plugin.plugin"}},
             files={"healthy_plugin/plugin.py": _PLUGIN.format(name="FineRunner", body="")}),
)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hangs")
    return install(DISTS, root / "site", root / "scratch")


def test_building_and_running_built_ins_imports_no_plugin_module(site: Path, tmp_path: Path) -> None:
    started = time.monotonic()
    result = run_python(
        """
        import sys, torch, runnerkit
        from runnerkit.demo import DemoModel
        model = DemoModel()
        runner = runnerkit.build(dict(type="IterBasedRunner", max_iters=2),
                                 default_args=dict(model=model, optimizer=torch.optim.SGD(model.parameters(), lr=0.1)))
        runner.register_training_hooks(lr_config=dict(policy="step", step=[1]), optimizer_config=dict(),
                                       checkpoint_config=dict(interval=1), log_config=dict(interval=1))
        emit({"runner": type(runner).__name__,
              "imported": sorted(m for m in sys.modules if m.split(".")[0].endswith("_plugin"))})
        """,
        path=[site], cache_dir=tmp_path / "cache", cwd=tmp_path,
    )
    assert result == {"runner": "IterBasedRunner", "imported": []}
    assert time.monotonic() - started < 60


def test_validate_and_run_of_a_built_in_config_do_not_wait_for_a_hanging_plugin(site: Path, tmp_path: Path) -> None:
    config = Path(__file__).parents[1] / "docs" / "examples" / "demo.py"
    checked = runnerkit("validate", str(config), cwd=tmp_path, path=[site], timeout=120)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    ran = runnerkit("run", str(config), "--work-dir", str(tmp_path / "w"), "--cfg-options", "runner.max_iters=4",
                    cwd=tmp_path, path=[site], timeout=120)
    assert ran.returncode == 0, ran.stdout + ran.stderr


def test_list_names_a_plugin_that_hangs_or_exits_and_lists_the_rest(site: Path, tmp_path: Path) -> None:
    started = time.monotonic()
    done = runnerkit("list", cwd=tmp_path, path=[site], env={"RUNNERKIT_PLUGIN_TIMEOUT": "3"}, timeout=60)
    assert time.monotonic() - started < 30
    assert done.returncode == 0, done.stderr
    assert "FineRunner" in done.stdout and "IterBasedRunner" in done.stdout
    assert "HangRunner" not in done.stdout and "ExitRunner" not in done.stdout
    assert ("broken plugin: Cannot load `hangs = hanging_plugin.plugin (group `runnerkit.plugins`)` from distribution "
            "`hanging-plugin`: importing `hanging_plugin.plugin` (or calling its hooks) did not finish within 3 s, so "
            "it was not imported here") in done.stdout
    assert ("broken plugin: Cannot load `exits = exiting_plugin.plugin (group `runnerkit.plugins`)` from distribution "
            "`exiting-plugin`: importing `exiting_plugin.plugin` ended the process with exit code 7") in done.stdout


def test_list_json_reports_them_on_stderr(site: Path, tmp_path: Path) -> None:
    done = runnerkit("list", "--json", cwd=tmp_path, path=[site], env={"RUNNERKIT_PLUGIN_TIMEOUT": "3"}, timeout=60)
    assert done.returncode == 0, done.stderr
    assert '"FineRunner"' in done.stdout
    assert "did not finish within 3 s" in done.stderr and "exit code 7" in done.stderr
