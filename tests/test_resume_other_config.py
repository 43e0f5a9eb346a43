"""Resuming a work dir whose checkpoints another config wrote: refused or said, never silent."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.cli_helpers import main


def job(tmp_path: Path, name: str, **sections: Any) -> str:
    cfg: dict[str, Any] = {
        "seed": 0, "num_threads": 1, "model": {"type": "DemoModel", "hidden": 8},
        "data": {"samples_per_gpu": 8, "train": {"type": "DemoDataset", "num_samples": 32}},
        "optimizer": {"type": "SGD", "lr": 0.1}, "optimizer_config": {},
        "checkpoint_config": {"interval": 2}, "log_config": {"interval": 2, "hooks": [{"type": "TextLoggerHook"}]},
        "runner": {"type": "IterBasedRunner", "max_iters": 4}, **sections,
    }
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(cfg))
    return str(path)


def test_an_epoch_config_resuming_an_iteration_runs_checkpoint_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    work = str(tmp_path / "w")
    assert main(capsys, "run", job(tmp_path, "iters"), "--work-dir", work)[0] == 0
    code, out, err = main(capsys, "run", job(tmp_path, "epochs", runner={"type": "EpochBasedRunner", "max_epochs": 18}),
                          "--work-dir", work, "--resume")
    assert code == 1 and "finished at epoch" not in out
    assert err.startswith("runnerkit run: error: ") and "was written by IterBasedRunner (counting iterations) and this " \
        "run's EpochBasedRunner counts epochs: the checkpoint's counters and schedule cannot continue here." in err


def test_another_schedule_or_runner_class_is_said_before_training(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    work = str(tmp_path / "w")
    assert main(capsys, "run", job(tmp_path, "step", lr_config={"policy": "step", "step": [3]}), "--work-dir", work)[0] == 0
    longer = job(tmp_path, "cosine", lr_config={"policy": "CosineAnnealing", "min_lr": 0.0},
                 runner={"type": "IterBasedRunner", "max_iters": 6})
    code, out, err = main(capsys, "run", longer, "--work-dir", work, "--resume")
    assert code == 0, err
    said = [line for line in (out + err).splitlines() if "written by another config" in line]
    assert len(said) == 1 and "the schedule was StepLrUpdaterHook, this run's is CosineAnnealingLrUpdaterHook" in said[0]
    assert (out + err).index("written by another config") < (out + err).index("Iter [6/6]")  # before training


def test_the_same_config_resumes_without_a_word(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    work = str(tmp_path / "w")
    assert main(capsys, "run", job(tmp_path, "a"), "--work-dir", work)[0] == 0
    code, out, err = main(capsys, "run", job(tmp_path, "b", runner={"type": "IterBasedRunner", "max_iters": 6}),
                          "--work-dir", work, "--resume")
    assert code == 0, err
    assert "Iter [6/6]" in out + err and "written by another config" not in out + err


def test_another_models_checkpoint_is_refused_before_training(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    work = str(tmp_path / "w")
    assert main(capsys, "run", job(tmp_path, "small"), "--work-dir", work)[0] == 0
    wider = job(tmp_path, "wide", model={"type": "DemoModel", "hidden": 16}, runner={"type": "IterBasedRunner", "max_iters": 6})
    code, out, err = main(capsys, "run", wider, "--work-dir", work, "--resume")
    assert code == 1 and "Iter [6/6]" not in out
    assert "does not fit the model (DemoModel): different shapes for" in err and "Traceback" not in err
