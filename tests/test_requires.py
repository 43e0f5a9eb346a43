"""Optional dependencies: a hook that needs a missing package is refused up front, with the pip command."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

import runnerkit
from runnerkit.hooks.tensorboard_logger import TensorboardLoggerHook
from runnerkit.requires import MissingDependencyError, Requirement, check, install_command, missing
from tests.cli_helpers import main
from tests.helpers import TinyNet

ABSENT = "runnerkit_test_absent_pkg"


class NeedsAbsentHook(runnerkit.Hook):
    """A tracker-like hook whose client library is not installed."""

    requires = (Requirement(ABSENT, pip="runnerkit-absent-client>=2"), "json")

    def before_run(self, runner: Any) -> None:
        raise AssertionError("a hook with a missing requirement must never run")


def test_a_requirement_defaults_its_install_spec_to_its_import_name() -> None:
    assert Requirement("wandb").pip == "wandb"
    assert install_command([Requirement("wandb"), Requirement("tensorboard", pip="runnerkit[tensorboard]")]) == (
        'pip install wandb "runnerkit[tensorboard]"'
    )
    with pytest.raises(ValueError, match=r"`Requirement.module` must be an import name such as `\"wandb\"`, got `'no such'`"):
        Requirement("no such")


def test_only_the_missing_requirements_are_reported() -> None:
    assert [r.module for r in missing(NeedsAbsentHook)] == [ABSENT]
    assert missing(runnerkit.Hook) == []
    with pytest.raises(MissingDependencyError, match=(
        rf"`NeedsAbsentHook` needs `{ABSENT}`, which is not installed; install it with "
        r"`pip install \"runnerkit-absent-client>=2\"`, or remove `NeedsAbsentHook` from the config."
    )) as info:
        check(NeedsAbsentHook)
    assert isinstance(info.value, ImportError) and info.value.component == "NeedsAbsentHook"


def test_registering_tensorboard_without_it_names_the_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "tensorboard", None)  # as if it were not installed
    runner = runnerkit.IterBasedRunner(model=TinyNet(), work_dir=str(tmp_path), max_iters=2)
    with pytest.raises(MissingDependencyError, match=r"install it with `pip install \"runnerkit\[tensorboard\]\"`"):
        runner.register_hook(TensorboardLoggerHook())
    with pytest.raises(MissingDependencyError, match=r"`TensorboardLoggerHook` needs `tensorboard`"):
        runner.register_hook_from_cfg({"type": "TensorboardLoggerHook"})
    assert runner.hooks == []


def _config(tmp_path: Path) -> Path:
    cfg = {
        "model": {"type": "DemoModel"},
        "data": {"samples_per_gpu": 8, "train": {"type": "DemoDataset", "num_samples": 32}},
        "optimizer": {"type": "SGD", "lr": 0.1},
        "optimizer_config": {},
        "log_config": {"interval": 1, "hooks": [{"type": "TextLoggerHook"}]},
        "runner": {"type": "IterBasedRunner", "max_iters": 4},
        "custom_hooks": [{"type": f"{__name__}:NeedsAbsentHook"}],
    }
    path = tmp_path / "job.json"
    path.write_text(json.dumps(cfg, indent=1))
    return path


def test_validate_refuses_a_config_whose_hook_needs_a_missing_package(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = main(capsys, "validate", str(_config(tmp_path)))
    assert code == 1
    assert f"`NeedsAbsentHook` needs `{ABSENT}`, which is not installed" in out
    assert 'pip install "runnerkit-absent-client>=2"' in out
    assert "custom_hooks" in out


def test_run_refuses_it_before_training_and_leaves_no_logs(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    work = tmp_path / "work"
    code, out, err = main(capsys, "run", str(_config(tmp_path)), "--work-dir", str(work))
    assert code == 1
    assert 'pip install "runnerkit-absent-client>=2"' in out
    assert "nothing was trained" in err
    assert not work.exists() or not any(work.iterdir())


def test_a_stop_request_ends_the_iteration_runner_after_the_current_iteration(tmp_path: Path) -> None:
    calls: list[str] = []

    class StopAtThree(runnerkit.Hook):
        def after_train_iter(self, runner: Any) -> None:
            if runner.iter + 1 == 3:
                runner.request_stop("enough")
                runner.request_stop("a later reason is ignored")

        def after_run(self, runner: Any) -> None:
            calls.append("after_run")

    runner = runnerkit.IterBasedRunner(model=TinyNet(), max_iters=10)
    runner.register_hook(StopAtThree())
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.randn(8, 4), torch.randn(8)), batch_size=2)
    runner.run([loader], [("train", 1)])
    assert (runner.iter, runner.stop_reason, calls) == (3, "enough", ["after_run"])


def test_a_stop_request_ends_the_epoch_runner_after_the_current_epoch(tmp_path: Path) -> None:
    class StopInFirstEpoch(runnerkit.Hook):
        def after_train_iter(self, runner: Any) -> None:
            if runner.iter == 1:
                runner.request_stop()

    runner = runnerkit.EpochBasedRunner(model=TinyNet(), max_epochs=5)
    runner.register_hook(StopInFirstEpoch())
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.randn(8, 4), torch.randn(8)), batch_size=2)
    runner.run([loader], [("train", 1)])
    assert (runner.epoch, runner.iter, runner.stop_reason) == (1, 4, "stop requested")


def test_validate_refuses_tensorboard_logging_without_tensorboard(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "tensorboard", None)  # as if it were not installed
    path = tmp_path / "tb.json"
    path.write_text(json.dumps({
        "model": {"type": "DemoModel"},
        "data": {"train": {"type": "DemoDataset"}},
        "runner": {"type": "IterBasedRunner", "max_iters": 4},
        "log_config": {"interval": 1, "hooks": [{"type": "TextLoggerHook"}, {"type": "TensorboardLoggerHook"}]},
    }, indent=1))
    code, out, _ = main(capsys, "validate", str(path))
    assert code == 1
    assert "log_config.hooks[1].type: `TensorboardLoggerHook` needs `tensorboard`, which is not installed; install it " \
           "with `pip install \"runnerkit[tensorboard]\"`" in out
