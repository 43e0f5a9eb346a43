"""``runnerkit validate CONFIG``: every problem with its place in the file; exit 0 or 1."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.cli_helpers import main, runnerkit
from tests.plugin_helpers import fake_site


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def validate(capsys: pytest.CaptureFixture[str], path: Path, *extra: str) -> tuple[int, list[str]]:
    code, out, err = main(capsys, "validate", str(path), *extra)
    assert err == ""
    return code, out.splitlines()


BAD_PY = """
model = dict(type="DemoModl", hidden=8)
data = dict(
    samples_per_gpu=8,
    sample_per_gpu=3,
    train=dict(type="DemoDataset", num_sample=10),
)
optimizer = dict(type="SDG", lr=0.1)
lr_config = dict(policy="stepp", step=[1])
log_config = dict(interval=5, hooks=[dict(type="TextLoggerHook"), dict(type="NopeHook")])
runner = dict(
    type="IterBasedRunner",
    max_iters=100,
    max_epochs=2,
    max_iter=3,
)
workflow = [("train", 1), ("test", 1)]
custom_hooks = [dict(type="EMAHook", priority="SUPER")]
"""


def test_every_problem_of_a_python_config_is_printed_with_its_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "bad.py", BAD_PY)
    code, lines = validate(capsys, path)
    assert code == 1
    where = [line.split(": ", 2)[:2] for line in lines[:-2]]
    assert where == [
        [f"{path}:1", "model.type"],
        [f"{path}:4", "data.sample_per_gpu"],
        [f"{path}:5", "data.train.num_sample"],
        [f"{path}:7", "optimizer.type"],
        [f"{path}:8", "lr_config.policy"],
        [f"{path}:9", "log_config.hooks[1].type"],
        [f"{path}:10", "runner"],
        [f"{path}:14", "runner.max_iter"],
        [f"{path}:16", "workflow[1][0]"],
        [f"{path}:17", "custom_hooks[0].priority"],
    ]
    text = "\n".join(lines)
    assert "model.type: Unknown model `DemoModl`. Did you mean `DemoModel`?" in text
    assert "data.sample_per_gpu: unknown key `sample_per_gpu`. Did you mean `samples_per_gpu`?" in text
    assert "data.train.num_sample: unknown argument `num_sample` for `DemoDataset`. Did you mean `num_samples`?" in text
    assert "optimizer.type: `SDG` is not an optimizer in `torch.optim`. Did you mean `SGD`" in text
    assert "lr_config.policy: unknown policy `stepp` (no hook `SteppLrUpdaterHook` is installed). Did you mean `step`? Known policies: " in text
    assert "runner: Only one of `max_iters` and `max_epochs` can be set, got max_iters=100 and max_epochs=2" in text
    assert "runner.max_iter: unknown argument `max_iter` for BaseRunnerArgs; did you mean `max_iters`" in text
    assert "custom_hooks[0].priority: Unknown priority `SUPER`" in text
    assert lines[-1] == f"{path}: 10 problems. Fix them and run `runnerkit validate {path}` again."


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("bad.json", """
            {
              "runner": {
                "type": "IterBasedRunner",
                "max_iters": 0
              },
              "model": {"type": "DemoModel", "hiden": 3}
            }
            """, [(":4", "runner.max_iters"), (":6", "model.hiden")]),
        ("bad.yaml", """
            runner:
              type: EpochBasedRunner
              max_epochs: zero
            workflow:
              - [train, 1]
              - [val, 0]
            """, [(":3", "runner.max_epochs"), (":6", "workflow[1][1]")]),
        ("bad.toml", """
            workflow = [["train", 1]]

            [runner]
            type = "EpochBasedRuner"
            max_epochs = 2
            """, [(":4", "runner.type")]),
    ],
)
def test_json_yaml_and_toml_problems_carry_their_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, text: str, expected: list[tuple[str, str]]
) -> None:
    path = write(tmp_path, name, text)
    code, lines = validate(capsys, path)
    assert code == 1
    assert [tuple(line.split(": ", 2)[:2]) for line in lines[:-2]] == [(f"{path}{n}", key) for n, key in expected]


def test_a_runner_only_config_is_refused_as_run_refuses_it_and_valid_with_partial(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "runner.json", '{"runner": {"type": "IterBasedRunner", "max_iters": 100}}')
    code, lines = validate(capsys, path)
    assert code == 1  # `runnerkit run` refuses it: so does validate
    assert lines[0].startswith(f"{path}: model: `run` needs a `model` section")
    assert lines[1].startswith(f"{path}: data.train: workflow phase 0 is `train`")
    assert lines[-1] == (f"{path}: 2 problems. Fix them and run `runnerkit validate {path}` again (or, for a config "
                         "completed from Python, check only its sections with `--partial`).")
    code, lines = validate(capsys, path, "--partial")
    assert (code, lines) == (0, [f"{path}: OK (checked: runner)."])


JOB = """
    seed = 0
    data = dict(samples_per_gpu=8, train=dict(type="DemoDataset", num_samples=16), val=dict(type="DemoDataset", num_samples=8))
    optimizer = dict(type="SGD", lr=0.1)
    optimizer_config = dict()
    runner = dict(type="IterBasedRunner", max_iters=2)
"""


@pytest.mark.parametrize(("extra", "key", "message"), [
    ('model = dict(type="torch.nn:Linear", in_features=2, out_features=3)', "model.type",
     "the model Linear has no `train_step` method: the runner trains with `model.train_step(data_batch, optimizer)`"),
    ('model = dict(type="DemoModel")\nevaluation = dict(interval=1, save_best="foo")', "evaluation.save_best",
     "Cannot tell whether a greater or a smaller `foo` is better; pass `rule='greater'` or `rule='less'`"),
    ('model = dict(type="DemoModel")\ndata = dict(samples_per_gpu=8)', "data.train",
     "workflow phase 0 is `train`, so `run` needs `data.train=dict(type=...)` naming a dataset"),
])
def test_validate_refuses_what_run_refuses_before_training(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: str, key: str, message: str) -> None:
    path = write(tmp_path, "job.py", JOB + textwrap.indent(extra, "    "))
    code, lines = validate(capsys, path)
    assert code == 1 and lines[0].split(": ", 2)[1] == key and message in lines[0]
    code, _, err = main(capsys, "run", str(path), "--work-dir", str(tmp_path / "w"))
    assert code == 1 and err.startswith("runnerkit run: error: ")  # run refuses it too, before training
    assert not list((tmp_path / "w").glob("*.pth"))


def test_a_complete_config_is_valid_with_nothing_left_to_add(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "job.py", """
        model = dict(type="DemoModel", hidden=8)
        data = dict(samples_per_gpu=8, train=dict(type="DemoDataset"), val=dict(type="DemoDataset", seed=1))
        optimizer = dict(net=dict(type="Adam", lr=1e-3))
        optimizer_config = dict(grad_clip=dict(max_norm=1.0))
        lr_config = dict(policy="CosineAnnealing", min_lr=0.0)
        momentum_config = None
        checkpoint_config = dict(interval=10)
        log_config = dict(interval=5, hooks=[dict(type="TextLoggerHook")])
        evaluation = dict(interval=10, save_best="acc")
        custom_hooks = [dict(type="EMAHook", priority="NORMAL")]
        runner = dict(type="IterBasedRunner", max_iters=20)
        workflow = [("train", 1)]
        dist_params = dict(backend="nccl")
    """)
    code, lines = validate(capsys, path)
    assert (code, lines) == (0, [f"{path}: OK (checked: runner, model, data, optimizer, lr_config, momentum_config, "
                                 "optimizer_config, checkpoint_config, log_config, evaluation, custom_hooks, workflow)."])


def test_cfg_options_are_validated_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "runner.json", '{"runner": {"type": "IterBasedRunner", "max_iters": 100}}')
    code, lines = validate(capsys, path, "--cfg-options", "runner.max_epochs=3")
    assert code == 1
    assert lines[0] == (f"{path}:1: runner: Only one of `max_iters` and `max_epochs` can be set, got max_iters=100 "
                        "and max_epochs=3; keep only one of them")


def test_a_missing_config_is_one_message_and_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = main(capsys, "validate", str(tmp_path / "nope.yaml"))
    assert (code, out) == (1, "")
    assert err == (f"runnerkit validate: error: Config file `{tmp_path / 'nope.yaml'}` does not exist; give the path "
                   "of a .py/.json/.yaml/.yml/.toml file.\n")


@pytest.mark.slow
def test_a_config_naming_a_broken_plugin_component_gets_one_located_message(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    site = fake_site(tmp_path_factory)
    path = write(tmp_path, "cfg.yaml", """
        runner:
          type: ExplodingRunner
          max_iters: 10
        """)
    proc = runnerkit("validate", str(path), cwd=tmp_path, path=[site])
    assert proc.returncode == 1
    assert proc.stdout.startswith(
        f"{path}:2: runner.type: Cannot load `ExplodingRunner = beta_runners.exploding:ExplodingRunner (group "
        "`runnerkit.runners`)` from distribution `beta-runners`: importing `beta_runners.exploding:ExplodingRunner` "
        "failed: RuntimeError('beta exploded on import')"
    )
    assert "Traceback" not in proc.stdout + proc.stderr


# -- locating keys ---------------------------------------------------------------------------------


def test_a_key_inherited_from_a_base_file_is_located_there(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, "base.py", "seed = 0\n\nrunner = dict(type='IterBasedRunner', max_iters=-5)\n")
    path = write(tmp_path, "cfg.py", "_base_ = 'base.py'\nmodel = dict(type='DemoModel')\n")
    code, lines = validate(capsys, path)
    assert code == 1
    assert lines[0].startswith(f"{tmp_path / 'base.py'}:3: runner.max_iters: ")


def test_a_bad_override_is_named_as_the_flag_that_gave_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "job.py", "runner = dict(type='IterBasedRunner', max_iters=10)\n")
    code, out, err = main(capsys, "validate", str(path), "--cfg-options", "runner.max_iters.x=3")
    assert code == 1 and out == ""
    assert err == ("runnerkit validate: error: `--cfg-options`: `runner.max_iters.x=...`: `runner.max_iters` is int `10`, "
                   "not a dict, so it has no key `x`; set `runner.max_iters` itself instead.\n")
