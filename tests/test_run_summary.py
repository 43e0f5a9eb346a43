"""What ``runnerkit run`` says: the closing line counts this run's work, the hook table only with
``--verbose``, and resuming a finished run says so and writes nothing."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.cli_helpers import main


def config(tmp_path: Path, runner: dict[str, Any], **extra: Any) -> Path:
    cfg = {
        "seed": 0, "num_threads": 1,
        "model": {"type": "DemoModel", "hidden": 8},
        "data": {"samples_per_gpu": 32, "train": {"type": "DemoDataset", "num_samples": 128}},
        "optimizer": {"type": "SGD", "lr": 0.1}, "optimizer_config": {},
        "checkpoint_config": {"interval": 1 if runner["type"] == "EpochBasedRunner" else 4},
        "log_config": {"interval": 2, "hooks": [{"type": "TextLoggerHook"}]},
        "runner": runner,
        **extra,
    }
    path = tmp_path / f"{runner['type']}.json"
    path.write_text(json.dumps(cfg))
    return path


def closing(out: str) -> str:
    return next(line for line in out.splitlines() if line.startswith("Trained "))


def test_an_epoch_based_run_counts_epochs_and_the_hook_table_waits_for_verbose(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = config(tmp_path, {"type": "EpochBasedRunner", "max_epochs": 3})
    code, out, err = main(capsys, "run", str(path), "--work-dir", str(tmp_path / "a"))
    assert code == 0, err
    assert re.fullmatch(r"Trained 3 epochs \(12 iterations\) in \d+\.\d s\.", closing(out))
    assert "Hooks will be executed" not in out and len(out.splitlines()) < 25
    code, out, err = main(capsys, "run", str(path), "--work-dir", str(tmp_path / "b"), "--verbose")
    assert code == 0, err
    table = out[out.index("Hooks will be executed in the following order:"):]
    assert "before_run:" in table and "(NORMAL      ) CheckpointHook" in table


def test_a_resumed_run_counts_only_what_it_did(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = config(tmp_path, {"type": "IterBasedRunner", "max_iters": 8})
    work = str(tmp_path / "w")
    assert main(capsys, "run", str(path), "--work-dir", work)[0] == 0
    code, out, err = main(capsys, "run", str(path), "--work-dir", work, "--resume", str(tmp_path / "w" / "iter_4.pth"))
    assert code == 0, err
    assert re.fullmatch(r"Trained 4 iterations in \d+\.\d s, resumed: iteration 4 to 8\.", closing(out))


@pytest.mark.parametrize(("runner", "where"), [
    ({"type": "IterBasedRunner", "max_iters": 8}, "iteration 8; nothing left to train (to train longer, raise `runner.max_iters`"),
    ({"type": "EpochBasedRunner", "max_epochs": 2}, "epoch 2 (iteration 8); nothing left to train (to train longer, raise `runner.max_epochs`"),
])
def test_resuming_a_finished_run_says_so_exits_0_and_writes_no_log(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], runner: dict[str, Any], where: str
) -> None:
    path = config(tmp_path, runner)
    work = tmp_path / "w"
    assert main(capsys, "run", str(path), "--work-dir", str(work))[0] == 0
    before = sorted(p.name for p in work.iterdir())
    code, out, err = main(capsys, "run", str(path), "--work-dir", str(work), "--resume")
    assert code == 0, err
    assert f"The run in {work} is finished at {where}" in out
    assert "Trained" not in out
    assert sorted(p.name for p in work.iterdir()) == before  # no new (empty) logs


def test_resuming_an_early_stopped_run_says_it_is_finished(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = config(
        tmp_path, {"type": "IterBasedRunner", "max_iters": 40},
        data={"samples_per_gpu": 32, "train": {"type": "DemoDataset", "num_samples": 128},
              "val": {"type": "DemoDataset", "num_samples": 32}},
        evaluation={"interval": 2},
        custom_hooks=[{"type": "EarlyStoppingHook", "monitor": "loss", "patience": 1, "min_delta": 100.0}],
    )
    work = tmp_path / "w"
    code, out, _ = main(capsys, "run", str(path), "--work-dir", str(work))
    assert code == 0
    assert re.fullmatch(r"Trained 4 iterations in \d+\.\d s; stopped: early stopping at iteration 4: .*\.", closing(out))
    code, out, _ = main(capsys, "run", str(path), "--work-dir", str(work), "--resume")
    assert code == 0
    assert f"The run in {work} is finished at iteration 4 (EarlyStoppingHook stopped it); nothing left to train." in out


def test_a_python_run_with_nothing_left_to_do_writes_no_json_log(tmp_path: Path) -> None:
    import torch

    import runnerkit
    from tests.helpers import TinyNet, make_loader

    def runner() -> runnerkit.IterBasedRunner:
        model = TinyNet()
        r = runnerkit.IterBasedRunner(model=model, optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
                                      work_dir=str(tmp_path), max_iters=4, meta={"exp_name": "x"})
        r.register_training_hooks(lr_config=None, optimizer_config={}, checkpoint_config={"interval": 4, "by_epoch": False},
                                  log_config={"interval": 2, "hooks": [{"type": "TextLoggerHook", "by_epoch": False}]})
        return r

    first = runner()
    first.run([make_loader()], [("train", 1)])
    logs = list(tmp_path.glob("*.log.json"))
    assert len(logs) == 1 and json.loads(logs[0].read_text().splitlines()[0]) == {"exp_name": "x"}
    again = runner()
    again.timestamp = "later"
    again.resume(str(tmp_path))
    again.run([make_loader()], [("train", 1)])
    assert list(tmp_path.glob("*.log.json")) == logs
