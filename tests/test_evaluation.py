"""EvalHook and DistEvalHook: schedules, metrics into the log buffer, the best checkpoint, gathering."""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from pydantic import ValidationError
from torch.utils.data import DataLoader, Dataset, DistributedSampler

import runnerkit
from runnerkit.hooks.evaluation import DistEvalHook, EvalHook, average_log_vars, collect_results, single_process_test
from runnerkit.hooks.logger_base import LoggerHook


class Net(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(2, 1)
        self.calls: list[tuple[bool, bool, Any]] = []

    def train_step(self, batch: torch.Tensor, optimizer: Any, **kwargs: Any) -> dict[str, Any]:
        loss = self.fc(batch).pow(2).mean()
        return {"loss": loss, "log_vars": {"loss": loss.detach()}, "num_samples": len(batch)}

    def val_step(self, batch: torch.Tensor, optimizer: Any, **kwargs: Any) -> dict[str, Any]:
        self.calls.append((self.training, torch.is_grad_enabled(), optimizer))
        return {"log_vars": {"value": batch.sum()}, "num_samples": len(batch)}


class ScoredDataset(Dataset[torch.Tensor]):
    """A dataset with mmcv's ``evaluate(results, logger=..., **kwargs)``."""

    def __init__(self, n: int = 4) -> None:
        self.items = [torch.full((2,), float(i)) for i in range(n)]
        self.evaluated: list[tuple[list[Any], Any, dict[str, Any]]] = []

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> torch.Tensor:
        return self.items[i]

    def evaluate(self, results: list[Any], logger: Any = None, **kwargs: Any) -> dict[str, float]:
        self.evaluated.append((results, logger, kwargs))
        return {"acc": 0.5, "mAP": torch.tensor(0.25)}


class Scripted:
    """A test_fn whose results carry the next scripted score as ``acc``."""

    def __init__(self, scores: list[float]) -> None:
        self.scores: Iterator[float] = iter(scores)
        self.calls = 0

    def __call__(self, model: torch.nn.Module, loader: Any) -> list[dict[str, Any]]:
        self.calls += 1
        return [{"log_vars": {"acc": next(self.scores)}, "num_samples": 1}]


class RecordingLogger(LoggerHook):
    """A logger that keeps what it would print."""

    def __init__(self, interval: int = 2) -> None:
        super().__init__(interval=interval, by_epoch=False)
        self.lines: list[tuple[str, dict[str, Any]]] = []

    def log(self, runner: runnerkit.BaseRunner) -> None:
        self.lines.append((self.get_mode(runner), dict(runner.log_buffer.output)))


def loader(n: int = 4, batch_size: int = 2) -> DataLoader[torch.Tensor]:
    return DataLoader(ScoredDataset(n), batch_size=batch_size)


def train_batches(n: int = 3) -> list[torch.Tensor]:
    return [torch.ones(2, 2) * i for i in range(n)]


def iter_runner(work_dir: Path | None = None, max_iters: int = 6, **kwargs: Any) -> runnerkit.IterBasedRunner:
    return runnerkit.IterBasedRunner(model=Net(), work_dir=work_dir, max_iters=max_iters, **kwargs)


def epoch_runner(work_dir: Path | None = None, max_epochs: int = 2) -> runnerkit.EpochBasedRunner:
    return runnerkit.EpochBasedRunner(model=Net(), work_dir=work_dir, max_epochs=max_epochs)


# -- arguments -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"dataloader": 3}, ValidationError, r"dataloader\n  Input should be iterable \(got `3`\)"),
        ({"dataloader": "data"}, TypeError, r"got str `'data'`"),
        ({"interval": 0}, ValidationError, r"interval\n  Input should be greater than 0 \(got `0`\)"),
        ({"start": -1}, ValidationError, r"start\n  Input should be greater than or equal to 0"),
        ({"by_epoch": "yes"}, ValidationError, r"by_epoch\n  Input should be a valid boolean \(got `'yes'`\)"),
        ({"save_best": 1}, ValidationError, r"save_best\n  Input should be a valid string \(got `1`\)"),
        ({"save_best": "acc", "rule": "bigger"}, ValidationError, r"rule\n  Input should be 'greater' or 'less'"),
        ({"test_fn": "single_gpu_test"}, ValidationError, r"test_fn\n  Input should be callable"),
        ({"save_best": "f1"}, ValueError, r"Cannot tell whether a greater or a smaller `f1` is better; pass `rule='greater'`"),
        ({"greater_keys": [1]}, ValidationError, r"greater_keys\n  Input should be a valid string"),
    ],
)
def test_bad_arguments_are_refused_saying_what_was_given(kwargs: dict[str, Any], error: type[Exception], message: str) -> None:
    kwargs = {"dataloader": loader(), **kwargs}
    with pytest.raises(error, match=message):
        EvalHook(**kwargs)


def test_evaluation_arguments_need_a_dataset_that_evaluates() -> None:
    with pytest.raises(TypeError, match=r"got evaluation arguments \['metric'\], which go to `dataset.evaluate`, but the data loader's dataset \(list\) has no `evaluate`"):
        EvalHook(DataLoader([torch.zeros(2)]), metric="bbox")
    assert EvalHook(loader(), metric="bbox").eval_kwargs == {"metric": "bbox"}


@pytest.mark.parametrize(
    ("save_best", "kwargs", "rule"),
    [
        ("acc", {}, "greater"),
        ("loss", {}, "less"),
        ("top1_acc", {}, "greater"),
        ("val_loss", {}, "less"),
        ("f1", {"greater_keys": "f1"}, "greater"),
        ("err", {"less_keys": ["err"]}, "less"),
        ("loss", {"rule": "greater"}, "greater"),
        ("auto", {}, None),
    ],
)
def test_the_rule_is_inferred_from_the_metric_name_as_mmcv(save_best: str, kwargs: dict[str, Any], rule: str | None) -> None:
    assert EvalHook(loader(), save_best=save_best, **kwargs).rule == rule


# -- when it evaluates -----------------------------------------------------------------------


def _evaluated_epochs(start: int | None, interval: int, epochs: int = 6) -> list[int]:
    """Drive a real EpochBasedRunner's counters and record after which epochs the hook evaluates."""
    runner = epoch_runner(max_epochs=epochs)
    test_fn = Scripted([0.0] * 20)
    hook = EvalHook(loader(), start=start, interval=interval, test_fn=test_fn)
    seen: list[int] = []
    for epoch in range(epochs):
        runner.loop.epoch = epoch
        before = test_fn.calls
        hook.before_train_epoch(runner)
        if test_fn.calls > before:
            seen.append(-1)  # before training
        before = test_fn.calls
        hook.after_train_epoch(runner)
        if test_fn.calls > before:
            seen.append(epoch + 1)
    return seen


@pytest.mark.parametrize(
    ("start", "interval", "expected"),
    [
        (None, 1, [1, 2, 3, 4, 5, 6]),
        (None, 2, [2, 4, 6]),
        (3, 2, [3, 5]),
        # before training only when the first epoch is on the schedule (mmcv)
        (0, 1, [-1, 1, 2, 3, 4, 5, 6]),
        (0, 2, [2, 4, 6]),
    ],
)
def test_it_evaluates_every_interval_epochs_from_start(start: int | None, interval: int, expected: list[int]) -> None:
    assert _evaluated_epochs(start, interval) == expected


def test_by_iteration_it_evaluates_every_interval_iterations_and_once_before_when_resumed_past_start() -> None:
    runner = iter_runner(max_iters=10)
    test_fn = Scripted([0.0] * 20)
    hook = EvalHook(loader(), start=4, interval=2, by_epoch=False, test_fn=test_fn)
    runner.loop.iter = 5  # a resumed run, past `start`
    hook.before_train_iter(runner)
    assert test_fn.calls == 1
    seen = []
    for it in range(5, 10):
        runner.loop.iter = it
        hook.before_train_iter(runner)
        before = test_fn.calls
        hook.after_train_iter(runner)
        if test_fn.calls > before:
            seen.append(it + 1)
    assert seen == [6, 8, 10]
    assert test_fn.calls == 4


# -- what it evaluates -----------------------------------------------------------------------


def test_the_default_test_fn_calls_val_step_in_eval_mode_without_grad_and_restores_the_mode() -> None:
    model = Net()
    model.train()
    outputs = single_process_test(model, loader(4, batch_size=2))
    assert model.calls == [(False, False, None), (False, False, None)]
    assert model.training
    assert [out["num_samples"] for out in outputs] == [2, 2]


def test_the_default_test_fn_needs_val_step() -> None:
    with pytest.raises(TypeError, match=r"calls `model.val_step\(data_batch, None\)`, but the model \(Linear\) has no `val_step`"):
        single_process_test(torch.nn.Linear(2, 1), loader())


def test_without_dataset_evaluate_the_log_vars_are_averaged_by_num_samples() -> None:
    results = [
        {"log_vars": {"loss": torch.tensor(1.0), "acc": 0.5}, "num_samples": 1},
        {"log_vars": {"loss": torch.tensor(4.0), "acc": 1.0}, "num_samples": 3},
    ]
    assert average_log_vars(results) == {"loss": pytest.approx(3.25), "acc": pytest.approx(0.875)}
    with pytest.raises(TypeError, match=r"Result 0 of the evaluation is list, not a dict with `log_vars`"):
        average_log_vars([[1, 2]])


def test_results_go_to_the_log_buffer_for_the_loggers() -> None:
    runner = iter_runner()
    data = DataLoader([torch.ones(2) * i for i in range(4)], batch_size=2)  # a dataset without evaluate
    hook = EvalHook(data, by_epoch=False, interval=1)
    runner.loop.iter = 0
    hook.after_train_iter(runner)
    # batch sums: 0+0+1+1 = 2 and 2+2+3+3 = 10, two samples each
    assert runner.log_buffer.output == {"eval_iter_num": 2, "value": pytest.approx(6.0)}
    assert runner.log_buffer.ready


def test_a_dataset_with_evaluate_gets_the_results_the_logger_and_the_eval_kwargs() -> None:
    runner = epoch_runner()
    data = loader(4)
    hook = EvalHook(data, metric="acc")
    runner.loop.epoch = 0
    hook.after_train_epoch(runner)
    ((results, logger, kwargs),) = data.dataset.evaluated  # type: ignore[attr-defined]
    assert len(results) == 2 and all("log_vars" in r for r in results)
    assert logger is runner.logger and kwargs == {"metric": "acc"}
    assert runner.log_buffer.output == {"eval_iter_num": 2, "acc": 0.5, "mAP": 0.25}


# -- the best checkpoint ---------------------------------------------------------------------


def _run_with_best(work_dir: Path, scores: list[float], max_iters: int, resume: Path | None = None, **kwargs: Any) -> tuple[runnerkit.IterBasedRunner, EvalHook]:
    runner = iter_runner(work_dir, max_iters=max_iters)
    plain = DataLoader([torch.zeros(2)] * 2)  # no `dataset.evaluate`: the scripted `acc` is averaged
    hook = EvalHook(plain, by_epoch=False, interval=2, save_best="acc", test_fn=Scripted(scores), **kwargs)
    runner.register_hook(hook)
    if resume is not None:
        runner.resume(resume)
    runner.run([train_batches()], [("train", 1)])
    return runner, hook


def test_save_best_keeps_only_the_best_checkpoint_named_after_metric_and_iteration(tmp_path: Path) -> None:
    runner, hook = _run_with_best(tmp_path, [0.5, 0.7, 0.6], max_iters=6)
    assert sorted(p.name for p in tmp_path.glob("*.pth")) == ["best_acc_iter_4.pth"]
    assert hook.best_score == 0.7
    assert hook.best_ckpt_path == str(tmp_path / "best_acc_iter_4.pth")
    assert runner.meta == {"hook_msgs": {"best_score": 0.7, "best_ckpt": str(tmp_path / "best_acc_iter_4.pth")}}
    saved = torch.load(tmp_path / "best_acc_iter_4.pth", weights_only=True)
    assert saved["runnerkit"]["hooks"]["EvalHook"]["best_score"] == 0.7
    assert not (tmp_path / "last_checkpoint").exists()  # the best checkpoint is not "the latest"


def test_a_resumed_run_compares_against_the_saved_best_score(tmp_path: Path) -> None:
    _run_with_best(tmp_path / "a", [0.5, 0.7], max_iters=4)
    # resumed at iteration 4: 0.65 (iteration 6) is not better than 0.7, 0.8 (iteration 8) is
    _, hook = _run_with_best(tmp_path / "a", [0.65, 0.8], max_iters=8, resume=tmp_path / "a" / "best_acc_iter_4.pth")
    assert hook.best_score == 0.8
    assert sorted(p.name for p in (tmp_path / "a").glob("*.pth")) == ["best_acc_iter_8.pth"]


def test_save_best_auto_uses_the_first_metric_and_remembers_it_across_resume(tmp_path: Path) -> None:
    runner = epoch_runner(tmp_path, max_epochs=1)
    hook = EvalHook(loader(), save_best="auto")
    runner.register_hook(hook)
    runner.run([train_batches()], [("train", 1)])
    assert (hook.key_indicator, hook.rule) == ("acc", "greater")
    assert (tmp_path / "best_acc_epoch_1.pth").exists()
    fresh = EvalHook(loader(), save_best="auto")
    fresh.load_state_dict(hook.state_dict())
    assert (fresh.key_indicator, fresh.rule, fresh.best_score) == ("acc", "greater", 0.5)


def test_an_mmcv_checkpoints_hook_msgs_give_the_best_score(tmp_path: Path) -> None:
    runner = iter_runner(tmp_path, meta={"hook_msgs": {"best_score": 0.9, "best_ckpt": "old.pth"}})
    hook = EvalHook(loader(), save_best="acc")
    hook.before_run(runner)
    assert (hook.best_score, hook.best_ckpt_path) == (0.9, "old.pth")


def test_save_best_needs_a_folder_and_a_metric_that_the_evaluation_returns(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"EvalHook\(save_best='acc'\) needs somewhere to save the best checkpoint: give the runner a `work_dir`"):
        EvalHook(loader(), save_best="acc").before_run(iter_runner())
    runner = iter_runner(tmp_path)
    hook = EvalHook(loader(), save_best="top1_acc")
    hook.before_run(runner)
    with pytest.raises(ValueError, match=r"save_best='top1_acc', but the evaluation returned only \['acc', 'mAP'\]"):
        hook.after_train_epoch(runner)


def test_an_out_dir_gets_the_work_dirs_name_as_mmcv(tmp_path: Path) -> None:
    runner = iter_runner(tmp_path / "exp1")
    hook = EvalHook(loader(), save_best="acc", out_dir=tmp_path / "best")
    hook.before_run(runner)
    hook.before_run(runner)  # a second `run` does not append the name twice
    assert hook.out_dir == str(tmp_path / "best" / "exp1")


# -- with the loops --------------------------------------------------------------------------


def test_by_iteration_training_values_are_logged_before_and_apart_from_the_results(tmp_path: Path) -> None:
    runner = iter_runner(tmp_path, max_iters=4)
    logger = RecordingLogger(interval=2)
    runner.register_training_hooks(lr_config=None, timer_config={"type": "IterTimerHook"})
    runner.register_hook(EvalHook(loader(), by_epoch=False, interval=2))
    runner.register_hook(logger)
    runner.run([train_batches()], [("train", 1)])
    modes = [mode for mode, _ in logger.lines]
    assert modes == ["train", "val", "train", "val"]
    train, val = logger.lines[0][1], logger.lines[1][1]
    assert "loss" in train and "time" in train and "acc" not in train
    assert val == {"eval_iter_num": 2, "acc": 0.5, "mAP": 0.25}


def test_by_epoch_the_results_are_logged_after_each_epoch(tmp_path: Path) -> None:
    runner = epoch_runner(tmp_path, max_epochs=2)
    logger = RecordingLogger(interval=100)
    runner.register_hook(EvalHook(loader()))
    runner.register_hook(logger)
    runner.run([train_batches()], [("train", 1)])
    assert logger.lines == [("val", {"eval_iter_num": 2, "acc": 0.5, "mAP": 0.25})] * 2


def test_the_hooks_are_found_by_name_through_their_entry_points() -> None:
    runner = iter_runner()
    runner.register_hook_from_cfg({"type": "EvalHook", "dataloader": loader(), "interval": 2})
    runner.register_hook_from_cfg({"type": "DistEvalHook", "dataloader": loader(), "gpu_collect": True})
    assert [type(h).__name__ for h in runner.hooks] == ["EvalHook", "DistEvalHook"]
    assert [h.priority for h in runner.hooks] == [70, 70]  # LOW: before the loggers


def test_collect_results_without_distributed_returns_the_results() -> None:
    assert collect_results([1, 2, 3]) == [1, 2, 3]
    assert collect_results([1, 2, 3], size=2) == [1, 2]


# -- two processes ---------------------------------------------------------------------------


def _dist_worker(rank: int, init_file: str, out_dir: str) -> None:
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=2)
    try:
        dataset = ScoredDataset(9)  # 9 samples: the sampler pads rank 1 with sample 0
        data = DataLoader(dataset, batch_size=1, sampler=DistributedSampler(dataset, num_replicas=2, rank=rank, shuffle=False))
        model = Net()
        model.bn = torch.nn.BatchNorm1d(2)
        torch.nn.init.constant_(model.bn.running_mean, float(rank + 1))
        runner = runnerkit.IterBasedRunner(model=model, work_dir=out_dir if rank == 0 else None, max_iters=1)

        def sample_ids(model: torch.nn.Module, loader: Any) -> list[int]:
            return [int(batch[0, 0]) for batch in loader]

        by_id = DistEvalHook(data, by_epoch=False, test_fn=sample_ids)
        by_id._do_evaluate(runner)
        averaged = DistEvalHook(DataLoader(list(dataset.items), batch_size=1, sampler=data.sampler), by_epoch=False)
        runner.log_buffer.clear()
        averaged._do_evaluate(runner)
        report = {
            "evaluated": [r for r, _, _ in dataset.evaluated],
            "output": dict(runner.log_buffer.output),
            "running_mean": model.bn.running_mean.tolist(),
        }
        Path(out_dir, f"rank{rank}.json").write_text(json.dumps(report))
    finally:
        dist.destroy_process_group()


def spawn_two(fn: Any, *args: Any, timeout: float = 90.0) -> None:
    """Run ``fn(rank, *args)`` in two processes; fail (killing them) after ``timeout`` seconds.

    Forked where possible: a spawned process spends seconds importing torch again.
    """
    method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
    context = mp.start_processes(fn, args=args, nprocs=2, join=False, start_method=method)
    deadline = time.monotonic() + timeout
    while not context.join(timeout=1):
        if time.monotonic() > deadline:
            for process in context.processes:
                process.kill()
            pytest.fail(f"the two processes did not finish within {timeout} s")


@pytest.mark.slow
def test_dist_eval_hook_gathers_every_ranks_results_in_dataset_order_and_only_rank_0_reports(tmp_path: Path) -> None:
    spawn_two(_dist_worker, str(tmp_path / "init"), str(tmp_path))
    rank0 = json.loads((tmp_path / "rank0.json").read_text())
    rank1 = json.loads((tmp_path / "rank1.json").read_text())
    assert rank0["evaluated"] == [list(range(9))]  # interleaved back, padding dropped
    assert rank1["evaluated"] == []
    # the 9 samples' batch sums (2 * i), rank 1's padding dropped, averaged on rank 0 only
    assert rank0["output"] == {"eval_iter_num": 5, "value": pytest.approx(sum(2 * i for i in range(9)) / 9)}
    assert rank1["output"] == {}
    assert rank0["running_mean"] == rank1["running_mean"] == [1.0, 1.0]  # rank 0's BatchNorm statistics


def test_results_are_logged_with_the_runner_logger(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="runnerkit"):
        _run_with_best(tmp_path, [0.5], max_iters=2)
    assert "Now best checkpoint is saved as best_acc_iter_2.pth." in caplog.text
    assert "Best acc is 0.5000 at 2 iter." in caplog.text
    assert os.path.exists(tmp_path / "best_acc_iter_2.pth")
