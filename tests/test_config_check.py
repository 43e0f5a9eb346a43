"""The one config checker (``runnerkit.check``): every problem at once, as ``file:line: key: message``."""

from __future__ import annotations

import json
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from runnerkit.check import Problem, check_config, format_problems
from runnerkit.config import read_config
from tests.cli_helpers import main

#: one config with every mistake of issue 9, each on its own line, among mmcv helper variables.
MISTAKES = """
data_root = "data/"
dataset_type = "DemoDataset"
img_norm_cfg = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375])
train_pipeline = [dict(type="LoadImageFromFile")]
_private = 1
model = dict(type="DemoModel", hidden="big")
data = dict(samples_per_gpu=4, train=dict(type=dataset_type), val=dict(type=dataset_type))
optimizer = dict(type="SGD", lr="fast")
lr_confg = dict(policy="step", step=[8])
evaluaton = dict(interval=1)
optimzer = dict(type="SGD")
load_form = "latest.pth"
checkpoint_config = dict(interval="often")
evaluation = dict(interval=1,
                  save_bset="acc")
custom_hooks = [
    dict(type="CheckpointHook", max_keep_ckpt=3),
    dict(type="EMAHook", momentum="high"),
]
log_config = dict(interval=1, hooks=[dict(type="TextLoggerHook", by_epok=False)])
runner = dict(type="IterBasedRunner", max_iters=10)
"""

EXPECTED = [
    (6, "model.hidden", "Input should be a valid integer (got `'big'`)"),
    (8, "optimizer.lr", "Input should be a valid number or an instance of Tensor (got `'fast'`)"),
    (9, "lr_confg", "unknown top-level key `lr_confg`. Did you mean `lr_config`?"),
    (10, "evaluaton", "unknown top-level key `evaluaton`. Did you mean `evaluation`?"),
    (11, "optimzer", "unknown top-level key `optimzer`. Did you mean `optimizer`?"),
    (12, "load_form", "unknown top-level key `load_form`. Did you mean `load_from`?"),
    (13, "checkpoint_config.interval", "Input should be a valid integer (got `'often'`)"),
    (15, "evaluation.save_bset", "unknown argument `save_bset` for `EvalHook`. Did you mean `save_best`?"),
    (17, "custom_hooks[0].max_keep_ckpt", "unknown argument `max_keep_ckpt` for `CheckpointHook`. Did you mean `max_keep_ckpts`?"),
    (18, "custom_hooks[1].momentum", "Input should be a valid number (got `'high'`)"),
    (20, "log_config.hooks[0].by_epok", "unknown argument `by_epok` for `TextLoggerHook`. Did you mean `by_epoch`?"),
]


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def test_every_mistake_is_reported_at_once_with_its_line_key_and_suggestion(tmp_path: Path) -> None:
    path = write(tmp_path, "job.py", MISTAKES)
    loaded = read_config(path)
    problems = check_config(loaded.data, sources=loaded.sources)
    assert [(p.where, p.key) for p in problems] == [(f"{path}:{line}", key) for line, key, _ in EXPECTED]
    for problem, (_, _, message) in zip(problems, EXPECTED):
        assert problem.message.startswith(message), problem
    assert format_problems(problems).splitlines()[0] == (
        f"{path}:6: model.hidden: {EXPECTED[0][2]}; for example `hidden=64` (the default)")


def test_runnerkit_validate_prints_the_same_report_and_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "job.py", MISTAKES)
    code, out, _ = main(capsys, "validate", str(path))
    assert code == 1
    lines = out.splitlines()
    for line, key, message in EXPECTED:
        assert any(text.startswith(f"{path}:{line}: {key}: {message}") for text in lines), (key, out)


def test_helper_variables_and_private_keys_are_not_problems() -> None:
    cfg = {"data_root": "d/", "img_norm_cfg": {}, "dataset_type": "X", "train_pipeline": [], "_anything": 1,
           "dist_params": {"backend": "nccl"}, "log_level": "INFO", "gpu_ids": [0], "checkpoint": "x.pth"}
    assert check_config(cfg) == []


def test_a_misspelt_top_level_key_in_a_data_config_is_found_on_its_line(tmp_path: Path) -> None:
    path = tmp_path / "job.json"
    path.write_text(json.dumps({"runner": {"type": "IterBasedRunner", "max_iters": 2}, "work_dirr": "w"}, indent=2))
    loaded = read_config(path)
    (problem,) = check_config(loaded.data, sources=loaded.sources)
    assert str(problem).startswith(f"{path}:6: work_dirr: unknown top-level key `work_dirr`. Did you mean `work_dir`?")


def test_a_runner_only_config_is_valid_because_code_supplies_the_run_time_arguments() -> None:
    assert check_config({"runner": {"type": "EpochBasedRunner", "max_epochs": 2}}) == []


def test_arguments_forwarded_to_dataset_evaluate_are_checked_against_its_signature() -> None:
    cfg = {"data": {"val": {"type": "runnerkit.demo:DemoDataset"}}, "evaluation": {"interval": 1, "metric": "acc"}}
    (problem,) = check_config(cfg)
    assert problem.key == "evaluation.metric"
    assert problem.message.startswith("unknown argument `metric` for `EvalHook`.")


def test_a_failed_lookup_keeps_its_exception() -> None:
    (problem,) = check_config({"model": {"type": "DemoModle"}})
    assert isinstance(problem, Problem) and problem.key == "model.type"
    assert type(problem.error).__name__ == "UnknownComponentError"
    assert "Did you mean `DemoModel`?" in problem.message


# -- thousands of problems: checked and located in linear time (issue 21) --------------------------

MANY = 4000


def _many_unknown_arguments(folder: Path, suffix: str) -> Path:
    names = [f"unknown_arg_{i}" for i in range(MANY)]
    path = folder / f"many{suffix}"
    if suffix == ".json":
        runner = {"type": "IterBasedRunner", "max_iters": 4, **{n: i for i, n in enumerate(names)}}
        path.write_text(json.dumps({"runner": runner}, indent=1))
    elif suffix == ".py":
        path.write_text("runner = dict(\n    type='IterBasedRunner',\n    max_iters=4,\n"
                        + "".join(f"    {n}={i},\n" for i, n in enumerate(names)) + ")\n")
    else:
        path.write_text("[runner]\ntype = 'IterBasedRunner'\nmax_iters = 4\n" + "".join(f"{n} = {i}\n" for i, n in enumerate(names)))
    return path


@pytest.mark.parametrize("suffix", [".json", ".py", ".toml"])
def test_thousands_of_problems_are_checked_and_located_in_linear_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str
) -> None:
    from runnerkit.config import read_config

    path = _many_unknown_arguments(tmp_path, suffix)
    cfg = read_config(path)
    reads: list[Path] = []
    read_text = Path.read_text

    def counted(self: Path, *args: Any, **kwargs: Any) -> str:
        reads.append(self)
        return read_text(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", counted)
    start = time.perf_counter()
    problems = check_config(cfg.data, sources=cfg.sources)
    seconds = time.perf_counter() - start
    assert len(problems) == MANY
    first_line = {".json": 5, ".py": 4, ".toml": 4}[suffix]
    assert problems[0].where == f"{path}:{first_line}" and problems[-1].where == f"{path}:{first_line + MANY - 1}"
    assert problems[0].message.startswith("unknown argument `unknown_arg_0` for BaseRunnerArgs")
    # Each file is read (and indexed) once, not once per problem: that was the quadratic part
    # (4000 problems: 18 s); linear, they take well under a second on an idle machine.
    assert reads.count(path) == 1
    assert seconds < 3.0, f"{MANY} problems took {seconds:.1f} s"
