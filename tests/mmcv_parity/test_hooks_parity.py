"""mmcv.runner's hooks through the layer: the JSON log, checkpoint rotation and out_dir, timer values,
sampler epochs and gradient accumulation (mmcv's test_hooks)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset


class Model(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(2, 1)

    def train_step(self, batch: Any, optimizer: Any, **kwargs: Any) -> dict[str, Any]:
        x = batch[0] if isinstance(batch, (list, tuple)) else batch
        loss = self.fc(x).pow(2).mean()
        return {"loss": loss, "log_vars": {"loss": loss.detach()}, "num_samples": len(x)}

    val_step = train_step


def batches(n: int) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(n)
    return [torch.randn(2, 2, generator=g) for _ in range(n)]


def epoch_runner(tmp_path: Path, epochs: int = 2) -> Any:
    from mmcv.runner import EpochBasedRunner

    model = Model()
    return EpochBasedRunner(model=model, optimizer=torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.95),
                            work_dir=tmp_path, max_epochs=epochs)


def test_text_logger_writes_one_json_line_per_log_in_mmcvs_shape(tmp_path: Path) -> None:
    runner = epoch_runner(tmp_path)
    runner.register_training_hooks(lr_config=None, optimizer_config=dict(),
                                   log_config=dict(interval=2, hooks=[dict(type="TextLoggerHook")]))
    runner.run([batches(4), batches(2)], [("train", 1), ("val", 1)])
    (log,) = tmp_path.glob("*.log.json")
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    train = [entry for entry in lines if entry.get("mode") == "train"]
    val = [entry for entry in lines if entry.get("mode") == "val"]
    assert [(e["epoch"], e["iter"]) for e in train] == [(1, 2), (1, 4), (2, 2), (2, 4)]
    assert {"lr", "time", "data_time", "loss"} <= set(train[0]) and train[0]["lr"] == pytest.approx(0.02)
    assert len(val) == 2 and "loss" in val[0] and val[0]["epoch"] in (1, 2)


def test_checkpoint_hook_out_dir_gets_the_work_dir_name_and_keeps_the_newest(tmp_path: Path) -> None:
    runner = epoch_runner(tmp_path / "exp", epochs=4)
    runner.register_training_hooks(lr_config=None, optimizer_config=dict(),
                                   checkpoint_config=dict(interval=1, out_dir=str(tmp_path / "ckpts"), max_keep_ckpts=2))
    runner.run([batches(2)], [("train", 1)])
    saved = sorted(p.name for p in (tmp_path / "ckpts" / "exp").glob("epoch_*.pth"))
    assert saved == ["epoch_3.pth", "epoch_4.pth"]


def test_iter_timer_puts_time_and_data_time_in_the_log_buffer(tmp_path: Path) -> None:
    from mmcv.runner import Hook, IterTimerHook

    seen: list[set[str]] = []

    class Peek(Hook):
        def after_train_iter(self, runner: Any) -> None:
            seen.append(set(runner.log_buffer.val_history))

    runner = epoch_runner(tmp_path, epochs=1)
    runner.register_hook(IterTimerHook())
    runner.register_hook(Peek(), priority="LOWEST")
    runner.run([batches(2)], [("train", 1)])
    assert {"time", "data_time", "loss"} <= seen[-1]


def test_dist_sampler_seed_hook_sets_the_sampler_epoch(tmp_path: Path) -> None:
    from mmcv.runner import DistSamplerSeedHook

    dataset = TensorDataset(torch.randn(4, 2))
    sampler = DistributedSampler(dataset, num_replicas=1, rank=0, shuffle=True)
    epochs: list[int] = []
    original = sampler.set_epoch

    def record(epoch: int) -> None:
        epochs.append(epoch)
        original(epoch)

    sampler.set_epoch = record  # type: ignore[method-assign]
    runner = epoch_runner(tmp_path, epochs=3)
    runner.register_hook(DistSamplerSeedHook())
    runner.run([DataLoader(dataset, batch_size=2, sampler=sampler)], [("train", 1)])
    assert sorted(set(epochs)) == [0, 1, 2]


def test_gradient_cumulative_optimizer_hook_equals_a_larger_batch(tmp_path: Path) -> None:
    from mmcv.runner import GradientCumulativeOptimizerHook, IterBasedRunner, OptimizerHook

    data = batches(4)
    weights = []
    for hook, loader in ((GradientCumulativeOptimizerHook(cumulative_iters=2), data),
                         (OptimizerHook(), [torch.cat(data[:2]), torch.cat(data[2:])])):
        torch.manual_seed(0)
        model = Model()
        runner = IterBasedRunner(model=model, optimizer=torch.optim.SGD(model.parameters(), lr=0.1), max_iters=len(loader))
        runner.register_hook(hook)
        runner.run([loader], [("train", 1)])
        weights.append(model.fc.weight.detach().clone())
    assert torch.allclose(weights[0], weights[1], atol=1e-6)


def test_gradient_cumulative_hook_keeps_mmcvs_helpers_loss_factor_and_batch_norm_warning() -> None:
    from mmcv.runner import GradientCumulativeOptimizerHook, IterBasedRunner

    class Normed(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(3, 2)
            self.norm = nn.BatchNorm1d(2)

        def train_step(self, batch: torch.Tensor, optimizer: Any, **kwargs: Any) -> dict[str, Any]:
            return {"loss": self.norm(self.fc(batch)).mean()}

    hook = GradientCumulativeOptimizerHook(cumulative_iters=3)
    assert hook.has_batch_norm(Normed()) and not hook.has_batch_norm(nn.Linear(2, 2))
    runner = IterBasedRunner(model=Normed(), max_iters=8)
    with pytest.warns(UserWarning, match=r"GradientCumulativeOptimizerHook: the model has batch-norm layers"):
        hook._init(runner)
    factors = []
    for it in range(3, 8):  # resumed at iteration 3 of 8: windows of 3, then the last 2
        runner._iter = it
        factors.append(hook._get_loss_factor(runner))
    assert factors == [3, 3, 3, 2, 2]
