"""The ``runnerkit`` command line: list, show, schema, check-plugin, help, exit codes and error messages."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from runnerkit.cli import build_parser
from tests.cli_helpers import main, runnerkit
from tests.plugin_helpers import fake_site

COMMANDS = ["list", "show", "schema", "validate", "run", "demo", "consolidate", "plot", "check-plugin"]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fake plugin distributions (healthy, clashing, broken), installed once."""
    return fake_site(tmp_path_factory)


# -- the console script ----------------------------------------------------------------------------


def test_the_console_script_lists_components_as_contract_json(tmp_path: Path) -> None:
    proc = runnerkit("list", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    records = json.loads(proc.stdout)
    assert {r["kind"] for r in records} == {"runner", "constructor", "hook", "optimizer_constructor"}
    assert {"kind", "name", "target", "distribution", "version", "source"} <= set(records[0])
    runner = next(r for r in records if r["name"] == "IterBasedRunner")
    assert runner["target"] == "runnerkit.runners.iter_based:IterBasedRunner"
    assert (runner["kind"], runner["distribution"], runner["source"]) == ("runner", "runnerkit", "entry-point")


def test_listing_imports_neither_torch_nor_any_component(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from runnerkit.cli import main\n"
        "assert main(['list', '--kind', 'all']) == 0\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'pydantic') or "
        "m.rpartition('.')[0] in ('runnerkit.runners', 'runnerkit.hooks') or m == 'runnerkit.demo')\n"
        "print('HEAVY', heavy)\n"
    )
    import subprocess

    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "HEAVY []" in proc.stdout
    imported = subprocess.run([sys.executable, "-X", "importtime", "-m", "runnerkit", "list"], cwd=tmp_path,
                              capture_output=True, text=True, timeout=120)
    assert imported.returncode == 0
    modules = {line.rsplit("|", 1)[-1].strip() for line in imported.stderr.splitlines() if line.startswith("import time:")}
    assert "runnerkit.cli" in modules and "torch" not in modules


def test_python_dash_m_runnerkit_is_the_same_command_line(tmp_path: Path) -> None:
    import subprocess

    proc = subprocess.run([sys.executable, "-m", "runnerkit", "--version"], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 0
    assert proc.stdout.startswith("runnerkit ")


def test_broken_plugins_are_listed_as_problems_and_the_rest_still_lists(site: Path, tmp_path: Path) -> None:
    proc = runnerkit("list", cwd=tmp_path, path=[site])
    assert proc.returncode == 0, proc.stderr
    assert "FastRunner" in proc.stdout and "IntactRunner" in proc.stdout
    assert "FutureRunner (!)" in proc.stdout
    problems = proc.stdout.split("Problems (these components cannot be used; the rest work):")[1]
    assert "broken plugin: Cannot load `broken = broken_plugin.plugin" in problems
    assert "RuntimeError('broken plugin module')" in problems
    assert "unknown hook 'runnerkit_runnerz'" in problems
    as_json = runnerkit("list", "--json", cwd=tmp_path, path=[site])
    assert as_json.returncode == 0
    assert any(r["name"] == "FastRunner" and r["distribution"] == "alpha-runners" for r in json.loads(as_json.stdout))
    assert "runnerkit list: broken plugin: Cannot load `broken = broken_plugin.plugin" in as_json.stderr


@pytest.fixture
def site_on_path(site: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The fake distributions importable in this process, served by a fresh container."""
    from runnerkit._build import using
    from runnerkit._container import Container

    monkeypatch.syspath_prepend(str(site))
    with using(Container()):
        yield


def test_check_plugin_passes_a_healthy_distribution(site_on_path: None, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = main(capsys, "check-plugin", "alpha-runners")
    assert code == 0, out
    assert "Checking alpha-runners 1.2.3: 4 components" in out
    assert "ok    runner      FastRunner  (arguments: model, batch_processor" in out
    assert "alpha-runners: all 4 components load and are of the right kind." in out


def test_check_plugin_reports_a_plugin_module_that_fails_and_the_components_that_work(
    site_on_path: None, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = main(capsys, "check-plugin", "broken-plugin")
    assert code == 1
    assert "ok    runner      IntactRunner" in out
    assert "1 problem:\n  - Cannot load `broken = broken_plugin.plugin (group `runnerkit.plugins`)` from distribution " \
           "`broken-plugin`: importing `broken_plugin.plugin` failed: RuntimeError('broken plugin module')" in out


@pytest.mark.slow
def test_check_plugin_lists_every_problem_of_a_broken_distribution_without_a_traceback(site: Path, tmp_path: Path) -> None:
    broken = runnerkit("check-plugin", "beta-runners", cwd=tmp_path, path=[site])
    assert broken.returncode == 1
    assert "4 problems:" in broken.stdout
    assert "ok    runner      SharedRunner" in broken.stdout
    assert "a hook must be a subclass of `runnerkit.Hook`, got SharedRunner" in broken.stdout
    assert "a runner must be a subclass of `runnerkit.BaseRunner`, got NotARunner" in broken.stdout
    assert "RuntimeError('beta exploded on import')" in broken.stdout
    assert "No module named 'beta_runners.missing'" in broken.stdout
    assert "Traceback" not in broken.stdout + broken.stderr


def test_check_plugin_of_a_distribution_that_is_not_installed_says_how_to_install_it(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = main(capsys, "check-plugin", "runnerkit-no-such-dist")
    assert code == 1
    assert err == ("runnerkit check-plugin: error: No distribution `runnerkit-no-such-dist` is installed; install it "
                   "(`pip install -e .` in the plugin's folder) or check the name with `pip list`.\n")


def test_check_plugin_of_a_distribution_without_components_points_to_the_entry_point_groups(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = main(capsys, "check-plugin", "pluggy")
    assert code == 1
    assert "`pluggy` " in err and "declares no runnerkit components: add entry points in the groups runnerkit.runners" in err


def test_check_plugin_passes_runnerkit_itself(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = main(capsys, "check-plugin", "runnerkit")
    assert code == 0
    assert "ok    model       DemoModel" in out and "ok    dataset     DemoDataset" in out
    assert "runnerkit: all " in out


# -- list, show, schema in-process -----------------------------------------------------------------


def test_list_shows_a_table_of_the_core_kinds_and_hides_models_unless_asked(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = main(capsys, "list")
    assert code == 0
    assert out.splitlines()[0].split() == ["KIND", "NAME", "TARGET", "DISTRIBUTION", "VERSION", "SOURCE"]
    assert "IterBasedRunner" in out and "CheckpointHook" in out and "DemoModel" not in out
    assert "optimizer_constructor  DefaultOptimizerConstructor" in out
    assert "`runnerkit list --kind all` also shows models and datasets" in out
    code, out, _ = main(capsys, "list", "--kind", "model")
    assert [line.split()[:2] for line in out.splitlines()[2:]] == [["model", "DemoModel"]]
    code, out, _ = main(capsys, "list", "--kind", "all", "--json")
    assert {"model", "dataset", "runner", "constructor", "hook", "optimizer_constructor"} == {r["kind"] for r in json.loads(out)}


def test_show_gives_provenance_docstring_and_the_argument_model(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = main(capsys, "show", "IterBasedRunner")
    assert code == 0
    assert out.startswith("IterBasedRunner (runner)\n  target:        runnerkit.runners.iter_based:IterBasedRunner\n"
                          "  provided by:   runnerkit ")
    assert "Arguments (BaseRunnerArgs):" in out
    assert "  max_iters: int | None = None\n      Stop training after this many iterations" in out
    assert "  model: torch.nn.Module (required)\n      (run time only) The model" in out


def test_show_reads_arguments_of_plain_components_from_signature_and_docstring(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = main(capsys, "show", "runnerkit:DemoModel")
    assert code == 0
    assert "DemoModel (model)" in out
    assert "  hidden: int = 64\n      the hidden layer's width." in out


def test_show_of_an_unknown_name_suggests_the_closest_one(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = main(capsys, "show", "DemoModl")
    assert (code, out) == (1, "")
    assert err == ("runnerkit show: error: No installed component is called `DemoModl`. Did you mean "
                   "`DemoModel`? `runnerkit list --kind all` shows every installed component; install the "
                   "package that provides `DemoModl` or correct the spelling.\n")


def test_show_of_a_clashing_name_asks_for_a_qualified_one(site: Path, tmp_path: Path) -> None:
    proc = runnerkit("show", "SharedRunner", cwd=tmp_path, path=[site])
    assert proc.returncode == 1
    assert proc.stderr == ("runnerkit show: error: The runner name `SharedRunner` is ambiguous: it is provided by "
                           "`alpha-runners` and `beta-runners`. Use a qualified name to pick one: "
                           "`alpha-runners:SharedRunner`, `beta-runners:SharedRunner`.\n")


def test_show_of_a_broken_component_is_one_message(site: Path, tmp_path: Path) -> None:
    proc = runnerkit("show", "ExplodingRunner", cwd=tmp_path, path=[site])
    assert proc.returncode == 1
    assert "ExplodingRunner (runner)" in proc.stdout
    assert proc.stderr.startswith("runnerkit show: error: Cannot load `ExplodingRunner = beta_runners.exploding:"
                                  "ExplodingRunner (group `runnerkit.runners`)` from distribution `beta-runners`")
    assert "Traceback" not in proc.stderr


def test_schema_prints_the_runners_json_schema_with_run_time_markers(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = main(capsys, "schema", "IterBasedRunner")
    assert code == 0
    schema = json.loads(out)
    assert schema["additionalProperties"] is False
    assert schema["properties"]["model"]["x-runtime-only"] is True
    assert "x-runtime-only" not in schema["properties"]["max_iters"]


def test_schema_of_a_model_comes_from_its_signature(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = main(capsys, "schema", "DemoModel")
    assert code == 0
    schema = json.loads(out)
    assert schema["title"] == "DemoModel (model)"
    assert schema["properties"]["hidden"] == {"default": 64, "description": "the hidden layer's width.",
                                              "title": "Hidden", "type": "integer"}


def test_schema_without_a_name_prints_the_whole_config_schema(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = main(capsys, "schema")
    assert code == 0
    schema = json.loads(out)
    assert schema["title"] == "runnerkit config"
    assert "hook.CheckpointHook" in schema["$defs"] and "optimizer.SGD" in schema["$defs"]


# -- help and usage errors ---------------------------------------------------------------------------


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(capsys: pytest.CaptureFixture[str], command: str) -> None:
    code, out, _ = main(capsys, command, "--help")
    assert code == 0
    assert out.startswith(f"usage: runnerkit {command} ")


def test_the_parser_knows_exactly_the_documented_commands() -> None:
    import argparse

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    assert list(sub.choices) == COMMANDS


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("lst",), "argument COMMAND: invalid choice: 'lst'"),
        (("list", "--kind", "runners"), "argument --kind: invalid choice: 'runners'"),
        (("show",), "the following arguments are required: name"),
        (("demo", "--max-iters", "0"), "argument --max-iters: expected a positive integer, got `0`"),
        (("validate", "x.py", "--cfg-options", "a.b"), "expected KEY=VALUE such as `runner.max_iters=100`, got `a.b`"),
    ],
)
def test_usage_errors_exit_2_with_argparses_message(capsys: pytest.CaptureFixture[str], args: tuple[str, ...], message: str) -> None:
    code, _, err = main(capsys, *args)
    assert code == 2
    assert message in err


def test_usage_errors_of_the_console_script_exit_2(tmp_path: Path) -> None:
    proc = runnerkit("list", "--kind", "runners", cwd=tmp_path)
    assert proc.returncode == 2
    assert "usage: runnerkit list" in proc.stderr


def test_runnerkit_debug_shows_the_traceback_of_a_known_error(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from runnerkit.cli._common import CommandError

    monkeypatch.setenv("RUNNERKIT_DEBUG", "1")
    with pytest.raises(CommandError, match=r"No installed component is called `Nope`"):
        main(capsys, "show", "Nope")


def test_runnerkit_without_arguments_prints_the_help_and_exits_0(tmp_path: Path) -> None:
    result = runnerkit(cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: runnerkit")
    assert "commands:" in result.stdout and "validate" in result.stdout and "demo" in result.stdout
    assert result.stderr == ""


def test_show_describes_an_optimizer_from_its_argument_model(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = main(capsys, "show", "SGD")
    assert code == 0
    assert out.startswith("SGD (optimizer)\n  target:        torch.optim:SGD\n")
    assert "Arguments (SGDArgs):\n  params: " in out and "(run time only)" in out
    assert "\n  lr: float | Tensor = 0.001\n" in out


# -- the library speaks of arguments, the command line of flags ---------------------------------------


def _library_strings() -> Iterator[tuple[str, int, str]]:
    """Every string constant of the library (not ``runnerkit/cli``) that is not a docstring."""
    import ast

    import runnerkit

    root = Path(runnerkit.__file__).parent
    for path in sorted(root.rglob("*.py")):
        if "cli" in path.relative_to(root).parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {
            id(node.body[0].value) for node in ast.walk(tree)
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
            and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                yield str(path.relative_to(root)), node.lineno, node.value


def test_library_messages_name_no_flag_of_runnerkit_run() -> None:
    import argparse

    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    flags = {flag for action in commands.choices["run"]._actions for flag in action.option_strings if flag.startswith("--")}
    assert {"--resume", "--work-dir", "--overwrite", "--launcher"} <= flags
    named = [f"{path}:{line}: {flag}" for path, line, text in _library_strings()
             for flag in flags if f"`{flag}" in text or f"{flag} " in text]
    assert named == []


def test_the_command_line_says_library_arguments_as_flags() -> None:
    from runnerkit import WorkDirInUseError
    from runnerkit.cli._common import in_flags

    message = in_flags(str(WorkDirInUseError("w", ["iter_2.pth"])))
    assert message.endswith("Nothing was trained: continue it with `--resume` (or `--resume auto`), train into another "
                            "`--work-dir`, or start over with `--overwrite` (deletes those checkpoints).")
    assert in_flags("continue with `resume=True` (config key `resume`).") == "continue with `--resume`."
    assert in_flags("nothing to translate: `load_from`") == "nothing to translate: `load_from`"
