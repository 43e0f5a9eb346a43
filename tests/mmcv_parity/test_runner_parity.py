"""mmcv.runner's runners through the layer: building, hook order, counters, checkpoints, deprecations.

Where runnerkit deliberately differs, the test says which docs/migration.md entry explains it.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from tests.mmcv_parity.helpers import Model


def loader(n: int = 3) -> list[torch.Tensor]:
    return [torch.ones(2, 2) * i for i in range(n)]


def test_build_runner_with_default_args_and_the_deprecated_runner_alias(tmp_path: Path) -> None:
    from mmcv.runner import EpochBasedRunner, Runner, build_runner

    model = Model()
    logger = logging.getLogger("parity")
    runner = build_runner(dict(type="EpochBasedRunner", max_epochs=1),
                          default_args=dict(model=model, work_dir=str(tmp_path), logger=logger, meta=dict(a=1)))
    assert isinstance(runner, EpochBasedRunner) and runner.logger is logger and runner.meta == {"a": 1}
    assert runner.model_name == "Model" and (runner.rank, runner.world_size) == (0, 1)
    with pytest.warns(DeprecationWarning, match="Runner was deprecated, please use EpochBasedRunner instead"):
        Runner(model=model, max_epochs=1)


def test_max_iters_and_max_epochs_are_exclusive() -> None:
    from mmcv.runner import EpochBasedRunner

    with pytest.raises(ValueError, match=r"^1 validation error.*\n  Only one of `max_iters` and `max_epochs` can be set"):
        EpochBasedRunner(model=Model(), max_iters=2, max_epochs=2)


def test_batch_processor_is_deprecated_and_excludes_train_step() -> None:
    from mmcv.runner import EpochBasedRunner

    def batch_processor(model: nn.Module, data: Any, train_mode: bool, **kwargs: Any) -> dict[str, Any]:
        return {}

    class Bare(nn.Module):
        pass

    with pytest.warns(DeprecationWarning, match="`batch_processor` is deprecated"):
        EpochBasedRunner(model=Bare(), batch_processor=batch_processor, max_epochs=1)
    with pytest.raises(ValueError, match="batch_processor"):
        EpochBasedRunner(model=Model(), batch_processor=batch_processor, max_epochs=1)


def test_hooks_run_in_priority_order_and_a_hook_without_one_gets_its_class_default() -> None:
    """docs/migration.md, 'Hook priorities': mmcv's register_hook defaulted to NORMAL for every hook."""
    from mmcv.runner import EpochBasedRunner, EvalHook, Hook, Priority

    class Mark(Hook):
        def __init__(self, name: str, seen: list[str]) -> None:
            self.name, self.seen = name, seen

        def before_run(self, runner: Any) -> None:
            self.seen.append(self.name)

    seen: list[str] = []
    runner = EpochBasedRunner(model=Model(), max_epochs=1)
    runner.register_hook(Mark("normal", seen))
    runner.register_hook(Mark("lowest", seen), priority="LOWEST")
    runner.register_hook(Mark("high", seen), priority=Priority.HIGH)
    runner.register_hook(Mark("normal-2", seen), priority=50)
    eval_hook = EvalHook(loader(), interval=5)  # not evaluated in this 1-epoch run
    runner.register_hook(eval_hook)
    assert eval_hook.priority == Priority.LOW
    runner.run([loader()], [("train", 1)])
    assert seen == ["high", "normal", "normal-2", "lowest"]
    with pytest.raises(ValueError, match="between 0 and 100"):
        runner.register_hook(Mark("x", seen), priority=101)


def test_epoch_runner_counters_workflow_and_checkpoint_names(tmp_path: Path) -> None:
    """docs/migration.md, 'Checkpoint numbering outside training': named after the completed epochs."""
    from mmcv.runner import EpochBasedRunner

    model = Model()
    runner = EpochBasedRunner(model=model, optimizer=torch.optim.SGD(model.parameters(), lr=0.1), work_dir=tmp_path, max_epochs=2)
    runner.register_training_hooks(lr_config=dict(policy="step", step=[1]), optimizer_config=dict(grad_clip=None),
                                   checkpoint_config=dict(interval=1), log_config=dict(interval=1, hooks=[dict(type="TextLoggerHook")]))
    runner.run([loader(3), loader(2)], [("train", 1), ("val", 1)])
    assert (runner.epoch, runner.iter, runner.max_iters) == (2, 6, 6)
    assert {p.name for p in tmp_path.glob("epoch_*.pth")} == {"epoch_1.pth", "epoch_2.pth"}
    assert runner.current_lr() == [pytest.approx(0.01)]
    path = runner.save_checkpoint(tmp_path / "after")
    assert Path(path).name == "epoch_2.pth"  # mmcv: epoch_3.pth
    assert torch.load(path, weights_only=True)["meta"]["epoch"] == 2


def test_iter_runner_and_iter_loader(tmp_path: Path) -> None:
    from mmcv.runner import IterBasedRunner, IterLoader

    model = Model()
    runner = IterBasedRunner(model=model, optimizer=torch.optim.SGD(model.parameters(), lr=0.1), work_dir=tmp_path, max_iters=5)
    runner.register_training_hooks(lr_config=None, optimizer_config=dict(), checkpoint_config=dict(interval=5, by_epoch=False))
    runner.run([loader(2)], [("train", 1)])
    # the 2-batch loader wrapped twice, at the last fetch: mmcv 1.7.2 reads the epoch before each fetch (5, 1)
    assert (runner.iter, runner.epoch) == (5, 1)
    assert (tmp_path / "iter_5.pth").is_file()
    it = IterLoader(loader(2))
    assert [float(next(it)[0, 0]) for _ in range(3)] == [0.0, 1.0, 0.0] and it.epoch == 1 and len(it) == 2


def test_no_sleep_between_epochs() -> None:
    """docs/migration.md, 'No sleeps': mmcv slept 2 s at each epoch start."""
    from mmcv.runner import EpochBasedRunner

    runner = EpochBasedRunner(model=Model(), max_epochs=3)
    start = time.perf_counter()
    runner.run([loader(1)], [("train", 1)])
    assert time.perf_counter() - start < 2.0


class OldConfig(dict):  # type: ignore[type-arg]
    """An object only pickle can restore, as old mmcv checkpoints stored their Config."""


def test_resume_refuses_pickled_objects_unless_trusted(tmp_path: Path) -> None:
    """docs/migration.md, '`weights_only` loading'."""
    from mmcv.runner import EpochBasedRunner, load_checkpoint

    from runnerkit.checkpoint import CheckpointError

    model = Model()

    torch.save({"state_dict": model.state_dict(), "meta": {"config": OldConfig(a=1)}}, tmp_path / "old.pth")
    refused = r"holds pickled Python objects \(`.*OldConfig`\) that `weights_only=True` refuses to load"
    with pytest.raises(CheckpointError, match=refused):
        load_checkpoint(Model(), tmp_path / "old.pth")
    assert load_checkpoint(Model(), tmp_path / "old.pth", weights_only=False)["meta"]["config"] == {"a": 1}
    runner = EpochBasedRunner(model=Model(), max_epochs=1)
    with pytest.raises(CheckpointError, match=refused):
        runner.resume(tmp_path / "old.pth")


def test_closure_hook_and_custom_hook_configs() -> None:
    from mmcv.runner import ClosureHook, EpochBasedRunner

    seen: list[int] = []
    runner = EpochBasedRunner(model=Model(), max_epochs=2)
    runner.register_hook(ClosureHook("after_train_epoch", lambda r: seen.append(r.epoch)))
    runner.register_training_hooks(lr_config=None, custom_hooks_config=[dict(type="EmptyCacheHook", priority="LOW")])
    runner.run([loader(1)], [("train", 1)])
    assert seen == [0, 1]
    assert [type(h).__name__ for h in runner.hooks][-1] == "EmptyCacheHook"


def test_the_deprecated_runner_is_registered_as_in_mmcv(tmp_path: Path) -> None:
    from mmcv.runner import RUNNERS, Runner, build_runner

    assert set(RUNNERS.module_dict) >= {"EpochBasedRunner", "IterBasedRunner", "Runner"}
    with pytest.warns(DeprecationWarning, match="Runner was deprecated"):
        runner = build_runner(dict(type="Runner", max_epochs=2), default_args=dict(model=Model(), work_dir=str(tmp_path)))
    assert type(runner) is Runner and runner.max_epochs == 2


def test_mmcv_private_counter_names_read_and_set_the_loop_state() -> None:
    from mmcv.runner import EpochBasedRunner, IterBasedRunner

    runner = EpochBasedRunner(model=Model(), max_epochs=3)
    assert (runner._epoch, runner._iter, runner._inner_iter, runner._max_epochs) == (0, 0, 0, 3)
    runner._epoch = 2  # mmcv's tests and scripts resume by hand like this
    assert runner.epoch == runner.loop.epoch == 2
    iter_runner = IterBasedRunner(model=Model(), max_iters=8)
    iter_runner._iter = 3
    assert (iter_runner.iter, iter_runner._max_iters) == (3, 8)


def test_anomalous_parameters_are_reported_through_log_with_keywords() -> None:
    from unittest import mock

    from mmcv.runner import OptimizerHook

    class Branches(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.used = nn.Linear(2, 2)
            self.unused = nn.Linear(2, 2)

    class LogOnly:  # a logger with mmcv's minimal interface: log(level=..., msg=...)
        def __init__(self) -> None:
            self.records: list[tuple[int, str]] = []

        def log(self, level: int, msg: str) -> None:
            self.records.append((level, msg))

    model = Branches()
    runner = mock.Mock(model=model, logger=LogOnly())
    runner.outputs = {"loss": model.used(torch.ones(1, 2)).sum()}
    OptimizerHook(detect_anomalous_params=True).after_train_iter(runner)
    assert [r[0] for r in runner.logger.records] == [logging.ERROR, logging.ERROR]
    assert "unused.weight with shape (2, 2) is not in the computational graph" in runner.logger.records[0][1]
    assert not any("used.weight" in msg and "unused" not in msg for _, msg in runner.logger.records)
