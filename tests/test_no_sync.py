"""Between log intervals the loop never reads a tensor back to the host."""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

import runnerkit
from tests.helpers import TinyNet, make_loader

_DATA_LOADING = os.path.join("torch", "utils", "data")
READBACKS = ("item", "tolist", "cpu", "numpy", "__float__", "__int__", "__bool__", "__index__")


class CallCounter(runnerkit.Hook):
    """Snapshots the read-back counter at the end of every iteration."""

    priority = "LOWEST"

    def __init__(self, counter: list[int]) -> None:
        self.counter = counter
        self.per_iter: list[int] = []
        self.last = 0

    def after_train_iter(self, runner: Any) -> None:
        self.per_iter.append(self.counter[0] - self.last)
        self.last = self.counter[0]


@pytest.fixture
def readback_counter(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    counter = [0]
    for name in READBACKS:
        original = getattr(torch.Tensor, name)

        @functools.wraps(original)
        def counted(self: torch.Tensor, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            # The DataLoader draws its shuffling seed from a host tensor at each pass start: not a sync.
            if _DATA_LOADING not in sys._getframe(1).f_code.co_filename:
                counter[0] += 1
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, counted)
    return counter


def _standard_runner(work_dir: Path, optimizer_config: dict[str, Any]) -> Any:
    model = TinyNet()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    runner = runnerkit.build({"type": "IterBasedRunner", "max_iters": 20}, {"model": model, "optimizer": opt, "work_dir": work_dir})
    runner.register_training_hooks(
        lr_config={"policy": "step", "step": [10], "warmup": "linear", "warmup_iters": 3},
        optimizer_config=optimizer_config,
        checkpoint_config={"interval": 1000},
        log_config={"interval": 5, "hooks": [{"type": "TextLoggerHook"}]},
        momentum_config=None,
    )
    return runner


@pytest.mark.parametrize(
    "optimizer_config",
    [{"grad_clip": {"max_norm": 1.0}}, {"type": "GradientCumulativeOptimizerHook", "cumulative_iters": 2}],
)
def test_standard_hooks_read_tensors_back_only_at_log_intervals(work_dir: Path, readback_counter: list[int], optimizer_config: dict[str, Any]) -> None:
    runner = _standard_runner(work_dir, optimizer_config)
    counter = CallCounter(readback_counter)
    runner.register_hook(counter)
    runner.run([make_loader(16, batch_size=4, shuffle=True)], [("train", 1)])
    assert len(counter.per_iter) == 20
    log_iters = {i for i in range(20) if (i + 1) % 5 == 0}
    quiet = {i: n for i, n in enumerate(counter.per_iter) if i not in log_iters and i != 19}
    assert quiet == dict.fromkeys(quiet, 0), f"read-backs outside log intervals: {quiet}"
    # and the log intervals did read the values back (the counter can see them)
    assert all(counter.per_iter[i] > 0 for i in log_iters)


def test_the_counter_sees_a_model_that_syncs(work_dir: Path, readback_counter: list[int]) -> None:
    class Syncing(TinyNet):
        def train_step(self, batch: Any, optimizer: Any, **kwargs: Any) -> dict[str, Any]:
            out = super().train_step(batch, optimizer)
            out["log_vars"] = {"loss": out["loss"].item()}
            return out

    model = Syncing()
    runner = runnerkit.build({"type": "IterBasedRunner", "max_iters": 3}, {"model": model})
    counter = CallCounter(readback_counter)
    runner.register_hook(counter)
    runner.run([make_loader(8)], [("train", 1)])
    assert counter.per_iter == [1, 1, 1]


@pytest.mark.cuda
def test_no_host_sync_between_log_points_on_cuda(tmp_path: Path) -> None:
    model = TinyNet().cuda()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    runner = runnerkit.build({"type": "IterBasedRunner", "max_iters": 20}, {"model": model, "optimizer": opt, "work_dir": tmp_path})
    runner.register_training_hooks({"policy": "step", "step": [10]}, {"grad_clip": {"max_norm": 1.0}}, {"interval": 1000},
                                   {"interval": 5, "hooks": [{"type": "TextLoggerHook"}]})

    class SyncDebug(runnerkit.Hook):
        priority = "HIGHEST"

        def before_train_iter(self, runner: Any) -> None:
            # error on any sync, except at the iterations where the logger reads back
            torch.cuda.set_sync_debug_mode(0 if (runner.iter + 1) % 5 == 0 else "error")

    runner.register_hook(SyncDebug())
    g = torch.Generator().manual_seed(0)
    data = [(torch.randn(4, 4, generator=g).cuda(), torch.randn(4, generator=g).cuda()) for _ in range(4)]
    try:
        runner.run([data], [("train", 1)])
    finally:
        torch.cuda.set_sync_debug_mode(0)
    assert runner.iter == 20
