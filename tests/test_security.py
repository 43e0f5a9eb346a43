"""A config that is data never runs code (issue 8 section 1; docs/security.md).

Each attack is tried for real: a JSON/YAML/TOML file that names a function or a dangerous class
by import path is read and built (or validated), and a marker file shows that nothing ran.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pydantic
import pytest
import torch

import runnerkit
import runnerkit.check
import runnerkit.config
import runnerkit.hooks
from runnerkit import ConfigError, Container
from runnerkit._resolve import resolve
from runnerkit.config import load_config
from runnerkit.job import build_job
from tests.cli_helpers import main
from tests.helpers import small_job_config

# -- classes a config may name by import path ---------------------------------------------------


class TinyData(torch.utils.data.Dataset[Any]):
    def __len__(self) -> int:
        return 4

    def __getitem__(self, index: int) -> torch.Tensor:
        return torch.zeros(2)


class Unstartable(runnerkit.BaseRunner):
    """A runner class without a training loop (abstract)."""


def write(folder: Path, name: str, data: Any) -> Path:
    path = folder / name
    path.write_text(json.dumps(data) if name.endswith(".json") else data)
    return path


# -- import paths in data: classes of the expected kind only ------------------------------------


def test_popen_as_a_constructor_is_refused_before_it_can_run_a_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # subprocess.Popen(runner_cfg, default_args) would run the config's keys as a command line.
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, "attack.json", {"runner": {"touch": 1, "pwned": 1, "constructor": "subprocess:Popen",
                                                       "type": "IterBasedRunner"}})
    runner_cfg = load_config(path)["runner"]
    with pytest.raises(ConfigError, match=r"^`constructor`: `subprocess:Popen` cannot be used as a constructor: the class "
                                          r"`subprocess.Popen` defines no `__call__`.*functions and other callables are "
                                          r"never called from config data"):
        runnerkit.build(runner_cfg, default_args=dict(model=torch.nn.Linear(1, 1)))
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize(
    ("kind", "spec", "what"),
    [
        ("constructor", "os:system", r"it resolves to the function `(posix|nt).system`, which is a function"),
        ("constructor", "builtins:exec", r"it resolves to the function `builtins.exec`, which is a function"),
        ("runner", "subprocess:Popen", r"the class `subprocess.Popen` is not a subclass of `runnerkit.BaseRunner`"),
        ("hook", "os:system", r"it resolves to the function `(posix|nt).system`, which is a function"),
        ("model", "builtins:eval", r"it resolves to the function `builtins.eval`, which is a function"),
        ("model", "subprocess:Popen", r"the class `subprocess.Popen` is not a subclass of `torch.nn.Module`"),
        ("dataset", "os:popen", r"it resolves to the function `os.popen`, which is a function"),
        ("dataset", "os:environ", r"it resolves to _Environ `.*`, which is not a class"),
        ("optimizer", "os:system", r"it resolves to the function `(posix|nt).system`, which is a function"),
        ("optimizer", "torch.nn:Linear", r"the class `torch.nn.modules.linear.Linear` is not a subclass of `torch.optim.Optimizer`"),
        ("runner", "tests.test_security:Unstartable", r"the class `tests.test_security.Unstartable` is abstract: it does not implement the training loop "
                                                     r"\(`run`, `train`, `val`\)"),
    ],
)
def test_an_import_path_must_name_a_class_of_the_expected_kind(kind: str, spec: str, what: str) -> None:
    with pytest.raises(ConfigError, match=rf"^`the.key`: `{spec}` cannot be used as an? {kind}: {what}\. A `module:attr` "
                                          r"import path in a config may only name "):
        resolve(kind, spec, "the.key")


@pytest.mark.parametrize(
    ("kind", "spec", "expected"),
    [
        ("runner", "runnerkit.runners.iter_based:IterBasedRunner", "IterBasedRunner"),
        ("constructor", "runnerkit._build:DefaultRunnerConstructor", "DefaultRunnerConstructor"),
        ("hook", "runnerkit.hooks.checkpoint:CheckpointHook", "CheckpointHook"),
        ("model", "torch.nn:Linear", "Linear"),
        ("dataset", "tests.test_security:TinyData", "TinyData"),
        ("optimizer", "torch.optim:AdamW", "AdamW"),
        ("optimizer", "Adam", "Adam"),
    ],
)
def test_an_import_path_of_a_class_of_the_right_kind_resolves(kind: str, spec: str, expected: str) -> None:
    assert resolve(kind, spec, "type").__name__ == expected


def test_a_json_job_naming_functions_fails_at_its_first_refused_key(tmp_path: Path) -> None:
    for section, cfg in [
        ("model.type", small_job_config(model={"type": "builtins:exec", "source": "open('pwned', 'w')"})),
        ("data.train.type", small_job_config(data={"samples_per_gpu": 2, "train": {"type": "builtins:eval"}})),
        ("optimizer.type", small_job_config(optimizer={"type": "os:system"})),
    ]:
        loaded = load_config(write(tmp_path, "job.json", cfg))
        with pytest.raises(ConfigError, match=rf"^`{section}`: .* cannot be used as an? "):
            build_job(loaded, work_dir=tmp_path / "work")
    assert not (tmp_path / "pwned").exists()


def test_a_hook_named_by_a_function_is_refused_in_custom_hooks(tmp_path: Path) -> None:
    cfg = small_job_config(custom_hooks=[{"type": "os:system", "command": "touch pwned"}])
    with pytest.raises(ConfigError, match=r"`os:system` cannot be used as a hook: it resolves to the function"):
        build_job(cfg, work_dir=tmp_path / "work")


def test_declared_factories_stay_possible_through_plugins_and_code() -> None:
    def make_model(width: int = 3) -> torch.nn.Module:
        return torch.nn.Linear(width, 1)

    class Factories:
        @runnerkit.hookimpl
        def runnerkit_models(self) -> dict[str, Any]:
            return {"MakeModel": make_model}

    container = Container(autoload=False, plugins=[Factories()])
    assert resolve("model", "MakeModel", "model.type", container) is make_model  # declared by a plugin
    assert resolve("model", make_model, "model.type", container) is make_model  # given in code
    assert resolve("model", torch.nn.Linear, "model.type", container) is torch.nn.Linear


# -- objects: classes, not instances ---------------------------------------------------------------


def test_a_type_or_constructor_given_as_an_instance_is_a_type_error() -> None:
    model = torch.nn.Linear(1, 1)
    with pytest.raises(TypeError, match=r"^`type`: it is IterBasedRunner `.*`, an instance, not a class; give the class itself"):
        runnerkit.build(dict(type=runnerkit.IterBasedRunner(model=_Stepper(), max_iters=1)), dict(model=model))
    ctor = runnerkit.DefaultRunnerConstructor(dict(type="IterBasedRunner"))
    with pytest.raises(TypeError, match=r"^`constructor`: it is DefaultRunnerConstructor `.*`, an instance, not a class"):
        runnerkit.build(dict(type="IterBasedRunner", constructor=ctor), dict(model=model))
    with pytest.raises(TypeError, match=r"^`model.type`: it is Linear `.*`, an instance, not a class"):
        resolve("model", model, "model.type")


class _Stepper(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))

    def train_step(self, data: Any, optimizer: Any, **kwargs: Any) -> dict[str, Any]:
        return {"loss": self.w.sum(), "log_vars": {}, "num_samples": 1}


class NotARunnerConstructor:
    def __init__(self, runner_cfg: Any, default_args: Any = None) -> None:
        pass

    def __call__(self) -> object:
        return "a string, not a runner"


class NotCallableResult:
    def __init__(self, runner_cfg: Any, default_args: Any = None) -> None:
        pass

    def __call__(self) -> None:
        return None


def test_a_constructor_whose_result_is_not_a_runner_is_a_type_error_naming_it() -> None:
    with pytest.raises(TypeError, match=r"^The constructor `tests.test_security:NotARunnerConstructor` built str "
                                        r"`'a string, not a runner'`, not a runner"):
        runnerkit.build(dict(type="IterBasedRunner", constructor="tests.test_security:NotARunnerConstructor"), {})
    with pytest.raises(TypeError, match=r"^The constructor `NotCallableResult` built NoneType"):
        runnerkit.build(dict(type="IterBasedRunner", constructor=NotCallableResult), {})


def test_an_abstract_runner_class_is_refused_naming_the_key() -> None:
    with pytest.raises(ConfigError, match=r"^`type`: the class `tests.test_security.Unstartable` is abstract: it does not "
                                          r"implement the training loop"):
        runnerkit.build(dict(type=Unstartable), dict(model=_Stepper()))
    with pytest.raises(ConfigError, match=r"^`type`: `runnerkit.runners.base:BaseRunner` cannot be used as a runner: the "
                                          r"class `runnerkit.runners.base.BaseRunner` is abstract"):
        runnerkit.build(dict(type="runnerkit.runners.base:BaseRunner"), dict(model=_Stepper()))


# -- _base_: data inherits data only -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("cfg.json", {"_base_": "evil.py", "seed": 1}),
        ("cfg.yaml", "_base_: [evil.py]\nseed: 1\n"),
        ("cfg.toml", "_base_ = 'evil.py'\nseed = 1\n"),
    ],
)
def test_a_data_config_may_not_inherit_from_a_python_config(tmp_path: Path, name: str, text: Any) -> None:
    (tmp_path / "evil.py").write_text("open(__file__ + '.ran', 'w').close()\nseed = 2\n")
    with pytest.raises(ConfigError, match=r"`_base_` in the data config `.*cfg\.(json|yaml|toml)` names the Python config "
                                          r"`evil.py`; a JSON/YAML/TOML config is data and may only inherit from data configs"):
        load_config(write(tmp_path, name, text))
    assert not (tmp_path / "evil.py.ran").exists()


def test_a_python_config_may_inherit_from_python_and_data(tmp_path: Path) -> None:
    write(tmp_path, "base.py", "seed = 2\n")
    write(tmp_path, "base.json", {"num_threads": 1})
    assert load_config(write(tmp_path, "cfg.py", "_base_ = ['base.py', 'base.json']\n")) == {"seed": 2, "num_threads": 1}


def test_validate_applies_the_same_rules_and_calls_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    cfg = small_job_config(runner={"touch": 1, "pwned": 1, "type": "IterBasedRunner", "constructor": "subprocess:Popen",
                             "max_iters": 2}, model={"type": "builtins:exec", "source": "open('pwned2', 'w')"})
    code, out, err = main(capsys, "validate", str(write(tmp_path, "cfg.json", cfg)))
    assert code == 1
    assert "runner.constructor: `subprocess:Popen` cannot be used as a constructor" in out + err
    assert "model.type: `builtins:exec` cannot be used as a model" in out + err
    assert sorted(os.listdir(tmp_path)) == ["cfg.json"]


def test_runnerkit_run_refuses_a_json_config_naming_code_and_trains_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    cfg = small_job_config(runner={"touch": 1, "pwned": 1, "type": "IterBasedRunner", "constructor": "subprocess:Popen",
                             "max_iters": 2})
    code, out, err = main(capsys, "run", str(write(tmp_path, "cfg.json", cfg)), "--work-dir", str(tmp_path / "work"))
    assert code == 1
    assert "runner.constructor: `subprocess:Popen` cannot be used as a constructor" in out + err
    assert "Traceback" not in out + err
    assert not (tmp_path / "pwned").exists()
    assert not (tmp_path / "work").exists() or not any((tmp_path / "work").glob("*.pth"))


def test_runnerkit_run_reports_a_constructor_that_builds_no_runner_in_one_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "cfg.py"
    path.write_text(
        "from tests.test_security import NotARunnerConstructor\n"
        "model = dict(type='DemoModel')\n"
        "data = dict(samples_per_gpu=8, train=dict(type='DemoDataset', num_samples=16))\n"
        "runner = dict(type='IterBasedRunner', max_iters=2, constructor=NotARunnerConstructor)\n"
    )
    code, _out, err = main(capsys, "run", str(path), "--work-dir", str(tmp_path / "work"))
    assert code == 1
    assert "error: The constructor `NotARunnerConstructor` built str `'a string, not a runner'`, not a runner" in err


# -- compile options in data: a known-safe list only (issue 21) --------------------------------------

MARCH_ATTACK = {"options": {"cpp.march": "native -wrapper /bin/sh,-c,touch${IFS}pwned-by-march"}}
CXX_ATTACK = {"options": {"cpp.cxx": ["/bin/sh"]}}


@pytest.mark.parametrize(("where", "attack", "key"), [
    ("top", MARCH_ATTACK, "compile.options.cpp.march"),
    ("runner", CXX_ATTACK, "runner.compile.options.cpp.cxx"),
])
def test_inductor_options_that_reach_the_compiler_are_refused_in_a_json_config_by_validate_and_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, where: str, attack: Any,
    key: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    if where == "top":
        cfg = small_job_config(compile=attack)
    else:
        cfg = small_job_config(runner={"type": "IterBasedRunner", "max_iters": 2, "compile": attack})
    path = write(tmp_path, "cfg.json", cfg)
    code, out, err = main(capsys, "validate", str(path))
    assert code == 1
    name = key.rsplit(".", 2)[-2] + "." + key.rsplit(".", 1)[-1]  # cpp.march
    assert f"cfg.json:1: {key}: `{name}` cannot be set from a data config (JSON/YAML/TOML)" in out
    assert "set it in a `.py` config instead" in out
    code, out, err = main(capsys, "run", str(path), "--work-dir", str(tmp_path / "work"))
    assert code == 1
    assert f"{key}: `{name}` cannot be set from a data config" in out
    assert "nothing was trained" in err and "Traceback" not in out + err
    assert sorted(os.listdir(tmp_path)) == ["cfg.json"]  # nothing compiled, no work dir


def test_a_data_config_may_set_the_safe_compile_options_each_checked(tmp_path: Path) -> None:
    safe = {"mode": None, "fullgraph": False, "dynamic": None, "backend": "aot_eager", "disable": False,
            "options": {"max_autotune": True, "max_fusion_size": 32, "triton.cudagraphs": False}}
    assert runnerkit.check.check_config(small_job_config(compile=safe)) == []
    bad = {"backend": "tvm", "mode": "fast", "dynamic": "yes", "fullgraph": 1,
           "options": {"max_fusion_size": 10**6, "epilogue_fusion": "no"}, "name": "x"}
    messages = {p.key: p.message for p in runnerkit.check.check_config(small_job_config(compile=bad))}
    assert messages["compile.backend"].startswith("a data config may name only the backends inductor, eager, aot_eager")
    assert messages["compile.mode"].startswith("expected one of default, reduce-overhead, max-autotune")
    assert messages["compile.dynamic"] == "expected `true`, `false` or `null`, got str `'yes'`"
    assert messages["compile.fullgraph"] == "expected `true` or `false`, got int `1`"
    assert messages["compile.options.max_fusion_size"] == "expected an integer from 1 to 4096, got int `1000000`"
    assert messages["compile.options.epilogue_fusion"] == "expected `true` or `false`, got str `'no'`"
    assert messages["compile.name"].startswith("`name` cannot be set from a data config")


def test_a_python_config_may_pass_any_compile_option_but_not_through_a_data_base(tmp_path: Path) -> None:
    body = f"model = dict(type='DemoModel')\nrunner = dict(type='IterBasedRunner', max_iters=2)\ncompile = {CXX_ATTACK!r}\n"
    code = write(tmp_path, "code.py", body)
    assert runnerkit.check.check_config(load_config(code), sources=[code]) == []
    write(tmp_path, "base.json", {"compile": CXX_ATTACK})
    mixed = write(tmp_path, "mixed.py", "_base_ = 'base.json'\nmodel = dict(type='DemoModel')\n")
    sources = runnerkit.config.read_config(mixed).sources
    assert [p.key for p in runnerkit.check.check_config(load_config(mixed), sources=sources)] == ["compile.options.cpp.cxx"]


def test_build_treats_a_runner_mapping_as_data_and_code_passes_options_in_default_args() -> None:
    model = torch.nn.Linear(1, 1)
    model.train_step = lambda *a, **k: {}  # type: ignore[assignment,method-assign]
    with pytest.raises(ConfigError, match=r"^`compile.options.cpp.march`: `cpp.march` cannot be set from a data config"
                                          r".*pass the options in `default_args=dict\(compile=...\)`"):
        runnerkit.build({"type": "IterBasedRunner", "max_iters": 1, "compile": MARCH_ATTACK}, {"model": model})
    with pytest.raises(pydantic.ValidationError, match=r"give `mode` or `options`, not both"):
        runnerkit.build({"type": "IterBasedRunner", "max_iters": 1},
                        {"model": model, "compile": {"mode": "default", "options": {"cpp.cxx": ["x"]}}})


# -- paths a data config names: inside the work dir only (issue 21) ----------------------------------


def path_config(tmp_path: Path, outside: Path) -> dict[str, Any]:
    """A job whose every hook writes to ``outside``, each through another key."""
    return small_job_config(
        checkpoint_config={"interval": 1, "out_dir": str(outside), "filename_tmpl": str(outside / "evil_{}.pth")},
        log_config={"interval": 1, "hooks": [
            {"type": "TextLoggerHook", "out_dir": str(outside)},
            {"type": "TensorboardLoggerHook", "log_dir": "../tb"},
            {"type": "WandbLoggerHook", "init_kwargs": {"dir": str(outside), "project": "x"}},
        ]},
        custom_hooks=[{"type": "ProfilerHook", "json_trace_path": str(outside / "trace.json"),
                       "on_trace_ready": {"type": "tb_trace", "dir_name": "../../prof"}}],
    )


PATH_KEYS = [
    "log_config.hooks[0].out_dir", "log_config.hooks[1].log_dir", "log_config.hooks[2].init_kwargs.dir",
    "custom_hooks[0].json_trace_path", "custom_hooks[0].on_trace_ready.dir_name", "checkpoint_config.out_dir",
    "checkpoint_config.filename_tmpl",
]


def test_every_path_a_json_config_names_outside_the_work_dir_is_refused_by_validate_and_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    outside = tmp_path / "home"
    path = tmp_path / "cfg.json"
    path.write_text(json.dumps(path_config(tmp_path, outside), indent=1))
    code, out, _ = main(capsys, "validate", str(path))
    assert code == 1
    found = [line.split(": ", 2)[1] for line in out.splitlines() if re.match(rf"{re.escape(str(path))}:\d+: ", line)]
    assert sorted(found) == sorted(PATH_KEYS)
    assert f"`{outside}` is outside the work dir `{tmp_path / 'work_dirs' / 'cfg'}`; a data config (JSON/YAML/TOML) " \
           f"may only write inside the work dir (docs/security.md)" in out
    assert f"`{outside / 'evil_{}.pth'}` leads out of the checkpoint folder" in out
    code, out, err = main(capsys, "run", str(path), "--work-dir", str(tmp_path / "work"))
    assert code == 1 and "has 7 problem(s), listed above; nothing was trained" in err
    assert f"is outside the work dir `{tmp_path / 'work'}`" in out
    assert not outside.exists() and not (tmp_path / "work").exists()


def test_a_filename_template_that_climbs_out_is_refused_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    cfg = small_job_config(checkpoint_config={"interval": 1, "filename_tmpl": "../../.bashrc{}"})
    code, out, _ = main(capsys, "run", str(write(tmp_path, "cfg.json", cfg)), "--work-dir", str(tmp_path / "a" / "work"))
    assert code == 1
    assert "checkpoint_config.filename_tmpl: `../../.bashrc{}` leads out of the checkpoint folder" in out
    assert sorted(os.listdir(tmp_path)) == ["cfg.json"]


def test_paths_inside_the_work_dir_are_accepted_and_the_run_writes_there(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    work = tmp_path / "runs" / "work"
    cfg = small_job_config(
        checkpoint_config={"interval": 1, "out_dir": str(work.parent), "filename_tmpl": "ckpt/it_{:03d}.pth"},
        log_config={"interval": 1, "hooks": [{"type": "TextLoggerHook", "out_dir": str(work / "logs")}]},
        custom_hooks=[{"type": "ProfilerHook", "by_epoch": False, "json_trace_path": str(work / "trace.json"),
                       "activities": ["cpu"]}],
    )
    path = write(tmp_path, "cfg.json", cfg)
    code, out, err = main(capsys, "validate", str(path))
    assert code == 1 and "is outside the work dir" in out  # the default work dir is work_dirs/cfg
    code, out, err = main(capsys, "run", str(path), "--work-dir", str(work))  # the folder named on the command line
    assert code == 0, out + err
    assert sorted(p.name for p in (work / "ckpt").iterdir()) == ["it_001.pth", "it_002.pth"]
    assert any((work / "logs").glob("*.log.json")) and (work / "trace.json").is_file()
    assert sorted(os.listdir(tmp_path)) == ["cfg.json", "runs"]


def test_a_link_inside_the_work_dir_that_leads_outside_does_not_count_as_inside(tmp_path: Path) -> None:
    work, outside = tmp_path / "work", tmp_path / "outside"
    work.mkdir()
    outside.mkdir()
    (work / "link").symlink_to(outside)
    cfg = small_job_config(log_config={"interval": 1, "hooks": [{"type": "TextLoggerHook", "out_dir": str(work / "link")}]})
    problems = runnerkit.check.check_config(cfg, work_dir=work)
    assert [p.key for p in problems] == ["log_config.hooks[0].out_dir"]


def test_a_python_config_is_code_and_may_write_anywhere(tmp_path: Path) -> None:
    body = "\n".join(f"{k} = {v!r}" for k, v in path_config(tmp_path, tmp_path / "home").items())
    code = write(tmp_path, "cfg.py", body + "\n")
    assert runnerkit.check.check_config(load_config(code), sources=[code]) == []


@pytest.mark.parametrize(("template", "shown"), [
    ("iter_{}_{x}.pth", "`{}`, `{x}`"), ("iter.pth", "none"), ("iter_{}_{}.pth", "`{}`, `{}`"), ("it_{name}.pth", "`{name}`"),
])
def test_a_filename_template_needs_exactly_one_field_in_every_config_at_validation(
    tmp_path: Path, template: str, shown: str
) -> None:
    code = write(tmp_path, "cfg.py", f"checkpoint_config = dict(interval=1, filename_tmpl={template!r})\n")
    problems = runnerkit.check.check_config(load_config(code), sources=[code])
    assert [(p.key, p.where) for p in problems] == [("checkpoint_config.filename_tmpl", f"{code}:1")]
    assert problems[0].message.startswith(f"a file name template holds exactly one `{{}}` field, the epoch or "
                                          f"iteration number; `{template}` holds {shown}")
    with pytest.raises(pydantic.ValidationError, match=r"filename_tmpl\n  a file name template holds exactly one"):
        runnerkit.hooks.CheckpointHook(filename_tmpl=template)  # at construction, not at the first save


def test_build_job_passes_a_python_configs_compile_options_through_and_treats_a_bare_mapping_as_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import runnerkit.runners.base

    seen: list[Any] = []
    monkeypatch.setattr(runnerkit.runners.base, "compile_model", lambda model, value, logger: seen.append(value) or False)
    cfg = small_job_config(runner={"type": "IterBasedRunner", "max_iters": 2, "compile": CXX_ATTACK})
    code = write(tmp_path, "cfg.py", "\n".join(f"{k} = {v!r}" for k, v in cfg.items()) + "\n")
    build_job(load_config(code), sources=[code], work_dir=tmp_path / "a")  # code: any option reaches the runner
    assert seen == [CXX_ATTACK]
    with pytest.raises(ConfigError, match=r"runner.compile.options.cpp.cxx: `cpp.cxx` cannot be set from a data config"):
        build_job(load_config(code), work_dir=tmp_path / "b")  # the same values without their files: data
    assert seen == [CXX_ATTACK] and not (tmp_path / "b").exists()


def test_a_data_configs_runner_work_dir_cannot_move_the_run_out_of_the_work_dir(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    cfg = small_job_config(runner={"type": "IterBasedRunner", "max_iters": 2, "work_dir": str(tmp_path / "elsewhere")})
    code, out, _ = main(capsys, "run", str(write(tmp_path, "cfg.json", cfg)), "--work-dir", str(tmp_path / "work"))
    assert code == 1
    assert f"runner.work_dir: `{tmp_path / 'elsewhere'}` is outside the work dir `{tmp_path / 'work'}`" in out
    assert sorted(os.listdir(tmp_path)) == ["cfg.json"]
    inner = small_job_config(runner={"type": "IterBasedRunner", "max_iters": 2, "work_dir": str(tmp_path / "work" / "sub")})
    assert runnerkit.check.check_config(inner, work_dir=tmp_path / "work") == []
