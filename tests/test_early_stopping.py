"""``EarlyStoppingHook``: stops when an evaluation metric stops improving, saves, and survives a resume."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

import runnerkit
from runnerkit.checkpoint import load_file as load_checkpoint_file
from runnerkit.hooks import CheckpointHook, EarlyStoppingHook, EvalHook
from tests.cli_helpers import main
from tests.helpers import TinyNet, make_loader


class Scored(TensorDataset):
    """A validation set whose ``evaluate`` reports the next of a list of scores."""

    def __init__(self, scores: list[float], key: str = "acc") -> None:
        super().__init__(torch.randn(4, 4), torch.randn(4))
        self.scores = list(scores)
        self.key = key

    def evaluate(self, results: Any, logger: Any = None) -> dict[str, float]:
        return {self.key: self.scores.pop(0)}


def iter_runner(work_dir: Path, scores: list[float], patience: int = 2, min_delta: float = 0.0,
                max_iters: int = 20) -> runnerkit.IterBasedRunner:
    model = TinyNet()
    runner = runnerkit.IterBasedRunner(model=model, optimizer=torch.optim.SGD(model.parameters(), lr=0.01),
                                       work_dir=str(work_dir), max_iters=max_iters)
    runner.register_training_hooks(lr_config=None, optimizer_config={}, checkpoint_config={"interval": 3, "by_epoch": False})
    runner.register_hook(EvalHook(DataLoader(Scored(scores), batch_size=2), interval=2, by_epoch=False))
    runner.register_hook_from_cfg({"type": "EarlyStoppingHook", "monitor": "acc", "patience": patience, "min_delta": min_delta})
    return runner


def early(runner: runnerkit.BaseRunner) -> EarlyStoppingHook:
    return next(h for h in runner.hooks if isinstance(h, EarlyStoppingHook))


def test_it_stops_after_patience_evaluations_without_improvement_and_saves(work_dir: Path) -> None:
    # evaluations at iterations 2, 4, 6, 8: 0.6 is no improvement on 0.6, nor 0.55: stop at 8
    runner = iter_runner(work_dir, [0.5, 0.6, 0.6, 0.55, 0.9, 0.9])
    runner.run([make_loader()], [("train", 1)])
    hook = early(runner)
    assert (runner.iter, hook.stopped_at, hook.best, hook.best_at, hook.wait) == (8, 8, 0.6, 4, 2)
    assert runner.stop_reason is not None and runner.stop_reason.startswith("early stopping at iteration 8: `acc`")
    saved = load_checkpoint_file(str(work_dir / "iter_8.pth"))
    assert saved["meta"]["iter"] == 8
    assert saved["runnerkit"]["hooks"]  # the hook states, the early stop among them
    states = [s for s in saved["runnerkit"]["hooks"].values() if "stopped_at" in s]
    assert states == [{"best": 0.6, "best_at": 4, "wait": 2, "stopped_at": 8, "by_epoch": False}]
    assert "iter_8.pth" in next(h for h in runner.hooks if isinstance(h, CheckpointHook)).saved


def test_min_delta_sets_how_much_better_counts_as_better(work_dir: Path) -> None:
    runner = iter_runner(work_dir, [0.5, 0.505, 0.509, 0.6], patience=2, min_delta=0.01)
    runner.run([make_loader()], [("train", 1)])
    assert (runner.iter, early(runner).best) == (6, 0.5)


def test_a_resumed_run_keeps_counting_and_a_stopped_run_trains_no_further(work_dir: Path) -> None:
    # evaluations at 2, 4, 6, 8 with patience 3: stop at 8; iter_6.pth (CheckpointHook's save at an
    # evaluation waits for this hook) holds the evaluation at 6: two without improvement
    first = iter_runner(work_dir, [0.5, 0.4, 0.45, 0.3], patience=3)
    first.run([make_loader()], [("train", 1)])
    assert (first.iter, early(first).stopped_at) == (8, 8)
    again = iter_runner(work_dir / "again", [0.3, 0.2], patience=3)
    again.resume(str(work_dir / "iter_6.pth"))
    assert (early(again).best, early(again).wait) == (0.5, 2)
    again.run([make_loader()], [("train", 1)])  # the evaluation at 8 makes it three, as in the run never stopped
    assert (again.iter, early(again).stopped_at) == (8, 8)
    # resuming the stopped run: nothing left to train, the weights stay as saved
    done = iter_runner(work_dir / "done", [0.99], patience=3)
    done.resume(str(work_dir / "iter_8.pth"))
    before = [p.clone() for p in done.model.parameters()]
    done.run([make_loader()], [("train", 1)])
    assert done.iter == 8 and done.stop_reason == "early stopping at iteration 8"
    assert all(torch.equal(a, b) for a, b in zip(before, done.model.parameters()))


def test_the_epoch_runner_stops_after_the_epoch_of_the_decisive_evaluation(work_dir: Path) -> None:
    model = TinyNet()
    runner = runnerkit.EpochBasedRunner(model=model, optimizer=torch.optim.SGD(model.parameters(), lr=0.01),
                                        work_dir=str(work_dir), max_epochs=10)
    runner.register_training_hooks(lr_config=None, optimizer_config={}, checkpoint_config={"interval": 5})
    runner.register_hook(EvalHook(DataLoader(Scored([0.4, 0.5, 0.3], key="val_loss"), batch_size=2), interval=1))
    hook = EarlyStoppingHook("val_loss", patience=1)  # "loss" in the name: less is better
    runner.register_hook(hook)
    runner.run([make_loader()], [("train", 1)])
    assert hook.rule == "less"
    assert (runner.epoch, hook.stopped_at, hook.best, hook.best_at) == (2, 2, 0.4, 1)
    assert (work_dir / "epoch_2.pth").exists()


def test_a_config_file_configures_it_and_run_stops_early(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = {
        "seed": 0, "num_threads": 1,
        "model": {"type": "DemoModel"},
        "data": {"samples_per_gpu": 32, "train": {"type": "DemoDataset", "num_samples": 256},
                 "val": {"type": "DemoDataset", "num_samples": 64, "seed": 1}},
        "optimizer": {"type": "SGD", "lr": 0.1}, "optimizer_config": {},
        "checkpoint_config": {"interval": 100},
        "log_config": {"interval": 5, "hooks": [{"type": "TextLoggerHook"}]},
        "runner": {"type": "IterBasedRunner", "max_iters": 200},
        "evaluation": {"interval": 5},
        # an improvement must be larger than any real change: the second evaluation stops the run
        "custom_hooks": [{"type": "EarlyStoppingHook", "monitor": "loss", "patience": 1, "min_delta": 100.0}],
    }
    path = tmp_path / "early.json"
    path.write_text(json.dumps(cfg))
    assert main(capsys, "validate", str(path))[0] == 0
    work = tmp_path / "work"
    code, out, err = main(capsys, "run", str(path), "--work-dir", str(work))
    assert code == 0, err
    assert "Early stopping at iteration 10: `loss` did not improve by more than 100 for 1 evaluation(s)" in out
    assert (work / "iter_10.pth").exists()
    assert load_checkpoint_file(str(work / "iter_10.pth"))["meta"]["iter"] == 10


def test_without_an_evaluation_it_says_what_to_add(work_dir: Path) -> None:
    runner = runnerkit.IterBasedRunner(model=TinyNet(), max_iters=2)
    runner.register_hook(EarlyStoppingHook("acc"))
    with pytest.raises(ValueError, match=r"watches the results of an `EvalHook`, but none is registered; add an `evaluation=dict"):
        runner.run([make_loader()], [("train", 1)])


def test_a_metric_the_evaluation_does_not_report_is_named(work_dir: Path) -> None:
    runner = iter_runner(work_dir, [0.5])
    early(runner).monitor = "mAP"
    with pytest.raises(ValueError, match=r"EarlyStoppingHook\(monitor='mAP'\): the evaluation reported \['acc'\]; set `monitor`"):
        runner.run([make_loader()], [("train", 1)])


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"monitor": ""}, r"monitor\n  String should have at least 1 character"),
    ({"monitor": "acc", "rule": "more"}, r"rule\n  Input should be 'greater' or 'less' \(got `'more'`\)"),
    ({"monitor": "acc", "patience": 0}, r"patience\n  Input should be greater than 0 \(got `0`\)"),
    ({"monitor": "acc", "min_delta": -1}, r"min_delta\n  Input should be greater than or equal to 0 \(got `-1`\)"),
    ({"monitor": "speed"}, r"Cannot tell whether a greater or a smaller `speed` is better; pass `rule=\"greater\"`"),
])
def test_bad_arguments_are_refused(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        EarlyStoppingHook(**kwargs)


def test_a_stop_at_a_checkpoint_interval_writes_that_checkpoint_once_with_the_stop_in_it(
        work_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # evaluations at 2, 4, 6 with patience 2: stop at 6, where CheckpointHook (interval 3) saves too
    runner = iter_runner(work_dir, [0.5, 0.4, 0.45], patience=2)
    written: list[str] = []
    save = runner.save_checkpoint

    def counted(*args: Any, **kwargs: Any) -> str:
        path = save(*args, **kwargs)
        written.append(Path(path).name)
        return path

    monkeypatch.setattr(runner, "save_checkpoint", counted)
    runner.run([make_loader()], [("train", 1)])
    assert early(runner).stopped_at == 6
    assert written == ["iter_3.pth", "iter_6.pth"]  # iter_6.pth once, not by both hooks
    states = [s for s in load_checkpoint_file(str(work_dir / "iter_6.pth"))["runnerkit"]["hooks"].values()
              if "stopped_at" in s]
    assert states[0]["stopped_at"] == 6  # the one write holds the stop: resuming it trains no further
