"""Errors a user meets at run time: titled with the runner they chose, one message for runnerkit's own."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pydantic
import pytest
import torch

import runnerkit
from tests.cli_helpers import main
from tests.cli_helpers import runnerkit as runnerkit_cli


@pytest.mark.parametrize("runner", ["IterBasedRunner", "EpochBasedRunner"])
def test_an_argument_error_is_titled_with_the_runner_the_user_chose(runner: str) -> None:
    with pytest.raises(pydantic.ValidationError, match=rf"^2 validation errors for {runner}\n") as caught:
        runnerkit.build(dict(type=runner, max_iters=1, max_epochs=1), default_args=dict(model=torch.nn.Linear(2, 2)))
    assert caught.value.title == runner
    assert [e["type"] for e in caught.value.errors()] == ["exclusive_fields", "missing_train_step"]
    assert "BaseRunnerArgs" not in str(caught.value)


def job_file(tmp_path: Path, **sections: Any) -> Path:
    cfg: dict[str, Any] = {
        "seed": 0, "num_threads": 1, "model": {"type": "DemoModel", "hidden": 8},
        "data": {"samples_per_gpu": 8, "train": {"type": "DemoDataset", "num_samples": 32},
                 "val": {"type": "DemoDataset", "num_samples": 16, "seed": 1}},
        "optimizer": {"type": "SGD", "lr": 0.1}, "optimizer_config": {},
        "log_config": {"interval": 2, "hooks": [{"type": "TextLoggerHook"}]},
        "runner": {"type": "IterBasedRunner", "max_iters": 4}, **sections,
    }
    path = tmp_path / "job.json"
    path.write_text(json.dumps(cfg))
    return path


@pytest.mark.parametrize(("sections", "message"), [
    ({"evaluation": {"interval": 2, "save_best": "acc_top9"}},
     r"^runnerkit run: error: EvalHook: save_best='acc_top9', but the evaluation returned only \['acc', 'loss'\]; set "
     r"`save_best` to one of them \(or 'auto'\)\. Training stopped after iteration 2, saved in `.*iter_2\.pth`: fix "
     r"the config and resume from it \(`runnerkit run CONFIG --resume`\)\.\n$"),
    ({"evaluation": {"interval": 2}, "custom_hooks": [{"type": "EarlyStoppingHook", "monitor": "mAP"}]},
     r"^runnerkit run: error: EarlyStoppingHook\(monitor='mAP'\): the evaluation reported \['acc', 'loss'\]; set "
     r"`monitor` to one of them\. Training stopped after iteration 2, saved in `.*iter_2\.pth`: fix the config and "
     r"resume from it \(`runnerkit run CONFIG --resume`\)\.\n$"),
])
def test_a_metric_the_evaluation_never_returns_is_one_message_after_saving_the_training_done(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], sections: dict[str, Any], message: str) -> None:
    path = job_file(tmp_path, **sections)
    code, _, err = main(capsys, "run", str(path), "--work-dir", str(tmp_path / "w"))
    assert code == 1 and re.match(message, err), err
    saved = torch.load(tmp_path / "w" / "iter_2.pth", weights_only=True)
    assert saved["meta"]["iter"] == 2
    fixed = job_file(tmp_path, evaluation={"interval": 2, "save_best": "acc"})
    code, out, err = main(capsys, "run", str(fixed), "--work-dir", str(tmp_path / "w"), "--resume")
    assert code == 0, err
    assert "Trained 2 iterations in" in out and "resumed: iteration 2 to 4" in out


def test_an_exception_from_the_users_code_keeps_its_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "boom_model.py").write_text(
        "import torch\n"
        "class Boom(torch.nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.fc = torch.nn.Linear(2, 3)\n"
        "    def train_step(self, data_batch, optimizer, **kwargs):\n"
        "        raise RuntimeError('boom in train_step')\n"
    )
    path = job_file(tmp_path, model={"type": "boom_model:Boom"})
    proc = runnerkit_cli("run", str(path), "--work-dir", "w", cwd=tmp_path, path=[tmp_path])
    assert proc.returncode == 1
    assert "Traceback (most recent call last)" in proc.stderr and "boom_model.py" in proc.stderr
    assert proc.stderr.rstrip().endswith("RuntimeError: boom in train_step")
