"""TensorboardLoggerHook: averaged scalars at log intervals, rank 0 only, a clear message without tensorboard."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import torch

import runnerkit
from runnerkit.hooks.evaluation import EvalHook
from runnerkit.hooks.tensorboard_logger import TensorboardLoggerHook, summary_writer_class
from tests.helpers import ScaleNet


def batches(n: int = 6) -> list[torch.Tensor]:
    return [torch.tensor([float(i + 1)]) for i in range(n)]


def iter_runner(work_dir: Path | None, max_iters: int = 6) -> runnerkit.IterBasedRunner:
    model = ScaleNet()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
    return runnerkit.IterBasedRunner(model=model, optimizer=optimizer, work_dir=work_dir, max_iters=max_iters)


def scalars(log_dir: Path) -> dict[str, list[tuple[int, float]]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(log_dir))
    events.Reload()
    return {tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]}


def test_the_averages_of_each_interval_are_written_at_its_last_iteration(tmp_path: Path) -> None:
    runner = iter_runner(tmp_path)
    runner.register_training_hooks(
        lr_config=None, log_config={"interval": 2, "hooks": [{"type": "TensorboardLoggerHook"}]},
    )
    runner.run([batches()], [("train", 1)])
    written = scalars(tmp_path / "tf_logs")
    assert written["train/loss"] == [(2, 1.5), (4, 3.5), (6, 5.5)]  # means of 1,2 / 3,4 / 5,6
    assert written["learning_rate"] == [(2, 0.5), (4, 0.5), (6, 0.5)]
    assert written["momentum"] == [(2, pytest.approx(0.9)), (4, pytest.approx(0.9)), (6, pytest.approx(0.9))]
    assert "train/time" not in written and "train/data_time" not in written


def test_evaluation_results_are_written_as_val_tags(tmp_path: Path) -> None:
    runner = iter_runner(tmp_path, max_iters=4)
    log_dir = tmp_path / "board"
    runner.register_training_hooks(
        lr_config=None, log_config={"interval": 2, "hooks": [{"type": "TensorboardLoggerHook", "log_dir": str(log_dir)}]},
    )

    def scores(model: torch.nn.Module, loader: Any) -> list[dict[str, Any]]:
        return [{"log_vars": {"acc": 0.75}, "num_samples": 1}]

    runner.register_hook(EvalHook([torch.zeros(1)], by_epoch=False, interval=4, test_fn=scores))
    runner.run([batches()], [("train", 1)])
    written = scalars(log_dir)
    assert written["val/acc"] == [(4, 0.75)]
    assert written["train/loss"] == [(2, 1.5), (4, 3.5)]


def test_only_rank_0_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runnerkit.dist, "get_dist_info", lambda: (1, 1))  # rank 1 (no process group here)
    runner = iter_runner(tmp_path)
    monkeypatch.undo()
    assert runner.rank == 1
    hook = TensorboardLoggerHook(interval=1)
    runner.register_hook(hook)
    hook.before_run(runner)
    runner.log_buffer.update({"loss": torch.tensor(1.0)})
    runner.log_buffer.average()
    hook.log(runner)
    hook.after_run(runner)
    assert hook.writer is None
    assert not (tmp_path / "tf_logs").exists()


def test_without_a_work_dir_a_log_dir_is_needed() -> None:
    hook = TensorboardLoggerHook()
    with pytest.raises(ValueError, match=r"TensorboardLoggerHook needs a folder for its event files: give the runner a `work_dir` or the hook a `log_dir`"):
        hook.before_run(iter_runner(None))


def test_a_bad_interval_is_refused() -> None:
    with pytest.raises(ValueError, match=r"interval\n  Input should be greater than 0 \(got `0`\)"):
        TensorboardLoggerHook(interval=0)


def test_without_tensorboard_the_error_names_the_extra_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)
    message = r'TensorboardLoggerHook needs the `tensorboard` package.*Install it with `pip install "runnerkit\[tensorboard\]"`'
    with pytest.raises(ImportError, match=message):
        summary_writer_class()
    runner = iter_runner(tmp_path)
    hook = TensorboardLoggerHook()
    with pytest.raises(ImportError, match=message) as info:
        hook.before_run(runner)
    assert isinstance(info.value.__cause__, ImportError)
