"""The loops call hooks in mmcv's order: the whole recorded sequence is compared."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest
import torch

import runnerkit
from runnerkit.hooks.hook import STAGES
from tests.helpers import TinyNet, make_loader


class RecordingHook(runnerkit.Hook):
    """Records (stage, mode, epoch, iter, inner_iter) for every stage."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def _rec(self, stage: str, runner: Any) -> None:
        self.calls.append((stage, runner.epoch, runner.iter, runner.inner_iter))


for _stage in STAGES:
    setattr(RecordingHook, _stage, lambda self, runner, _s=_stage: self._rec(_s, runner))


def _runner(kind: str, work_dir: Path, **cfg: Any) -> Any:
    model = TinyNet()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    return runnerkit.build({"type": kind, **cfg}, {"model": model, "optimizer": opt, "work_dir": work_dir})


def test_epoch_runner_calls_hooks_in_mmcv_order(work_dir: Path) -> None:
    runner = _runner("EpochBasedRunner", work_dir, max_epochs=2)
    rec = RecordingHook()
    runner.register_hook(rec)
    runner.run([make_loader(4), make_loader(2)], [("train", 1), ("val", 1)])
    expected = [("before_run", 0, 0, 0)]
    it = 0
    for epoch in range(2):
        expected.append(("before_train_epoch", epoch, it, 0))
        for inner in range(2):
            expected += [("before_train_iter", epoch, it, inner), ("after_train_iter", epoch, it, inner)]
            it += 1
        expected.append(("after_train_epoch", epoch, it, 1))
        expected += [("before_val_epoch", epoch + 1, it, 1)]
        expected += [("before_val_iter", epoch + 1, it, 0), ("after_val_iter", epoch + 1, it, 0)]
        expected += [("after_val_epoch", epoch + 1, it, 0)]
    expected.append(("after_run", 2, 4, 0))
    assert rec.calls == expected


def test_iter_runner_calls_epoch_hooks_once_per_run_and_its_loader_wraps_silently(work_dir: Path) -> None:
    """As mmcv 1.7.2's IterBasedRunner: epoch hooks around the loop only; `epoch` follows the passes one
    iteration late (mmcv reads the loader's epoch before fetching; a training phase reads it on entry)."""
    runner = _runner("IterBasedRunner", work_dir, max_iters=5)
    rec = RecordingHook()
    runner.register_hook(rec)
    runner.run([make_loader(4), make_loader(2)], [("train", 3), ("val", 1)])
    # 2 batches per pass: train it0 it1 | wrap | it2 ; val ; it3 | wrap | it4 ; val ; stop at 5
    expected = [
        ("before_run", 0, 0, 0),
        ("before_train_epoch", 0, 0, 0),
        ("before_train_iter", 0, 0, 0), ("after_train_iter", 0, 0, 0),
        ("before_train_iter", 0, 1, 1), ("after_train_iter", 0, 1, 1),
        ("before_train_iter", 0, 2, 2), ("after_train_iter", 0, 2, 2),
        ("before_val_iter", 0, 3, 0), ("after_val_iter", 0, 3, 0),
        ("before_train_iter", 1, 3, 0), ("after_train_iter", 1, 3, 0),
        ("before_train_iter", 1, 4, 1), ("after_train_iter", 1, 4, 1),
        # as mmcv, the cycle's val phase still runs after max_iters is reached
        ("before_val_iter", 1, 5, 0), ("after_val_iter", 1, 5, 0),
        ("after_train_epoch", 1, 5, 1),
        ("after_run", 1, 5, 1),
    ]
    assert rec.calls == expected


def test_iter_runner_sets_the_sampler_epoch_on_every_pass(work_dir: Path) -> None:
    class Sampler(torch.utils.data.Sampler[int]):
        def __init__(self) -> None:
            self.epochs: list[int] = []

        def set_epoch(self, epoch: int) -> None:
            self.epochs.append(epoch)

        def __iter__(self) -> Any:
            return iter(range(4))

        def __len__(self) -> int:
            return 4

    sampler = Sampler()
    loader = torch.utils.data.DataLoader(make_loader(4).dataset, batch_size=2, sampler=sampler)
    runner = _runner("IterBasedRunner", work_dir, max_iters=5)
    runner.run([loader], [("train", 1)])
    assert sampler.epochs == [0, 1, 2]


def test_batch_processor_trains_in_both_runners(work_dir: Path) -> None:
    seen: list[bool] = []

    def processor(model: Any, batch: Any, train_mode: bool, **kwargs: Any) -> dict[str, Any]:
        seen.append(train_mode)
        x, y = batch
        loss = (model(x).squeeze(-1) - y).pow(2).mean()
        return {"loss": loss, "log_vars": {"loss": float(loss.detach())}, "num_samples": len(x)}

    for kind, cfg in (("EpochBasedRunner", {"max_epochs": 1}), ("IterBasedRunner", {"max_iters": 2})):
        model = torch.nn.Linear(4, 1)
        with pytest.warns(DeprecationWarning, match="batch_processor"):
            runner = runnerkit.build({"type": kind, **cfg}, {"model": model, "batch_processor": processor, "work_dir": work_dir,
                                                             "optimizer": torch.optim.SGD(model.parameters(), lr=0.1)})
        before = model.weight.detach().clone()
        runner.register_training_hooks(None, optimizer_config={})
        runner.run([make_loader(4), make_loader(2)], [("train", 1), ("val", 1)])
        assert not torch.equal(before, model.weight)
    assert True in seen and False in seen


def test_run_with_max_iters_is_deprecated_but_works(work_dir: Path) -> None:
    runner = _runner("IterBasedRunner", work_dir)
    with pytest.warns(DeprecationWarning, match="Setting `max_iters` in `run\\(\\)` is deprecated"):
        runner.run([make_loader(4)], [("train", 1)], max_iters=3)
    assert runner.iter == 3


@pytest.mark.parametrize(
    ("loaders", "workflow", "match"),
    [
        ([], [("train", 1)], "has 0 loader"),
        ([None], [("fit", 1)], "Unknown workflow mode `fit`"),
        ([None], [("train", 0)], "positive int"),
        ([None], "train", "non-empty list"),
    ],
)
def test_bad_workflows_are_explained(work_dir: Path, loaders: Any, workflow: Any, match: str) -> None:
    runner = _runner("EpochBasedRunner", work_dir, max_epochs=1)
    with pytest.raises((ValueError, TypeError), match=match):
        runner.run(loaders, workflow)


def test_train_step_must_return_a_dict(work_dir: Path) -> None:
    class Bad(TinyNet):
        def train_step(self, batch: Any, optimizer: Any, **kwargs: Any) -> Any:
            return 1.0

    runner = runnerkit.build({"type": "IterBasedRunner", "max_iters": 1}, {"model": Bad()})
    with pytest.raises(TypeError, match="`train_step` must return a dict"):
        runner.run([make_loader(4)], [("train", 1)])


def test_a_model_wrapped_in_dataparallel_trains_through_module(work_dir: Path) -> None:
    model = torch.nn.DataParallel(TinyNet())
    runner = runnerkit.build({"type": "IterBasedRunner", "max_iters": 2}, {"model": model, "optimizer": torch.optim.SGD(model.parameters(), lr=0.1)})
    assert runner.model_name == "TinyNet"
    runner.register_training_hooks(None, optimizer_config={})
    runner.run([make_loader(4)], [("train", 1)])
    assert runner.iter == 2


def test_hook_info_lists_stages_in_order(work_dir: Path) -> None:
    runner = _runner("EpochBasedRunner", work_dir, max_epochs=1)
    runner.register_training_hooks(None, {}, {"interval": 1})
    info = runner.get_hook_info()
    section = info[info.index("after_train_iter:"):]
    assert section.index("OptimizerHook") < section.index("CheckpointHook") < section.index("IterTimerHook")


def test_unknown_hook_type_in_config_suggests_a_name(work_dir: Path) -> None:
    runner = _runner("EpochBasedRunner", work_dir, max_epochs=1)
    with pytest.raises(runnerkit.UnknownComponentError, match="Did you mean `CheckpointHook`"):
        runner.register_hook_from_cfg({"type": "CheckpointHok"})


def test_no_warnings_in_a_plain_run(work_dir: Path) -> None:
    runner = _runner("EpochBasedRunner", work_dir, max_epochs=1)
    runner.register_training_hooks(None, {}, {"interval": 1}, {"interval": 1, "hooks": [{"type": "TextLoggerHook"}]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        runner.run([make_loader(4)], [("train", 1)])


class CountingNet(TinyNet):
    """Counts `train()` calls (mmcv's IterBasedRunner makes one per iteration)."""

    def __init__(self) -> None:
        super().__init__()
        self.train_calls = 0

    def train(self, mode: bool = True) -> CountingNet:
        if mode:
            self.train_calls += 1
        return super().train(mode)


def test_the_standard_hooks_never_make_the_loop_call_train_again(work_dir: Path) -> None:
    """Their per-iteration stages are marked `keeps_train_mode`: no `model.train()` per iteration (hot path)."""
    model = CountingNet()
    runner = runnerkit.build({"type": "IterBasedRunner", "max_iters": 20},
                             {"model": model, "optimizer": torch.optim.SGD(model.parameters(), lr=0.01),
                              "work_dir": work_dir})
    runner.register_training_hooks(lr_config={"policy": "step", "step": [10]}, optimizer_config={"grad_clip": {"max_norm": 1}},
                                   checkpoint_config={"interval": 10}, log_config={"interval": 5, "hooks": [{"type": "TextLoggerHook"}]})
    runner.run([make_loader(8)], [("train", 1)])
    assert model.train_calls == 1  # entering the training phase


def test_a_hook_not_marked_makes_the_loop_call_train_at_every_following_iteration(work_dir: Path) -> None:
    class Every(runnerkit.Hook):
        def after_train_iter(self, runner: Any) -> None:
            pass

    model = CountingNet()
    runner = runnerkit.build({"type": "IterBasedRunner", "max_iters": 6},
                             {"model": model, "optimizer": torch.optim.SGD(model.parameters(), lr=0.01)})
    runner.register_training_hooks(lr_config=None, optimizer_config={})
    runner.register_hook(Every())
    runner.run([make_loader(8)], [("train", 1)])
    assert model.train_calls == 6  # as mmcv: one per iteration (the phase entry, then after each of 5 iterations)
